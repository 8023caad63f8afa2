import Foundation
import GavelCore
import GavelStore
import PostgresNIO
import Testing

@Suite("Closing lots")
struct ClosingTests {
    /// Waits until the lot leaves `scheduled`/`open`, at most `limit`.
    static func waitForClose(_ gavel: Harness, _ lotId: String, within limit: Duration) async throws -> JSONValue {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let lot = try await gavel.request(.get, "/v1/lots/\(lotId)", token: gavel.adminToken).json
            if let status = lot["status"], status != .string("open"), status != .string("scheduled") { return lot }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("lot \(lotId) was not closed within \(limit)")
    }

    static func deposits(_ gavel: Harness, _ lot: OpenLot) async throws -> [String: JSONValue] {
        let list = try await gavel.request(.get, "/v1/deposits?lotId=\(lot.lotId)", token: lot.finance.token).json
        var byBidder: [String: JSONValue] = [:]
        for item in list["items"]?.array ?? [] {
            if case .string(let bidder) = item["bidderId"] { byBidder[bidder] = item["status"] }
        }
        return byBidder
    }

    @Test("vector C closes sold to B3 at 8 000 000 within 2 s; losers' deposits become refund-due")
    func soldAfterVectorC() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 3, lasting: 63, extra: #", "extensionWindowSeconds": 1, "extensionSeconds": 1"#)
            for (index, amount) in [(0, 6_500_000), (1, 6_200_000), (2, 8_000_000), (0, 8_000_000)] {
                #expect(try await lot.bid(index, Int64(amount)).status == .created)
            }
            // Bring the end forward instead of waiting out the minute.
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            let closed = try await Self.waitForClose(gavel, lot.lotId, within: .seconds(3))
            #expect(closed["status"] == .string("sold"))
            #expect(closed["currentPrice"] == .integer(8_000_000))
            let deposits = try await Self.deposits(gavel, lot)
            // The winner's deposit pays into the invoice issued at the close.
            #expect(deposits[lot.bidders[2].id] == .string("applied"))
            #expect(deposits[lot.bidders[0].id] == .string("refund-due"))
            #expect(deposits[lot.bidders[1].id] == .string("refund-due"))
            let late = try await lot.bid(1, 9_000_000)
            #expect(try late.problemCode == "lot-not-open")
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(lot.lotId)", token: gavel.adminToken)
            let close = try #require(try audit.json["items"]?.array?.first { $0["action"] == .string("lot.close") })
            #expect(close["after"]?["winnerId"] == .string(lot.bidders[2].id))
            #expect(close["actor"]?["name"] == .string("closer"))
        }
    }

    @Test("no bid closes unsold and the vehicle can be relisted; below the reserve waits for a decision")
    func unsoldAndPending() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            // Below the reserve of 7 580 000.
            #expect(try await lot.bid(0, 6_500_000).status == .created)
            #expect(try await lot.bid(1, 6_200_000).status == .created)
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            let pending = try await Self.waitForClose(gavel, lot.lotId, within: .seconds(3))
            #expect(pending["status"] == .string("pending-approval"))
            #expect(try await Self.deposits(gavel, lot)[lot.bidders[0].id] == .string("held"))
            #expect(try await Self.deposits(gavel, lot)[lot.bidders[1].id] == .string("refund-due"))
            let rejected = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/decision", token: lot.disposal.manager.token, json: #"{"accept": false}"#)
            #expect(rejected.status == .ok)
            #expect(try rejected.json["status"] == .string("unsold"))
            #expect(try await Self.deposits(gavel, lot)[lot.bidders[0].id] == .string("refund-due"))
            let again = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/decision", token: lot.disposal.manager.token, json: #"{"accept": true}"#)
            #expect(again.status == .conflict)
            let relist = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/relist", token: lot.disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(60))", "endsAt": "\#(Disposal.timestamp(90_000))"}"#)
            #expect(relist.status == .created)
            #expect(try relist.json["round"] == .integer(2))
        }
    }

    @Test("a manager accepts a below-reserve bid: sold at that price; an overdue decision is rejected by itself")
    func acceptAndExpire() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            #expect(try await lot.bid(0, 6_000_000).status == .created)
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            _ = try await Self.waitForClose(gavel, lot.lotId, within: .seconds(3))
            let accepted = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/decision", token: lot.disposal.manager.token, json: #"{"accept": true}"#)
            #expect(try accepted.json["status"] == .string("sold"))
            #expect(try accepted.json["currentPrice"] == .integer(5_900_000))

            let second = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
            #expect(try await second.bid(0, 6_000_000).status == .created)
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: second.lotId)!)", logger: quietLogger)
            }
            _ = try await Self.waitForClose(gavel, second.lotId, within: .seconds(3))
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET decision_due_at = clock_timestamp() WHERE id = \(UUID(uuidString: second.lotId)!)", logger: quietLogger)
            }
            var status: JSONValue?
            for _ in 0..<30 {
                status = try await gavel.request(.get, "/v1/lots/\(second.lotId)", token: gavel.adminToken).json["status"]
                if status == .string("unsold") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status == .string("unsold"))
        }
    }

    @Test("four closers racing over 200 lots ending at once close each exactly once")
    func closersRace() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            #expect(try await lot.bid(0, 8_000_000).status == .created)
            let template = UUID(uuidString: lot.lotId)!
            // 200 more lots on vehicles of their own, all ending in a second, each with a bid.
            try await gavel.sql { connection in
                try await LotFactory.cloneLots(on: connection, from: template, count: 200, endingIn: 1)
            }
            try await Task.sleep(for: .milliseconds(1_100))
            // The application's own closer runs too: it is a fifth instance.
            let closedCounts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await PostgresConnection.with(gavel.database, logger: quietLogger) { connection in
                            var total = 0
                            while true {
                                let closed = try await PostgresTransactionError.unwrapping {
                                    try await connection.withTransaction(logger: quietLogger) { connection in
                                        try await LotClosing.closeDue(limit: 25, on: connection, logger: quietLogger)
                                    }
                                }
                                total += closed.count
                                if closed.isEmpty { break }
                            }
                            return total
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(closedCounts.reduce(0, +) <= 200)
            // The application's closer may still be committing a batch it had locked.
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, try await gavel.count("lots WHERE status = 'scheduled'") > 1 {
                try await Task.sleep(for: .milliseconds(100))
            }
            let (closes, open) = try await gavel.sql { connection in
                let rows = try await connection.query(
                    "SELECT entity_id, count(*)::int FROM audit_log WHERE action = 'lot.close' GROUP BY entity_id", logger: quietLogger)
                var counts: [UUID: Int] = [:]
                for try await (id, count) in rows.decode((UUID, Int).self) { counts[id] = count }
                let remaining = try await connection.query("SELECT count(*)::int FROM lots WHERE status = 'scheduled'", logger: quietLogger)
                var open = -1
                for try await count in remaining.decode(Int.self) { open = count }
                return (counts, open)
            }
            #expect(open == 1)  // the original lot still runs for two days
            #expect(closes.count == 200)
            #expect(closes.values.allSatisfy { $0 == 1 }, "a lot was closed more than once")
        }
    }
}

@Suite("Sealed lots through the API")
struct SealedLotTests {
    @Test("sealed amounts stay secret until close; the highest wins at its own amount, then only that price shows")
    func sealed() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 3, format: "sealed")
            #expect(try await lot.bid(0, 8_100_000).status == .created)
            let second = try await lot.bid(1, 8_300_000)
            #expect(try second.json["leading"] == .null)
            #expect(try second.json["currentPrice"] == .null)
            #expect(try await lot.bid(2, 6_000_000).status == .created)
            let during = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[0].token)
            #expect(try during.json["currentPrice"] == .null)
            #expect(try during.json["bidCount"] == .integer(3))
            #expect(!during.text.contains("8300000"))
            let history = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/bids", token: lot.bidders[0].token)
            #expect(try history.json["items"] == .array([]))
            _ = try await gavel.sql { connection in
                try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
            }
            let closed = try await ClosingTests.waitForClose(gavel, lot.lotId, within: .seconds(3))
            #expect(closed["status"] == .string("sold"))
            #expect(closed["currentPrice"] == .integer(8_300_000))
            // A loser sees the result and its own amount, nothing of the others'.
            let after = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[2].token)
            #expect(after.status == .ok)
            #expect(try after.json["currentPrice"] == .integer(8_300_000))
            #expect(try after.json["myMaxAmount"] == .integer(6_000_000))
            #expect(!after.text.contains("8100000"))
            // The history is the winning bid alone: the order the lead changed in would rank the losers.
            let result = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/bids", token: lot.bidders[2].token)
            let items = try result.json["items"]?.array ?? []
            #expect(items.count == 1)
            #expect(items.first?["price"] == .integer(8_300_000))
            #expect(items.first?["bidder"] == .string("Bidder 2"))
            #expect(try result.json["bidCount"] == .integer(3))
        }
    }

    @Test("sealed tie: two equal amounts, the earlier bid wins at that amount")
    func sealedTie() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 3, format: "sealed")
            #expect(try await lot.bid(1, 8_000_000).status == .created)
            #expect(try await lot.bid(0, 8_000_000).status == .created)
            #expect(try await lot.bid(2, 7_900_000).status == .created)
            try await LotEventsTests.endNow(gavel, lot.lotId)
            let closed = try await ClosingTests.waitForClose(gavel, lot.lotId, within: .seconds(3))
            #expect(closed["status"] == .string("sold"))
            #expect(closed["currentPrice"] == .integer(8_000_000))
            #expect(closed["leaderId"] == .string(lot.bidders[1].id))
            let winnerView = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[1].token)
            #expect(try winnerView.json["leading"] == .bool(true))
            let loserView = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[0].token)
            #expect(try loserView.json["leading"] == .bool(false))
        }
    }
}
