import Foundation
import GavelCore
import HTTPTypes
import PostgresNIO
import Testing

/// An open lot of test vector B's round 1 (start 5 900 000, reserve 7 580 000,
/// deposit 590 000) with bidders that have their deposits held.
struct OpenLot: Sendable {
    let disposal: Disposal
    let lotId: String
    let finance: (id: String, token: String)
    let bidders: [(id: String, token: String)]

    static func start(
        _ gavel: Harness, bidders count: Int, format: String = "english", lasting: TimeInterval = 2 * 86_400, extra: String = "",
        vin: String = "1HGCM82633A004352", credits: Bool = true, borrower: String = "Wang Li"
    ) async throws -> OpenLot {
        let disposal = try await Disposal.start(gavel, loanNumber: "LN-\(vin)", credits: credits, borrower: borrower)
        let (vehicleId, _) = try await disposal.appraisedVehicle(vin: vin)
        let lot = try await gavel.request(
            .post, "/v1/lots", token: disposal.manager.token,
            json: disposal.lotBody(vehicleId: vehicleId, format: format, startsIn: -60, lasting: lasting, extra: extra))
        guard lot.status == .created else { throw TestSetupError("lot: \(lot.text)") }
        let lotId = try lot.string("id")
        let finance = try await gavel.createUser(.finance, name: "Finance")
        guard case .integer(let depositAmount) = try lot.json["depositAmount"] else { throw TestSetupError("no deposit amount") }
        var bidders: [(id: String, token: String)] = []
        for index in 1...count {
            let bidder = try await gavel.createUser(.bidder, name: "Dealer \(index)")
            let deposit = try await gavel.request(
                .post, "/v1/lots/\(lotId)/deposits", token: finance.token,
                json: #"{"bidderId": "\#(bidder.id)", "amount": \#(max(depositAmount, 1)), "reference": "BANK-\#(index)"}"#)
            guard deposit.status == .created else { throw TestSetupError("deposit: \(deposit.text)") }
            bidders.append(bidder)
        }
        return OpenLot(disposal: disposal, lotId: lotId, finance: finance, bidders: bidders)
    }

    func bid(_ index: Int, _ amount: Int64, key: String? = nil) async throws -> Harness.Reply {
        var headers: HTTPFields = [:]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await disposal.gavel.request(
            .post, "/v1/lots/\(lotId)/bids", token: bidders[index].token, json: #"{"maxAmount": \#(amount)}"#, headers: headers)
    }
}

@Suite("Bidding through the API")
struct BiddingTests {
    @Test("test vector C through HTTP, and the lot as each party sees it")
    func vectorC() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 3)
            let first = try await lot.bid(0, 6_500_000)
            #expect(first.status == .created, "\(first.text)")
            #expect(try first.json["currentPrice"] == .integer(5_900_000))
            #expect(try first.json["leading"] == .bool(true))
            let second = try await lot.bid(1, 6_200_000)
            #expect(try second.json["currentPrice"] == .integer(6_300_000))
            #expect(try second.json["leading"] == .bool(false))
            #expect(try second.json["minimumNextBid"] == .integer(6_400_000))
            let third = try await lot.bid(2, 8_000_000)
            #expect(try third.json["currentPrice"] == .integer(7_580_000))
            #expect(try third.json["leading"] == .bool(true))
            let fourth = try await lot.bid(0, 8_000_000)
            #expect(try fourth.json["currentPrice"] == .integer(8_000_000))
            #expect(try fourth.json["leading"] == .bool(false))

            let asB3 = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[2].token)
            #expect(try asB3.json["leading"] == .bool(true))
            #expect(try asB3.json["myMaxAmount"] == .integer(8_000_000))
            #expect(try asB3.json["currentPrice"] == .integer(8_000_000))
            #expect(try asB3.json["reserveMet"] == .bool(true))
            #expect(try asB3.json["bidCount"] == .integer(4))
            let asB2 = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[1].token)
            #expect(try asB2.json["leading"] == .bool(false))
            #expect(try asB2.json["myMaxAmount"] == .integer(6_200_000))
            // B2 sees nobody's maximum but its own.
            #expect(!asB2.text.contains("6500000") && !asB2.text.contains(#""reserve":"#))

            let history = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/bids", token: lot.bidders[1].token)
            let items = try #require(try history.json["items"]?.array)
            #expect(items.map { $0["price"] } == [.integer(5_900_000), .integer(6_300_000), .integer(7_580_000), .integer(8_000_000)])
            #expect(items.map { $0["bidder"] } == [.string("Bidder 1"), .string("Bidder 1"), .string("Bidder 3"), .string("Bidder 3")])
            #expect(!history.text.contains("6500000") && !history.text.contains("6200000"))
            for bidder in lot.bidders { #expect(!history.text.contains(bidder.id)) }
        }
    }

    @Test("refusals: deposit-required, bid-too-low with the minimum, bid-not-higher, lot-not-open, bidder-barred")
    func refusals() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let stranger = try await gavel.createUser(.bidder, name: "No deposit")
            let noDeposit = try await gavel.request(.post, "/v1/lots/\(lot.lotId)/bids", token: stranger.token, json: #"{"maxAmount": 6000000}"#)
            #expect(noDeposit.status == .forbidden)
            #expect(try noDeposit.problemCode == "deposit-required")

            let low = try await lot.bid(0, 5_000_000)
            #expect(low.status == .unprocessableContent)
            #expect(try low.problemCode == "bid-too-low")
            #expect(try low.json["minimumNextBid"] == .integer(5_900_000))
            _ = try await lot.bid(0, 6_000_000)
            let same = try await lot.bid(0, 6_000_000)
            #expect(try same.problemCode == "bid-not-higher")
            let behind = try await lot.bid(1, 5_900_000)
            #expect(try behind.json["minimumNextBid"] == .integer(6_000_000))

            _ = try await gavel.sql { client in
                try await client.query(
                    """
                    INSERT INTO bidder_bars (bidder_id, vehicle_id, reason)
                    SELECT \(UUID(uuidString: lot.bidders[1].id)!), vehicle_id, 'defaulted in round 1' FROM lots WHERE id = \(UUID(uuidString: lot.lotId)!)
                    """, logger: quietLogger)
            }
            let barred = try await lot.bid(1, 7_000_000)
            #expect(barred.status == .forbidden)
            #expect(try barred.problemCode == "bidder-barred")

            _ = try await gavel.sql { client in
                try await client.query("UPDATE lots SET ends_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            let late = try await lot.bid(0, 9_000_000)
            #expect(late.status == .conflict)
            #expect(try late.problemCode == "lot-not-open")
            #expect(try await gavel.count("bids") == 1)
            // Staff may not bid.
            #expect(try await gavel.request(.post, "/v1/lots/\(lot.lotId)/bids", token: lot.finance.token, json: #"{"maxAmount": 1}"#).status == .forbidden)
        }
    }

    @Test("a retried bid with the same Idempotency-Key is answered again and placed once")
    func idempotentBid() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let first = try await lot.bid(0, 6_500_000, key: "bid-1")
            let again = try await lot.bid(0, 6_500_000, key: "bid-1")
            #expect(first.status == .created && again.status == .created)
            #expect(first.text == again.text)
            #expect(try await gavel.count("bids") == 1)
            let other = try await lot.bid(0, 7_000_000, key: "bid-1")
            #expect(try other.problemCode == "idempotency-key-reused")
        }
    }

    @Test("deposits: at least the lot's deposit, one held per bidder, listed by role")
    func deposits() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let newcomer = try await gavel.createUser(.bidder, name: "Late dealer")
            let small = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/deposits", token: lot.finance.token,
                json: #"{"bidderId": "\#(newcomer.id)", "amount": 589999, "reference": "R"}"#)
            #expect(small.status == .unprocessableContent)
            let twice = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/deposits", token: lot.finance.token,
                json: #"{"bidderId": "\#(lot.bidders[0].id)", "amount": 590000, "reference": "R2"}"#)
            #expect(twice.status == .conflict)
            let notBidder = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/deposits", token: lot.finance.token,
                json: #"{"bidderId": "\#(lot.finance.id)", "amount": 590000, "reference": "R3"}"#)
            #expect(notBidder.status == .unprocessableContent)
            let all = try await gavel.request(.get, "/v1/deposits?lotId=\(lot.lotId)", token: lot.finance.token)
            #expect(try all.json["items"]?.array?.count == 2)
            #expect(try all.json["items"]?.array?.first?["status"] == .string("held"))
            let own = try await gavel.request(.get, "/v1/deposits", token: lot.bidders[1].token)
            #expect(try own.json["items"]?.array?.map { $0["bidderId"] } == [.string(lot.bidders[1].id)])
            let others = try await gavel.request(.get, "/v1/deposits?bidderId=\(lot.bidders[0].id)", token: lot.bidders[1].token)
            #expect(try others.json["items"] == .array([]))
        }
    }

    @Test("soft close: a bid in the last window moves the end by the database clock")
    func softClose() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(
                gavel, bidders: 1, lasting: 120, extra: #", "extensionWindowSeconds": 3600, "extensionSeconds": 600"#)
            let reply = try await lot.bid(0, 6_000_000)
            #expect(try reply.json["extended"] == .bool(true))
            let endsAt = try #require(ISO8601DateFormatter().date(from: try reply.string("endsAt")))
            #expect(abs(endsAt.timeIntervalSinceNow - 600) < 30)
        }
    }

    @Test("fixed price: twenty simultaneous buyers, one winner")
    func fixedPriceRace() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let lotReply = try await gavel.request(
                .post, "/v1/lots", token: disposal.manager.token,
                json: disposal.lotBody(vehicleId: vehicleId, format: "fixed", startsIn: -60, extra: #", "override": {"startingPrice": 0, "reserve": 0, "reason": "no deposit sale"}"#))
            #expect(lotReply.status == .created, "\(lotReply.text)")
            let lotId = try lotReply.string("id")
            var tokens: [String] = []
            for index in 0..<20 { tokens.append(try await gavel.createUser(.bidder, name: "Buyer \(index)").token) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for token in tokens {
                    group.addTask {
                        try await gavel.request(.post, "/v1/lots/\(lotId)/bids", token: token, json: #"{"maxAmount": 0}"#).status.code
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 19)
            #expect(try await gavel.count("bids") == 1)
        }
    }

    @Test("concurrent bidders: every 201 is stored, sequences are unique, and the lot equals a replay of its bids")
    func concurrentReplay() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 12)
            let accepted = try await withThrowingTaskGroup(of: [String].self) { group in
                for index in lot.bidders.indices {
                    group.addTask {
                        var mine: [String] = []
                        var amount: Int64 = 5_900_000 + Int64(index) * 10_000
                        for _ in 0..<8 {
                            let reply = try await lot.bid(index, amount)
                            switch reply.status {
                            case .created:
                                mine.append(try reply.string("bidId"))
                                amount += 250_000
                            case .unprocessableContent:
                                if case .integer(let minimum) = try reply.json["minimumNextBid"] { amount = minimum + Int64(index) * 10_000 }
                                else { amount += 300_000 }
                            default:
                                Issue.record("unexpected \(reply.status): \(reply.text)")
                            }
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(!accepted.isEmpty)
            let lotId = UUID(uuidString: lot.lotId)!
            let (stored, state, startsAt, endsAt) = try await gavel.sql { client in
                let bids = try await Replay.storedBids(lotId: lotId, on: client)
                let lotRow = try await client.query(
                    "SELECT current_price, leader_id, bid_count, starts_at, ends_at FROM lots WHERE id = \(lotId)", logger: quietLogger)
                var state: (Int64?, UUID?, Int) = (nil, nil, 0)
                var times = (Date(), Date())
                for try await (price, leader, count, starts, ends) in lotRow.decode((Int64?, UUID?, Int, Date, Date).self) {
                    state = (price, leader, count)
                    times = (starts, ends)
                }
                return (bids, state, times.0, times.1)
            }
            #expect(Set(stored.map { $0.id.uuidString.lowercased() }) == Set(accepted), "a 201 is missing from the database, or an extra bid is stored")
            #expect(Set(stored.map(\.sequence)).count == stored.count)
            // Two days from the end: no bid extended it, so the end now is the end it opened with.
            let replay = Replay.check(stored, from: Auction(
                format: .english, startsAt: startsAt, endsAt: endsAt, start: 5_900_000, reserve: 7_580_000,
                increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 300))
            #expect(replay.price == state.0)
            #expect(replay.leader == state.1)
            #expect(Int(replay.bidCount) == state.2)
        }
    }
}

extension RealTime {
    @Suite("Bidding through the API, in real time")
    struct BiddingTiming {
        @Test("a bidder over 20 bids a second gets 429 rate-limited with Retry-After; others are not held back")
        func rateLimit() async throws {
            try await withGavel { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 2)
                var statuses: [HTTPResponse.Status] = []
                var limited: Harness.Reply?
                for step in 0..<30 {
                    let reply = try await lot.bid(0, 6_000_000 + Int64(step) * 100_000)
                    statuses.append(reply.status)
                    if reply.status == .tooManyRequests, limited == nil { limited = reply }
                }
                #expect(statuses.prefix(20).allSatisfy { $0 != .tooManyRequests })
                let refused = try #require(limited)
                #expect(try refused.problemCode == "rate-limited")
                #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(try await lot.bid(1, 9_900_000).status == .created)
                try await Task.sleep(for: .milliseconds(1_100))
                #expect(try await lot.bid(0, 12_000_000).status == .created)
            }
        }

        @Test("a bid stuck behind a held lock is cancelled by the statement timeout: 503 with Retry-After, nothing written")
        func statementTimeout() async throws {
            try await withGavel(statementTimeout: .milliseconds(400)) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                let lotId = UUID(uuidString: lot.lotId)!
                let reply = try await PostgresConnection.with(gavel.database, logger: quietLogger) { connection in
                    try await connection.query("BEGIN", logger: quietLogger)
                    try await connection.query("SELECT 1 FROM lots WHERE id = \(lotId) FOR UPDATE", logger: quietLogger)
                    let started = ContinuousClock.now
                    let reply = try await lot.bid(0, 6_000_000)
                    #expect(ContinuousClock.now - started < .seconds(3), "the request waited past the timeout")
                    try await connection.query("ROLLBACK", logger: quietLogger)
                    return reply
                }
                #expect(reply.status == .serviceUnavailable)
                #expect(try reply.problemCode == "service-unavailable")
                #expect(reply.headers[.retryAfter] != nil)
                #expect(try await gavel.count("bids") == 0)
                #expect(try await lot.bid(0, 6_000_000).status == .created)
            }
        }
    }
}
