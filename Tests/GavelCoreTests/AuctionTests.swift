import Foundation
import GavelCore
import Testing

@Suite("Bidding engine (domain rules section 5)")
struct AuctionTests {
    static let opens = Date(timeIntervalSince1970: 1_800_000_000)
    static let closes = opens.addingTimeInterval(86_400)
    static let b1 = UUID(uuidString: "00000000-0000-0000-0000-0000000000b1")!
    static let b2 = UUID(uuidString: "00000000-0000-0000-0000-0000000000b2")!
    static let b3 = UUID(uuidString: "00000000-0000-0000-0000-0000000000b3")!

    static func lot(_ format: Lot.Format = .english, start: Int64 = 5_900_000, reserve: Int64 = 7_580_000) -> Auction {
        Auction(
            format: format, startsAt: opens, endsAt: closes, start: start, reserve: reserve,
            increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 300)
    }

    @Test("test vector C")
    func vectorC() throws {
        var auction = Self.lot()
        let now = Self.opens.addingTimeInterval(60)
        let first = try auction.place(bidder: Self.b1, amount: 6_500_000, sequence: 1, now: now).get()
        #expect(first.price == 5_900_000 && first.leader == Self.b1)
        let second = try auction.place(bidder: Self.b2, amount: 6_200_000, sequence: 2, now: now).get()
        #expect(second.price == 6_300_000 && second.leader == Self.b1)
        let third = try auction.place(bidder: Self.b3, amount: 8_000_000, sequence: 3, now: now).get()
        #expect(third.price == 7_580_000 && third.leader == Self.b3)
        #expect(auction.reserveMet)
        let fourth = try auction.place(bidder: Self.b1, amount: 8_000_000, sequence: 4, now: now).get()
        #expect(fourth.price == 8_000_000 && fourth.leader == Self.b3)
        #expect(auction.outcome == .sold(price: 8_000_000, winner: Self.b3))
        // The closer's log line says it in words (and without reflection).
        #expect("\(auction.outcome)" == "sold for 8000000 to \(Self.b3.uuidString.lowercased())")
        #expect("\(Auction.Outcome.pendingApproval(price: 5, leader: Self.b1))" == "pending approval at 5, led by \(Self.b1.uuidString.lowercased())")
        #expect("\(Auction.Outcome.unsold)" == "unsold")
    }

    static let p = UUID(uuidString: "00000000-0000-0000-0000-0000000000f1")!
    static let p2 = UUID(uuidString: "00000000-0000-0000-0000-0000000000f2")!

    @Test("test vector J: a priority holder may bid the current price and wins ties (domain rules section 11)")
    func vectorJ() throws {
        var auction = Self.lot(start: 5_900_000, reserve: 5_900_000)
        auction.priorityHolders = [Self.p]
        let now = Self.opens.addingTimeInterval(60)
        let first = try auction.place(bidder: Self.b1, amount: 7_000_000, sequence: 1, now: now).get()
        #expect(first.price == 5_900_000 && first.leader == Self.b1)
        let second = try auction.place(bidder: Self.p, amount: 6_900_000, sequence: 2, now: now).get()
        #expect(second.price == 7_000_000 && second.leader == Self.b1)
        // The current price, allowed for P (anyone else needs 7 100 000).
        #expect(auction.minimumNextBid(for: Self.p) == 7_000_000)
        #expect(auction.minimumNextBid(for: Self.b2) == 7_100_000)
        let third = try auction.place(bidder: Self.p, amount: 7_000_000, sequence: 3, now: now).get()
        #expect(third.price == 7_000_000 && third.leader == Self.p)
        let fourth = try auction.place(bidder: Self.b1, amount: 7_100_000, sequence: 4, now: now).get()
        #expect(fourth.price == 7_100_000 && fourth.leader == Self.b1)
        let fifth = try auction.place(bidder: Self.p, amount: 7_100_000, sequence: 5, now: now).get()
        #expect(fifth.price == 7_100_000 && fifth.leader == Self.p)
        #expect(auction.outcome == .sold(price: 7_100_000, winner: Self.p))
    }

    @Test("priority: the current price is for holders only, holders earlier in the list rank first, a leading holder may only raise")
    func priorityRanks() throws {
        var auction = Self.lot(start: 5_900_000, reserve: 5_900_000)
        auction.priorityHolders = [Self.p, Self.p2]
        let now = Self.opens.addingTimeInterval(60)
        // No bid yet: the start for everyone, holders too.
        #expect(auction.minimumNextBid(for: Self.p) == 5_900_000)
        _ = try auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 1, now: now).get()
        // A bidder without the right cannot meet the price.
        #expect(auction.place(bidder: Self.b2, amount: 5_900_000, sequence: 2, now: now) == .failure(.bidTooLow(minimumNextBid: 6_000_000)))
        _ = try auction.place(bidder: Self.p2, amount: 6_500_000, sequence: 3, now: now).get()
        #expect(auction.leader == Self.p2)
        // P ranks before P2 at an equal maximum, though P2's came first.
        let tie = try auction.place(bidder: Self.p, amount: 6_500_000, sequence: 4, now: now).get()
        #expect(tie.leader == Self.p && tie.price == 6_500_000)
        // The leading holder may not stand still.
        #expect(auction.place(bidder: Self.p, amount: 6_500_000, sequence: 5, now: now) == .failure(.bidNotHigher(currentMaximum: 6_500_000)))
        // Sealed lots rank ties the same way at the close.
        var sealed = Self.lot(.sealed, start: 5_900_000, reserve: 5_900_000)
        sealed.priorityHolders = [Self.p]
        _ = try sealed.place(bidder: Self.b1, amount: 6_000_000, sequence: 1, now: now).get()
        _ = try sealed.place(bidder: Self.p, amount: 6_000_000, sequence: 2, now: now).get()
        #expect(sealed.outcome == .sold(price: 6_000_000, winner: Self.p))
    }

    static let bands: [(Int64, Int64)] = [
        (0, 20_000), (999_999, 20_000), (1_000_000, 50_000), (4_999_999, 50_000), (5_000_000, 100_000),
        (9_999_999, 100_000), (10_000_000, 200_000), (49_999_999, 200_000), (50_000_000, 500_000), (Money.maximum, 500_000),
    ]

    @Test("increments by band", arguments: bands)
    func increments(price: Int64, step: Int64) {
        #expect(Auction.increment(at: price, in: Policy.defaults.bidding.increments) == step)
    }

    @Test("too low, not higher, and the minimum next bid")
    func refusals() throws {
        var auction = Self.lot()
        let now = Self.opens
        #expect(auction.place(bidder: Self.b1, amount: 5_899_999, sequence: 1, now: now) == .failure(.bidTooLow(minimumNextBid: 5_900_000)))
        _ = try auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 2, now: now).get()
        #expect(auction.minimumNextBid == 6_000_000)
        #expect(auction.place(bidder: Self.b2, amount: 5_950_000, sequence: 3, now: now) == .failure(.bidTooLow(minimumNextBid: 6_000_000)))
        #expect(auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 4, now: now) == .failure(.bidNotHigher(currentMaximum: 6_000_000)))
        // The leader raising their own maximum does not move the price.
        let raised = try auction.place(bidder: Self.b1, amount: 9_000_000, sequence: 5, now: now).get()
        #expect(raised.price == 7_580_000)  // alone above the reserve: lifted to it
        #expect(auction.bidCount == 2)
    }

    @Test("bids before the start and at or after the end are refused")
    func openWindow() {
        var auction = Self.lot()
        #expect(auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 1, now: Self.opens.addingTimeInterval(-1)) == .failure(.lotNotOpen))
        #expect(auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 1, now: Self.closes) == .failure(.lotNotOpen))
        #expect((try? auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 1, now: Self.closes.addingTimeInterval(-0.001)).get()) != nil)
    }

    @Test("soft close extends from the bid's time, never earlier, only inside the window")
    func softClose() throws {
        var auction = Self.lot()
        let outside = try auction.place(bidder: Self.b1, amount: 6_000_000, sequence: 1, now: Self.closes.addingTimeInterval(-301)).get()
        #expect(!outside.extended && outside.endsAt == Self.closes)
        let edge = try auction.place(bidder: Self.b2, amount: 6_500_000, sequence: 2, now: Self.closes.addingTimeInterval(-300)).get()
        #expect(!edge.extended)  // now + 300 s is exactly the current end: nothing moves
        let late = try auction.place(bidder: Self.b1, amount: 7_000_000, sequence: 3, now: Self.closes.addingTimeInterval(-10)).get()
        #expect(late.extended && late.endsAt == Self.closes.addingTimeInterval(290))
    }

    @Test("sealed: highest amount wins at its own price, ties to the earlier, amounts replaceable")
    func sealed() throws {
        var auction = Self.lot(.sealed)
        let now = Self.opens
        #expect(auction.place(bidder: Self.b1, amount: 1, sequence: 1, now: now) == .failure(.bidTooLow(minimumNextBid: 5_900_000)))
        _ = try auction.place(bidder: Self.b1, amount: 8_000_000, sequence: 2, now: now).get()
        _ = try auction.place(bidder: Self.b2, amount: 8_000_000, sequence: 3, now: now).get()
        _ = try auction.place(bidder: Self.b3, amount: 9_000_000, sequence: 4, now: now).get()
        _ = try auction.place(bidder: Self.b3, amount: 6_000_000, sequence: 5, now: now).get()  // replaced, lower
        #expect(auction.outcome == .sold(price: 8_000_000, winner: Self.b1))
        #expect(auction.bidCount == 4)  // the refused bid does not count
        #expect(auction.price == 5_900_000, "a sealed lot's price stays its start until the close")
        // No soft close for sealed bids.
        let late = try auction.place(bidder: Self.b2, amount: 8_100_000, sequence: 6, now: Self.closes.addingTimeInterval(-1)).get()
        #expect(!late.extended)
    }

    @Test("fixed price: the first bid at the price wins and closes the lot")
    func fixed() throws {
        var auction = Self.lot(.fixed, start: 4_720_000, reserve: 4_720_000)
        let now = Self.opens
        #expect(auction.place(bidder: Self.b1, amount: 4_800_000, sequence: 1, now: now) == .failure(.notTheFixedPrice(price: 4_720_000)))
        let bought = try auction.place(bidder: Self.b2, amount: 4_720_000, sequence: 2, now: now).get()
        #expect(bought.closesLot)
        #expect(bought.endsAt == now && auction.endsAt == now, "the sale ends the lot at its instant")
        #expect(auction.place(bidder: Self.b3, amount: 4_720_000, sequence: 3, now: now) == .failure(.lotNotOpen))
        #expect(auction.outcome == .sold(price: 4_720_000, winner: Self.b2))
    }

    @Test("closing outcomes: no bid unsold, below reserve pending approval")
    func outcomes() throws {
        #expect(Self.lot().outcome == .unsold)
        var low = Self.lot()
        _ = try low.place(bidder: Self.b1, amount: 7_000_000, sequence: 1, now: Self.opens).get()
        _ = try low.place(bidder: Self.b2, amount: 6_000_000, sequence: 2, now: Self.opens).get()
        #expect(low.outcome == .pendingApproval(price: 6_100_000, leader: Self.b1))
    }

    @Test("properties of random bid sequences", arguments: 0..<200)
    func properties(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed) &* 7 &+ 3)
        let start = Int64.random(in: 0...20_000_000, using: &random) / 10_000 * 10_000
        let reserve = start + Int64.random(in: 0...10_000_000, using: &random)
        var auction = Self.lot(start: start, reserve: reserve)
        let bidders = (0..<Int.random(in: 2...8, using: &random)).map { _ in UUID() }
        // Every other seed names up to two priority holders among them.
        if seed % 2 == 1 { auction.priorityHolders = Array(bidders.shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random))) }
        var lastPrice: Int64 = -1
        var allMaxima: [UUID: Auction.Maximum] = [:]
        for sequence in 1...Int64.random(in: 1...60, using: &random) {
            let bidder = bidders.randomElement(using: &random)!
            // Now and then exactly the current price, which only a holder may bid.
            let amount = Int.random(in: 0..<5, using: &random) == 0
                ? auction.price ?? auction.minimumNextBid
                : auction.minimumNextBid + Int64.random(in: -200_000...3_000_000, using: &random)
            let before = auction
            switch auction.place(bidder: bidder, amount: amount, sequence: sequence, now: Self.opens) {
            case .success(let accepted):
                allMaxima[bidder] = Auction.Maximum(bidder: bidder, amount: amount, sequence: sequence)
                #expect(accepted.price >= lastPrice, "price went down")
                lastPrice = accepted.price
                #expect(accepted.price >= start)
                let ranking = Auction.ranked(Array(allMaxima.values), priorityHolders: auction.priorityHolders)
                #expect(accepted.leader == ranking[0].bidder, "leader is not the highest (holder, earliest) maximum")
                #expect(amount >= (before.price ?? start) || before.leader == bidder, "a bid below the price was taken")
                if amount < before.minimumNextBid && before.leader != bidder {
                    #expect(auction.priorityHolders.contains(bidder), "only a priority holder may bid the current price")
                }
                #expect(accepted.price <= ranking[0].amount, "price above the leader's maximum")
                #expect(accepted.minimumNextBid > accepted.price)
            case .failure:
                #expect(auction == before, "a refused bid changed the state")
            }
        }
    }
}
