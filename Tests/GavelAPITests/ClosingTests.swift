import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import PostgresNIO
import Testing

@Suite("Closing lots")
struct ClosingTests {
    /// Waits until the lot leaves `scheduled`/`open`, at most `limit`.
    static func waitForClose(_ gavel: Harness, _ lotId: String, within limit: Duration = .seconds(30)) async throws -> JSONValue {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let lot = try await gavel.request(.get, "/v1/lots/\(lotId)", token: gavel.adminToken).json
            if let status = lot["status"], status != .string("open"), status != .string("scheduled") { return lot }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("lot \(lotId) was not closed within \(limit)")
    }

    /// Makes the database refuse the invoice of one lot (trigger `refuse_invoice`, an
    /// error that is not a data error: SQLSTATE P0001), until the trigger is dropped.
    static func refuseInvoice(of lotId: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            CREATE FUNCTION refuse_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'this lot cannot be invoiced'; END $$
            """, logger: quietLogger)
        try await connection.query(
            PostgresQuery(unsafeSQL: """
                CREATE TRIGGER refuse_invoice BEFORE INSERT ON invoices FOR EACH ROW
                WHEN (NEW.lot_id = '\(lotId)') EXECUTE FUNCTION refuse_invoice()
                """), logger: quietLogger)
    }

    static func deposits(_ gavel: Harness, _ lot: OpenLot) async throws -> [String: JSONValue] {
        let list = try await gavel.request(.get, "/v1/deposits?lotId=\(lot.lotId)", token: lot.finance.token).json
        var byBidder: [String: JSONValue] = [:]
        for item in list["items"]?.array ?? [] {
            if case .string(let bidder) = item["bidderId"] { byBidder[bidder] = item["status"] }
        }
        return byBidder
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
            let pending = try await Self.waitForClose(gavel, lot.lotId)
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

    /// Ends the lots and closes them in one transaction of the test's own, so that the
    /// application's closer cannot take any of them first (it sees the old end until commit).
    static func closeTogether(_ gavel: Harness, _ lotIds: [UUID]) async throws -> [ClosedLot] {
        try await gavel.sql { connection in
            try await PostgresTransactionError.unwrapping {
                try await connection.withTransaction(logger: quietLogger) { connection in
                    // Ended as the sweep's transaction began: the closer reads "due" as of `now()`.
                    try await connection.query(
                        "UPDATE lots SET ends_at = now() WHERE id = ANY(\(lotIds)::uuid[])", logger: quietLogger)
                    return try await Closing().closeDue(limit: 100, in: Session(connection: connection, logger: quietLogger)).closed
                }
            }
        }
    }

    @Test("a closing batch sends no NOTIFY from its transaction; its closed events come back to be announced after commit")
    func closingAnnouncedAfterCommit() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            #expect(try await lot.bid(0, 6_500_000).status == .created)
            let lotId = UUID(uuidString: lot.lotId)!
            let (batch, heard) = try await gavel.sql { listener in
                try await listener.listen(on: LotEventRepository.channel) { notifications in
                    try await listener.query("SELECT 1", logger: quietLogger)
                    let batch = try await gavel.sql { connection in
                        try await PostgresTransactionError.unwrapping {
                            try await connection.withTransaction(logger: quietLogger) { connection in
                                try await connection.query("UPDATE lots SET ends_at = now() WHERE id = \(lotId)", logger: quietLogger)
                                return try await Closing().closeDue(limit: 100, in: Session(connection: connection, logger: quietLogger))
                            }
                        }
                    }
                    // Sent after the close committed: the first thing heard, if the close told nobody.
                    _ = try await gavel.sql { connection in
                        try await connection.query("SELECT pg_notify(\(LotEventRepository.channel), 'after the close')", logger: quietLogger)
                    }
                    for try await notification in notifications { return (batch, notification.payload) }
                    return (batch, "")
                }
            }
            #expect(heard == "after the close")
            #expect(batch.closed.map(\.lotId) == [lotId])
            let events = batch.announcements.compactMap(LotEventRepository.decodeNotification)
            #expect(events.map(\.lotId) == [lotId])
            #expect(events.map(\.kind) == [.closed])
            #expect(events.map(\.seq) == [2])
        }
    }

    @Test("one batch with every outcome closes each lot as it would alone; a lot that cannot be closed holds back no other")
    func batchOfOutcomes() async throws {
        try await withGavel { gavel in
            let sold = try await OpenLot.start(gavel, bidders: 3)
            for (index, amount) in [(0, 6_500_000), (1, 6_200_000), (2, 8_000_000), (0, 8_000_000)] {
                #expect(try await sold.bid(index, Int64(amount)).status == .created)
            }
            let pending = try await OpenLot.start(gavel, bidders: 2, vin: "JH4KA7561PC008269")
            #expect(try await pending.bid(0, 6_500_000).status == .created)
            #expect(try await pending.bid(1, 6_200_000).status == .created)
            let unsold = try await OpenLot.start(gavel, bidders: 1, vin: "1M8GDM9AXKP042788")
            let ids = [sold, pending, unsold].map { UUID(uuidString: $0.lotId)! }

            let closed = try await Self.closeTogether(gavel, ids)
            let winner = UUID(uuidString: sold.bidders[2].id)!, leader = UUID(uuidString: pending.bidders[0].id)!
            #expect(Set(closed.map(\.lotId)) == Set(ids))
            #expect(closed.first { $0.lotId == ids[0] }?.outcome == .sold(price: 8_000_000, winner: winner))
            #expect(closed.first { $0.lotId == ids[1] }?.outcome == .pendingApproval(price: 6_300_000, leader: leader))
            #expect(closed.first { $0.lotId == ids[2] }?.outcome == .unsold)

            let soldLot = try await gavel.request(.get, "/v1/lots/\(sold.lotId)", token: gavel.adminToken).json
            #expect(soldLot["status"] == .string("sold"))
            #expect(soldLot["currentPrice"] == .integer(8_000_000))
            #expect(try await Self.deposits(gavel, sold) == [
                sold.bidders[0].id: .string("refund-due"), sold.bidders[1].id: .string("refund-due"),
                sold.bidders[2].id: .string("applied"),
            ])
            #expect(try await gavel.request(.get, "/v1/lots/\(pending.lotId)", token: gavel.adminToken).json["status"]
                    == .string("pending-approval"))
            #expect(try await Self.deposits(gavel, pending) == [
                pending.bidders[0].id: .string("held"), pending.bidders[1].id: .string("refund-due"),
            ])
            #expect(try await gavel.request(.get, "/v1/lots/\(unsold.lotId)", token: gavel.adminToken).json["status"]
                    == .string("unsold"))
            #expect(try await Self.deposits(gavel, unsold) == [unsold.bidders[0].id: .string("refund-due")])
            // The decision is due approvalHours (48 by default) after the close.
            #expect(try await gavel.count(
                "lots WHERE id = '\(ids[1])' AND decision_due_at = closed_at + interval '48 hours' AND hammer_price = 6300000") == 1)
            #expect(try await gavel.count("lots WHERE id IN ('\(ids[1])', '\(ids[2])') AND closed_at IS NOT NULL") == 2)

            // The sale's invoice: vector D's terms with the winner's deposit applied, posted twice.
            let invoice = try await gavel.sql { connection in
                try await InvoiceRepository.find(lotId: ids[0], on: connection, logger: quietLogger)
            }
            let terms = try #require(invoice).terms
            #expect(invoice?.bidderId == winner)
            #expect(invoice?.depositId != nil)
            #expect(terms.price == 8_000_000 && terms.total == terms.price + terms.buyerPremium + terms.docFee)
            #expect(terms.amountDue == terms.total - terms.depositApplied && terms.depositApplied > 0)
            #expect(try await gavel.count("invoices") == 1)
            #expect(try await gavel.count(
                "journal_entries WHERE event_key IN ('invoice:\(invoice!.id.uuidString.lowercased())', 'deposit-applied:\(invoice!.depositId!.uuidString.lowercased())')") == 2)
            // One closed event and one audit entry per lot, each with what it became.
            for (id, status) in zip(ids, ["sold", "pending-approval", "unsold"]) {
                #expect(try await gavel.count("lot_events WHERE lot_id = '\(id)' AND kind = 'closed' AND status = '\(status)'") == 1)
                #expect(try await gavel.count(
                    "audit_log WHERE entity_id = '\(id)' AND action = 'lot.close' AND after->>'status' = '\(status)' AND actor_name = 'system:closer'") == 1)
            }

            // Two more sales in one batch, one of which the database refuses to invoice.
            let refused = UUID(), accepted = UUID()
            try await gavel.sql { connection in
                for (lotId, vin) in [(refused, "2HGES16575H591293"), (accepted, "5YJSA1E26HF176264")] {
                    try await connection.query(
                        """
                        WITH vehicle AS (
                            INSERT INTO vehicles (id, case_id, vin, make, model, year, mileage_km, has_keys, title_status, repossessed_on)
                            SELECT gen_random_uuid(), v.case_id, \(vin), 'Honda', 'Accord', 2019, 86000, true, 'clean', '2026-10-15'
                            FROM lots l JOIN vehicles v ON v.id = l.vehicle_id WHERE l.id = \(ids[2]) RETURNING id
                        ), lot AS (
                            INSERT INTO lots (id, vehicle_id, consignor_id, appraisal_id, round, format, status, currency, starts_at,
                                              ends_at, extension_window_seconds, extension_seconds, starting_price, reserve,
                                              deposit_amount, increments, created_by, current_price, leader_id, bid_count, fees)
                            SELECT \(lotId), vehicle.id, l.consignor_id, l.appraisal_id, 1, 'english', 'scheduled', l.currency,
                                   now() - interval '1 hour', now() + interval '1 day', 300, 300, l.starting_price,
                                   l.starting_price, l.deposit_amount, l.increments, l.created_by, l.starting_price, \(winner), 1,
                                   l.fees
                            FROM lots l, vehicle WHERE l.id = \(ids[2]) RETURNING id, starting_price
                        )
                        INSERT INTO lot_maxima (lot_id, bidder_id, amount, sequence)
                        SELECT id, \(winner), starting_price, nextval('bid_sequence') FROM lot
                        """, logger: quietLogger)
                }
                try await Self.refuseInvoice(of: refused, on: connection)
            }
            let second = try await Self.closeTogether(gavel, [refused, accepted])
            #expect(second.map(\.lotId) == [accepted])
            #expect(try await gavel.count("lots WHERE id = '\(refused)' AND status = 'scheduled'") == 1)
            #expect(try await gavel.count("invoices WHERE lot_id = '\(accepted)'") == 1)
            #expect(try await gavel.count("lot_events WHERE lot_id = '\(refused)' AND kind = 'closed'") == 0)
            #expect(try await gavel.count("audit_log WHERE entity_id = '\(refused)' AND action = 'lot.close'") == 0)
            // Once the database takes its invoice, the lot closes like any other.
            _ = try await gavel.sql { connection in
                try await connection.query("DROP TRIGGER refuse_invoice ON invoices", logger: quietLogger)
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, try await gavel.count("lots WHERE id = '\(refused)' AND status = 'sold'") == 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await gavel.count("invoices WHERE lot_id = '\(refused)'") == 1)
            #expect(try await gavel.count("audit_log WHERE entity_id = '\(refused)' AND action = 'lot.close'") == 1)
        }
    }

    @Test("a deposit that covers the whole invoice pays it at the close: seller fee booked, vehicle released")
    func depositCoversInvoice() async throws {
        try await withGavel { gavel in
            let template = try await OpenLot.start(gavel, bidders: 1)
            let winner = UUID(uuidString: template.bidders[0].id)!
            try await gavel.sql { connection in
                try await LotFactory.cloneLots(
                    on: connection, from: UUID(uuidString: template.lotId)!, count: 1, endingIn: 3_600, soldTo: winner,
                    depositors: [winner], reference: "COVERS-ALL")
                // The API keeps a deposit at or below the starting price, so this only happens by hand.
                try await connection.query("UPDATE deposits SET amount = 90000000 WHERE reference = 'COVERS-ALL'", logger: quietLogger)
            }
            let lotId = try await gavel.sql { connection in
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT lot_id FROM deposits WHERE reference = 'COVERS-ALL'"), logger: quietLogger)
                for try await id in rows.decode(UUID.self) { return id }
                throw TestSetupError("no lot was cloned")
            }
            let closed = try await Self.closeTogether(gavel, [lotId])
            #expect(closed.map(\.lotId) == [lotId])
            let invoice = try #require(try await gavel.sql { connection in
                try await InvoiceRepository.find(lotId: lotId, on: connection, logger: quietLogger)
            })
            #expect(invoice.status == .paid)
            #expect(invoice.terms.amountDue == 0 && invoice.terms.depositApplied == invoice.terms.total)
            #expect(try await gavel.count("invoices WHERE lot_id = '\(lotId)' AND paid_at IS NOT NULL") == 1)
            #expect(try await gavel.count("expenses WHERE invoice_id = '\(invoice.id)' AND kind = 'seller-fee'") == 1)
            #expect(try await gavel.count("payments WHERE invoice_id = '\(invoice.id)'") == 0)
            #expect(try await gavel.count(
                "vehicles v JOIN lots l ON l.vehicle_id = v.id WHERE l.id = '\(lotId)' AND v.status = 'sold' AND v.released_at IS NOT NULL") == 1)
            #expect(try await gavel.count(
                "journal_entries WHERE event_key = 'seller-fee:\(invoice.id.uuidString.lowercased())'") == 1)
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
                                let closed: [ClosedLot]
                                do {
                                    closed = try await PostgresTransactionError.unwrapping {
                                        try await connection.withTransaction(logger: quietLogger) { connection in
                                            try await Closing().closeDue(limit: 25, in: Session(connection: connection, logger: quietLogger)).closed
                                        }
                                    }
                                } catch {
                                    throw TestSetupError("a closer failed: \(String(reflecting: error))")
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
            let closed = try await ClosingTests.waitForClose(gavel, lot.lotId)
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
            let closed = try await ClosingTests.waitForClose(gavel, lot.lotId)
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

extension RealTime {
    @Suite("Closing lots, in real time")
    struct ClosingTiming {
        @Test("vector C closes sold to B3 at 8 000 000 within 2 s; losers' deposits become refund-due")
        func soldAfterVectorC() async throws {
            try await withGavel { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 3, lasting: 3_600, extra: #", "extensionWindowSeconds": 1, "extensionSeconds": 1"#)
                for (index, amount) in [(0, 6_500_000), (1, 6_200_000), (2, 8_000_000), (0, 8_000_000)] {
                    #expect(try await lot.bid(index, Int64(amount)).status == .created)
                }
                // Bring the end forward instead of waiting out the minute.
                _ = try await gavel.sql { connection in
                    try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
                }
                let closed = try await ClosingTests.waitForClose(gavel, lot.lotId, within: .seconds(3))
                #expect(closed["status"] == .string("sold"))
                #expect(closed["currentPrice"] == .integer(8_000_000))
                let deposits = try await ClosingTests.deposits(gavel, lot)
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

        @Test("a manager accepts a below-reserve bid: sold at that price; an overdue decision is rejected by itself")
        func acceptAndExpire() async throws {
            try await withGavel { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                #expect(try await lot.bid(0, 6_000_000).status == .created)
                _ = try await gavel.sql { connection in
                    try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger)
                }
                _ = try await ClosingTests.waitForClose(gavel, lot.lotId)
                let accepted = try await gavel.request(
                    .post, "/v1/lots/\(lot.lotId)/decision", token: lot.disposal.manager.token, json: #"{"accept": true}"#)
                #expect(try accepted.json["status"] == .string("sold"))
                #expect(try accepted.json["currentPrice"] == .integer(5_900_000))

                let second = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
                #expect(try await second.bid(0, 6_000_000).status == .created)
                _ = try await gavel.sql { connection in
                    try await connection.query("UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: second.lotId)!)", logger: quietLogger)
                }
                _ = try await ClosingTests.waitForClose(gavel, second.lotId)
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
    }
}
