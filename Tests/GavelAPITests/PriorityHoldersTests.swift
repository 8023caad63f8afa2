import Foundation
import GavelCore
import PostgresNIO
import Testing

/// Priority purchase rights (优先购买权, domain rules section 11): a lot names priority
/// holders, verified bidders in rank order; a holder may bid the current price and wins
/// ties. Test vector J through HTTP and through `place_bid`.
@Suite("Priority holders")
struct PriorityHoldersTests {
    /// A lot of vector J (start = reserve = 5 900 000, open a minute ago) with B1 and the
    /// holder P, both with deposits held; P verified and named as the lot's only holder.
    struct VectorJLot {
        let disposal: Disposal
        let lotId: String
        let finance: (id: String, token: String)
        let b1: (id: String, token: String)
        let holder: (id: String, token: String)
    }

    static func verify(_ gavel: Harness, _ bidder: String, finance: String, idNumber: String) async throws {
        let reply = try await gavel.request(.post, "/v1/bidders/\(bidder)/verification", token: finance, json: """
            {"legalName": "Dealer \(idNumber)", "idNumber": "\(idNumber)", "dealerLicence": "DL-\(idNumber)", "licenceExpiresOn": "2027-06-30"}
            """)
        guard reply.status == .ok else { throw TestSetupError("verification: \(reply.text)") }
    }

    static func vectorJLot(_ gavel: Harness) async throws -> VectorJLot {
        let disposal = try await Disposal.start(gavel)
        let (vehicleId, _) = try await disposal.appraisedVehicle()
        let finance = try await gavel.createUser(.finance, name: "Finance")
        let b1 = try await gavel.createUser(.bidder, name: "Dealer B1")
        let holder = try await gavel.createUser(.bidder, name: "Co-owner P")
        try await verify(gavel, holder.id, finance: finance.token, idNumber: "110101198001010011")
        let lot = try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(
            vehicleId: vehicleId, startsIn: -60, extra: """
                , "override": {"startingPrice": 5900000, "reserve": 5900000, "reason": "test vector J"},
                "priorityHolders": ["\(holder.id)"]
                """))
        guard lot.status == .created else { throw TestSetupError("lot: \(lot.text)") }
        let lotId = try lot.string("id")
        for (index, bidder) in [b1, holder].enumerated() {
            let deposit = try await gavel.request(
                .post, "/v1/lots/\(lotId)/deposits", token: finance.token,
                json: #"{"bidderId": "\#(bidder.id)", "amount": 590000, "reference": "J-\#(index)"}"#)
            guard deposit.status == .created else { throw TestSetupError("deposit: \(deposit.text)") }
        }
        return VectorJLot(disposal: disposal, lotId: lotId, finance: finance, b1: b1, holder: holder)
    }

    static func bid(_ gavel: Harness, _ lotId: String, _ token: String, _ amount: Int64) async throws -> Harness.Reply {
        try await gavel.request(.post, "/v1/lots/\(lotId)/bids", token: token, json: #"{"maxAmount": \#(amount)}"#)
    }

    @Test("test vector J through HTTP: the holder bids the current price, leads on a tie, and buys at 7 100 000")
    func vectorJ() async throws {
        try await withGavel { gavel in
            let j = try await Self.vectorJLot(gavel)
            let asManager = try await gavel.request(.get, "/v1/lots/\(j.lotId)", token: j.disposal.manager.token)
            #expect(try asManager.json["priorityHolders"] == .array([.string(j.holder.id)]))
            #expect(try asManager.json["reserve"] == .integer(5_900_000))

            let steps: [(who: (id: String, token: String), amount: Int64, price: Int64, leader: String)] = [
                (j.b1, 7_000_000, 5_900_000, j.b1.id),
                (j.holder, 6_900_000, 7_000_000, j.b1.id),
                (j.holder, 7_000_000, 7_000_000, j.holder.id),
                (j.b1, 7_100_000, 7_100_000, j.b1.id),
                (j.holder, 7_100_000, 7_100_000, j.holder.id),
            ]
            for (index, step) in steps.enumerated() {
                if index == 2 {
                    // Before P's third bid: P may meet the price, anyone else must beat it.
                    let asHolder = try await gavel.request(.get, "/v1/lots/\(j.lotId)", token: j.holder.token)
                    #expect(try asHolder.json["priorityHolder"] == .bool(true))
                    #expect(try asHolder.json["minimumNextBid"] == .integer(7_000_000))
                    #expect(try asHolder.json["priorityHolders"] == nil, "a bidder never sees the list")
                    let asB1 = try await gavel.request(.get, "/v1/lots/\(j.lotId)", token: j.b1.token)
                    #expect(try asB1.json["priorityHolder"] == .bool(false))
                }
                let reply = try await Self.bid(gavel, j.lotId, step.who.token, step.amount)
                #expect(reply.status == .created, "step \(index + 1): \(reply.text)")
                #expect(try reply.json["currentPrice"] == .integer(step.price), "step \(index + 1)")
                #expect(try reply.json["leading"] == .bool(step.leader == step.who.id), "step \(index + 1)")
            }
            // B1 may not meet the price: only a holder may.
            let meet = try await Self.bid(gavel, j.lotId, j.b1.token, 7_100_000)
            #expect(meet.status == .unprocessableContent)
            #expect(try meet.problemCode == "bid-too-low")
            #expect(try meet.json["minimumNextBid"] == .integer(7_200_000))

            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: j.lotId)!)", logger: quietLogger)
            }
            let closed = try await ClosingTests.waitForClose(gavel, j.lotId)
            #expect(closed["status"] == .string("sold"))
            let invoice = try await gavel.request(.get, "/v1/lots/\(j.lotId)/invoice", token: j.holder.token)
            #expect(invoice.status == .ok, "the holder won: \(invoice.text)")
            #expect(try invoice.json["price"] == .integer(7_100_000))
        }
    }

    @Test("holders must be verified bidders, each once, at most 20; a relisting keeps them")
    func holdersChecked() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let (vehicleId, _) = try await disposal.appraisedVehicle()
            let finance = try await gavel.createUser(.finance, name: "Finance")
            let unverified = try await gavel.createUser(.bidder, name: "Unverified")
            let verified = try await gavel.createUser(.bidder, name: "Verified")
            try await Self.verify(gavel, verified.id, finance: finance.token, idNumber: "ID-V")
            func create(_ holders: String) async throws -> Harness.Reply {
                try await gavel.request(.post, "/v1/lots", token: disposal.manager.token, json: disposal.lotBody(
                    vehicleId: vehicleId, startsIn: 3_600, extra: #", "priorityHolders": \#(holders)"#))
            }
            let refused = try await create(#"["\#(verified.id)", "\#(unverified.id)", "\#(disposal.manager.id)"]"#)
            #expect(refused.status == .unprocessableContent)
            let fields = try #require(try refused.json["errors"]?.array).compactMap { $0["field"] }
            #expect(fields == [.string("priorityHolders[1]"), .string("priorityHolders[2]")], "\(refused.text)")
            let twice = try await create(#"["\#(verified.id)", "\#(verified.id)"]"#)
            #expect(try twice.problemCode == "validation-failed")
            #expect(try await create(#"["not-a-uuid"]"#).status == .unprocessableContent)
            let many = "[" + (0..<21).map { _ in "\"\(UUID())\"" }.joined(separator: ", ") + "]"
            #expect(try await create(many).status == .unprocessableContent)
            // Nothing was stored by the refusals.
            let lots = try await gavel.request(.get, "/v1/lots", token: disposal.manager.token)
            #expect(try lots.json["items"]?.array?.isEmpty == true)

            let lot = try await create(#"["\#(verified.id)"]"#)
            #expect(lot.status == .created, "\(lot.text)")
            let lotId = try lot.string("id")
            try await disposal.markUnsold(lotId)
            let relist = try await gavel.request(
                .post, "/v1/lots/\(lotId)/relist", token: disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(60))", "endsAt": "\#(Disposal.timestamp(90_000))"}"#)
            #expect(relist.status == .created, "\(relist.text)")
            #expect(try relist.json["priorityHolders"] == .array([.string(verified.id)]))
        }
    }

    @Test("test vector J through place_bid, answer by answer as the engine gives it")
    func vectorJInSQL() async throws {
        try await withGavel { gavel in
            let fixture = try await OpenLot.start(gavel, bidders: 2)
            let b1 = UUID(uuidString: fixture.bidders[0].id)!, holder = UUID(uuidString: fixture.bidders[1].id)!
            try await gavel.sql { connection in
                let startsAt = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970) + 86_400)
                let endsAt = startsAt.addingTimeInterval(3_600)
                let lot = try await BidDecisionTests.makeLot(
                    connection, from: UUID(uuidString: fixture.lotId)!, format: .english, startsAt: startsAt, endsAt: endsAt,
                    start: 5_900_000, reserve: 5_900_000, increments: Policy.defaults.bidding.increments, window: 300, extension: 300,
                    priorityHolders: [holder])
                var engine = Auction(
                    format: .english, startsAt: startsAt, endsAt: endsAt, start: 5_900_000, reserve: 5_900_000,
                    increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 300,
                    priorityHolders: [holder])
                let at = startsAt.addingTimeInterval(60)
                let steps: [(UUID, Int64, Int64, UUID)] = [
                    (b1, 7_000_000, 5_900_000, b1), (holder, 6_900_000, 7_000_000, b1), (holder, 7_000_000, 7_000_000, holder),
                    (b1, 7_100_000, 7_100_000, b1), (holder, 7_100_000, 7_100_000, holder),
                ]
                for (index, (bidder, amount, price, leader)) in steps.enumerated() {
                    let sql = try await BidDecisionTests.placeInSQL(connection, lot: lot, bidder: bidder, amount: amount, at: at)
                    let reference = engine.decide(
                        bidder: bidder, amount: amount, sequence: Int64(index + 1), now: at, admission: BidDecisionTests.plain)
                    #expect(BidDecisionTests.same(sql, reference), "step \(index + 1): SQL \(sql), engine \(reference)")
                    let accepted = try sql.get()
                    #expect(accepted.price == price && accepted.leader == leader, "step \(index + 1)")
                }
                // B1 cannot meet the price, in SQL as in the engine.
                let meet = try await BidDecisionTests.placeInSQL(connection, lot: lot, bidder: b1, amount: 7_100_000, at: at)
                #expect(meet == .failure(.rejected(.bidTooLow(minimumNextBid: 7_200_000))))
                #expect(engine.outcome == .sold(price: 7_100_000, winner: holder))
            }
        }
    }
}
