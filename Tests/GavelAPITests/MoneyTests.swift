import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import HTTPTypes
import PostgresNIO
import Testing

/// Vector C's lot, closed: sold to the third bidder at 8 000 000 with a 590 000
/// deposit (test vector D), losers' deposits owed back.
struct SoldLot: Sendable {
    let open: OpenLot
    let invoice: JSONValue
    var gavel: Harness { open.disposal.gavel }
    var winner: (id: String, token: String) { open.bidders[2] }
    var invoiceId: String { if case .string(let id) = invoice["id"] { id } else { "" } }

    static func start(
        _ gavel: Harness, vin: String = "1HGCM82633A004352", credits: Bool = true, borrower: String = "Wang Li"
    ) async throws -> SoldLot {
        let lot = try await OpenLot.start(gavel, bidders: 3, vin: vin, credits: credits, borrower: borrower)
        for (index, amount) in [(0, 6_500_000), (1, 6_200_000), (2, 8_000_000), (0, 8_000_000)] as [(Int, Int64)] {
            guard try await lot.bid(index, amount).status == .created else { throw TestSetupError("bid refused") }
        }
        try await LotEventsTests.endNow(gavel, lot.lotId)
        _ = try await ClosingTests.waitForClose(gavel, lot.lotId)
        let invoice = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/invoice", token: lot.finance.token)
        guard invoice.status == .ok else { throw TestSetupError("no invoice: \(invoice.text)") }
        return SoldLot(open: lot, invoice: try invoice.json)
    }

    func pay(_ amount: Int64, key: String? = nil, extra: String = "") async throws -> Harness.Reply {
        var headers: HTTPFields = [:]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await gavel.request(
            .post, "/v1/invoices/\(invoiceId)/payments", token: open.finance.token,
            json: #"{"amount": \#(amount), "reference": "WIRE-\#(amount)", "receivedOn": "2026-11-20"\#(extra)}"#, headers: headers)
    }

    /// Finance declares the invoice's default the moment it falls due, before the closer's
    /// own sweep can (which defaults it within half a second, and on a loaded machine would
    /// otherwise win the race): the due date is moved under a row lock that finance's
    /// request queues behind, and the sweep skips locked invoices.
    func declareDefaultAsItFallsDue() async throws -> Harness.Reply {
        let holder = try await PostgresConnection.connect(
            configuration: gavel.database.connectionConfiguration, id: 2, logger: quietLogger)
        do {
            try await holder.query("BEGIN", logger: quietLogger)
            try await holder.query(
                "UPDATE invoices SET due_at = now() - interval '1 minute' WHERE id = \(UUID(uuidString: invoiceId)!)",
                logger: quietLogger)
            let gavel = self.gavel
            let path = "/v1/invoices/\(invoiceId)/default"
            let token = open.finance.token
            let request = Task { try await gavel.request(.post, path, token: token) }
            while try await gavel.count("pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await holder.query("COMMIT", logger: quietLogger)
            let reply = try await request.value
            try? await holder.close()
            return reply
        } catch {
            try? await holder.close()
            throw error
        }
    }

    func makeOverdue() async throws {
        try await gavel.sql { connection in
            try await connection.query(
                "UPDATE invoices SET due_at = now() - interval '1 minute' WHERE id = \(UUID(uuidString: invoiceId)!)",
                logger: quietLogger)
        }
    }
}

/// The checks every money test ends with: the trial balance balances, every entry
/// balances, and the account balances asked for hold.
enum Books {
    static func balances(_ gavel: Harness) async throws -> [String: Int64] {
        let trial = try await gavel.request(.get, "/v1/ledger/trial-balance", token: gavel.adminToken).json
        #expect(trial["totalDebit"] == trial["totalCredit"], "the trial balance does not balance")
        var balances: [String: Int64] = [:]
        for row in trial["accounts"]?.array ?? [] {
            if case .string(let account) = row["account"], case .integer(let balance) = row["balance"] {
                // Per-case accounts by their kind, for readable assertions.
                balances[String(account.split(separator: ":")[0]), default: 0] += balance
            }
        }
        let unbalanced = try await gavel.sql { connection in
            var count = -1
            for try await n in try await connection.query(
                """
                SELECT count(*)::int FROM (SELECT e.id FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id
                GROUP BY e.id HAVING count(l.*) < 2 OR sum(l.debit) <> sum(l.credit)) x
                """, logger: quietLogger
            ).decode(Int.self) { count = n }
            return count
        }
        #expect(unbalanced == 0, "\(unbalanced) unbalanced entries")
        return balances.filter { $0.value != 0 }
    }

    /// A digest of the whole journal, to show a refused request wrote nothing.
    static func digest(_ gavel: Harness) async throws -> String {
        try await gavel.sql { connection in
            for try await digest in try await connection.query(
                """
                SELECT md5(COALESCE(string_agg(e.event_key || l.line_no || l.account || l.debit || '/' || l.credit, ',' ORDER BY e.seq, l.line_no), ''))
                FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
                """, logger: quietLogger
            ).decode(String.self) { return digest }
            return ""
        }
    }

    /// Deposits by status, and the conservation invariant of section 6.
    static func deposits(_ gavel: Harness) async throws -> [String: Int64] {
        let (byStatus, received) = try await gavel.sql { connection in
            var byStatus: [String: Int64] = [:]
            for try await (status, total) in try await connection.query(
                "SELECT status, sum(amount)::bigint FROM deposits GROUP BY status", logger: quietLogger
            ).decode((String, Int64).self) { byStatus[status] = total }
            var received: Int64 = -1
            for try await total in try await connection.query(
                """
                SELECT COALESCE(sum(l.debit), 0)::bigint FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
                WHERE e.kind = 'deposit-received' AND l.account = 'cash'
                """, logger: quietLogger
            ).decode(Int64.self) { received = total }
            return (byStatus, received)
        }
        #expect(byStatus.values.reduce(0, +) == received, "received \(received) is not held + refund-due + refunded + applied + forfeited \(byStatus)")
        return byStatus
    }
}

@Suite("Invoices, payments, defaults, deposits and the ledger")
struct MoneyTests {
    @Test("test vector D through HTTP: the invoice at close, who may read it, and the books after the sale")
    func vectorD() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let invoice = sold.invoice
            #expect(invoice["price"] == .integer(8_000_000))
            #expect(invoice["buyerPremium"] == .integer(400_000))
            #expect(invoice["docFee"] == .integer(30_000))
            #expect(invoice["total"] == .integer(8_430_000))
            #expect(invoice["depositApplied"] == .integer(590_000))
            #expect(invoice["amountDue"] == .integer(7_840_000))
            #expect(invoice["paid"] == .integer(0))
            #expect(invoice["status"] == .string("open"))
            #expect(invoice["currency"] == .string("CNY"))
            guard case .string(let dueText) = invoice["dueAt"], let due = ISO8601DateFormatter().date(from: dueText) else {
                Issue.record("no dueAt")
                return
            }
            #expect(abs(due.timeIntervalSinceNow - 3 * 86_400) < 120)
            let path = "/v1/lots/\(sold.open.lotId)/invoice"
            #expect(try await gavel.request(.get, path, token: sold.winner.token).json == invoice)
            #expect(try await gavel.request(.get, path, token: gavel.adminToken).status == .ok)
            #expect(try await gavel.request(.get, path, token: sold.open.bidders[0].token).problemCode == "forbidden")
            #expect(try await gavel.request(.get, path, token: sold.open.disposal.manager.token).status == .forbidden)
            #expect(try await Books.deposits(gavel) == ["applied": 590_000, "refund-due": 1_180_000])
            let books = try await Books.balances(gavel)
            #expect(books == [
                "cash": 1_770_000, "bidder-deposits-held": -1_180_000, "buyer-receivables": 7_840_000,
                "case-proceeds": -8_000_000, "platform-fee-revenue": -430_000,
            ])
            // A lot that is not sold has no invoice.
            let other = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
            #expect(try await gavel.request(.get, "/v1/lots/\(other.lotId)/invoice", token: gavel.adminToken).status == .notFound)
        }
    }

    @Test("payments: partial, then the rest; overpayment and bad input change nothing; paid in full books the seller fee and releases the vehicle")
    func payments() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let before = try await Books.digest(gavel)
            let over = try await sold.pay(7_840_001)
            #expect(try over.problemCode == "overpayment")
            #expect(over.status == .unprocessableContent)
            #expect(try over.json["outstanding"] == .integer(7_840_000))
            for (body, code) in [
                (#"{"amount": 0, "reference": "W", "receivedOn": "2026-11-20"}"#, "validation-failed"),
                (#"{"amount": -5, "reference": "W", "receivedOn": "2026-11-20"}"#, "amount-out-of-range"),
                (#"{"amount": 10000000000001, "reference": "W", "receivedOn": "2026-11-20"}"#, "amount-out-of-range"),
                (#"{"amount": 100, "reference": "W", "receivedOn": "2999-01-01"}"#, "validation-failed"),
                (#"{"amount": 100, "reference": "W", "receivedOn": "2026-11-20", "currency": "USD"}"#, "currency-mismatch"),
                (#"{"amount": 100, "receivedOn": "2026-11-20"}"#, "validation-failed"),
            ] {
                let reply = try await gavel.request(
                    .post, "/v1/invoices/\(sold.invoiceId)/payments", token: sold.open.finance.token, json: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
                #expect(try reply.problemCode == code, "\(body)")
            }
            #expect(try await gavel.request(
                .post, "/v1/invoices/\(UUID())/payments", token: sold.open.finance.token,
                json: #"{"amount": 100, "reference": "W", "receivedOn": "2026-11-20"}"#).status == .notFound)
            #expect(try await Books.digest(gavel) == before, "a refused payment wrote to the journal")

            let part = try await sold.pay(840_000, extra: #", "currency": "CNY""#)
            #expect(part.status == .created)
            #expect(try part.json["paid"] == .integer(840_000))
            #expect(try part.json["outstanding"] == .integer(7_000_000))
            #expect(try part.json["status"] == .string("open"))
            let rest = try await sold.pay(7_000_000)
            #expect(try rest.json["status"] == .string("paid"))
            #expect(try rest.json["outstanding"] == .integer(0))
            let again = try await sold.pay(1)
            #expect(again.status == .conflict)
            #expect(try again.problemCode == "invoice-not-open")

            let books = try await Books.balances(gavel)
            #expect(books["buyer-receivables"] == nil)
            #expect(books["cash"] == Int64(9_610_000))  // three deposits and the amount due
            #expect(books["case-expenses"] == 160_000)
            #expect(books["seller-fee-revenue"] == -160_000)
            #expect(books["case-proceeds"] == -8_000_000)
            let (vehicle, sellerFees) = try await gavel.sql { connection in
                var vehicle = ""
                for try await (status, released) in try await connection.query(
                    "SELECT v.status, v.released_at IS NOT NULL FROM vehicles v JOIN lots l ON l.vehicle_id = v.id WHERE l.id = \(UUID(uuidString: sold.open.lotId)!)",
                    logger: quietLogger
                ).decode((String, Bool).self) { vehicle = "\(status) \(released)" }
                var fees: [Int64] = []
                for try await amount in try await connection.query(
                    "SELECT amount FROM expenses WHERE kind = 'seller-fee'", logger: quietLogger
                ).decode(Int64.self) { fees.append(amount) }
                return (vehicle, fees)
            }
            #expect(vehicle == "sold true")
            #expect(sellerFees == [160_000])
        }
    }

    @Test("a payment retried with its Idempotency-Key is answered again and posts nothing; another body with the key is 422")
    func idempotentPayment() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let first = try await sold.pay(1_000_000, key: "pay-1")
            #expect(first.status == .created)
            let digest = try await Books.digest(gavel)
            let replay = try await sold.pay(1_000_000, key: "pay-1")
            #expect(replay.status == .created)
            #expect(replay.text == first.text)
            #expect(try await Books.digest(gavel) == digest)
            #expect(try await sold.pay(2_000_000, key: "pay-1").problemCode == "idempotency-key-reused")
            #expect(try await gavel.count("payments") == 1)
        }
    }

    @Test("twenty simultaneous payments of a tenth each: ten are taken, ten are overpayments, the invoice is paid once")
    func concurrentPayments() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await sold.pay(784_000).status.code } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 10)
            #expect(statuses.filter { $0 == 422 || $0 == 409 }.count == 10)
            let invoice = try await gavel.request(.get, "/v1/lots/\(sold.open.lotId)/invoice", token: gavel.adminToken).json
            #expect(invoice["status"] == .string("paid"))
            #expect(invoice["paid"] == .integer(7_840_000))
            #expect(try await gavel.count("expenses WHERE kind = 'seller-fee'") == 1)
            // Each payment's rows are written together or not at all, racing or not.
            #expect(try await gavel.count("payments") == 10)
            #expect(try await gavel.count("journal_entries WHERE kind = 'payment'") == 10)
            #expect(try await gavel.count("audit_log WHERE action = 'invoice.payment'") == 10)
            #expect(try await gavel.count("vehicles WHERE status = 'sold'") == 1)
            let books = try await Books.balances(gavel)
            #expect(books["buyer-receivables"] == nil)
            _ = try await Books.deposits(gavel)
        }
    }

    @Test("the scheduler defaults an invoice unpaid when due by itself, once")
    func automaticDefault() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            try await sold.makeOverdue()
            let deadline = ContinuousClock.now + .seconds(5)
            var status = JSONValue.null
            while ContinuousClock.now < deadline {
                status = try await gavel.request(.get, "/v1/lots/\(sold.open.lotId)/invoice", token: gavel.adminToken).json["status"] ?? .null
                if status == .string("defaulted") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status == .string("defaulted"))
            #expect(try await gavel.count("audit_log WHERE action = 'invoice.default'") == 1)
            #expect(try await gavel.count("journal_entries WHERE kind = 'default'") == 1)
            _ = try await Books.balances(gavel)
        }
    }

    @Test("deposit payouts: owed-back deposits are refunded once even with twenty simultaneous attempts; applied and held ones are not")
    func refunds() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let deposits = try await gavel.request(.get, "/v1/deposits?lotId=\(sold.open.lotId)", token: sold.open.finance.token).json
            var byBidder: [String: String] = [:]
            for deposit in deposits["items"]?.array ?? [] {
                if case .string(let bidder) = deposit["bidderId"], case .string(let id) = deposit["id"] { byBidder[bidder] = id }
            }
            let loser = try #require(byBidder[sold.open.bidders[0].id])
            let winner = try #require(byBidder[sold.winner.id])
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for attempt in 0..<20 {
                    group.addTask {
                        try await gavel.request(
                            .post, "/v1/deposits/\(loser)/refund", token: sold.open.finance.token,
                            json: #"{"reference": "PAYOUT-\#(attempt)"}"#).status.code
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 19)
            #expect(try await gavel.count("journal_entries WHERE kind = 'deposit-refunded'") == 1)
            let applied = try await gavel.request(
                .post, "/v1/deposits/\(winner)/refund", token: sold.open.finance.token, json: #"{"reference": "NO"}"#)
            #expect(try applied.problemCode == "deposit-not-refundable")
            let open = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
            let held = try await gavel.request(.get, "/v1/deposits?lotId=\(open.lotId)", token: open.finance.token).json
            guard case .string(let heldId) = held["items"]?.array?.first?["id"] else {
                Issue.record("no held deposit")
                return
            }
            #expect(try await gavel.request(
                .post, "/v1/deposits/\(heldId)/refund", token: open.finance.token, json: #"{"reference": "NO"}"#
            ).problemCode == "deposit-not-refundable")
            #expect(try await gavel.request(
                .post, "/v1/deposits/\(loser)/refund", token: open.finance.token, json: #"{}"#).status == .unprocessableContent)
            #expect(try await Books.deposits(gavel) == ["applied": 590_000, "refund-due": 590_000, "refunded": 590_000, "held": 590_000])
            let books = try await Books.balances(gavel)
            #expect(books["bidder-deposits-held"] == -1_180_000)
        }
    }

    @Test("a deposit above the starting price, or in another currency, is refused and posts nothing")
    func depositBounds() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let bidder = try await gavel.createUser(.bidder, name: "Late Dealer")
            let digest = try await Books.digest(gavel)
            for (body, code) in [
                (#"{"bidderId": "\#(bidder.id)", "amount": 5900001, "reference": "BIG"}"#, "validation-failed"),
                (#"{"bidderId": "\#(bidder.id)", "amount": 590000, "reference": "USD", "currency": "USD"}"#, "currency-mismatch"),
            ] {
                let reply = try await gavel.request(.post, "/v1/lots/\(lot.lotId)/deposits", token: lot.finance.token, json: body)
                #expect(try reply.problemCode == code)
            }
            #expect(try await Books.digest(gavel) == digest)
            #expect(try await Books.balances(gavel) == ["cash": 590_000, "bidder-deposits-held": -590_000])
        }
    }

    @Test("expenses: recorded per case and posted; bad input and another consignor's manager change nothing")
    func expenses() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let finance = try await gavel.createUser(.finance, name: "Finance")
            let path = "/v1/cases/\(disposal.caseId)/expenses"
            let towed = try await gavel.request(
                .post, path, token: finance.token,
                json: #"{"kind": "repossession", "amount": 450000, "incurredOn": "2026-10-15", "vendor": "Swift Recovery", "reference": "INV-77"}"#)
            #expect(towed.status == .created, "\(towed.text)")
            #expect(try towed.json["currency"] == .string("CNY"))
            let stored = try await gavel.request(
                .post, path, token: disposal.manager.token, json: #"{"kind": "storage", "amount": 280000, "incurredOn": "2026-11-01"}"#)
            #expect(stored.status == .created)
            let digest = try await Books.digest(gavel)
            for (body, code) in [
                (#"{"kind": "seller-fee", "amount": 1, "incurredOn": "2026-11-01"}"#, "validation-failed"),
                (#"{"kind": "storage", "amount": 0, "incurredOn": "2026-11-01"}"#, "validation-failed"),
                (#"{"kind": "storage", "amount": -1, "incurredOn": "2026-11-01"}"#, "amount-out-of-range"),
                (#"{"kind": "storage", "amount": 1, "incurredOn": "2999-11-01"}"#, "validation-failed"),
                (#"{"kind": "storage", "amount": 1, "incurredOn": "2026-11-01", "currency": "EUR"}"#, "currency-mismatch"),
            ] {
                let reply = try await gavel.request(.post, path, token: finance.token, json: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
                #expect(try reply.problemCode == code, "\(body)")
            }
            let otherConsignor = try await gavel.createConsignor("Other Bank")
            let stranger = try await gavel.createUser(.manager, consignorId: otherConsignor)
            #expect(try await gavel.request(
                .post, path, token: stranger.token, json: #"{"kind": "storage", "amount": 1, "incurredOn": "2026-11-01"}"#
            ).status == .notFound)
            #expect(try await gavel.request(
                .post, "/v1/cases/\(UUID())/expenses", token: finance.token, json: #"{"kind": "storage", "amount": 1, "incurredOn": "2026-11-01"}"#
            ).status == .notFound)
            #expect(try await Books.digest(gavel) == digest)
            #expect(try await Books.balances(gavel) == ["case-expenses": 730_000, "expenses-payable": -730_000])
            let entries = try await gavel.request(.get, "/v1/ledger/entries?caseId=\(disposal.caseId)", token: finance.token).json
            let kinds = entries["items"]?.array?.map { $0["kind"] } ?? []
            #expect(kinds == [.string("expense"), .string("expense")])
            #expect(entries["items"]?.array?.first?["lines"]?.array?.count == 2)
        }
    }

    @Test("the journal is append-only and refuses an unbalanced entry, at the database")
    func journalGuards() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let finance = try await gavel.createUser(.finance, name: "Finance")
            _ = try await gavel.request(
                .post, "/v1/cases/\(disposal.caseId)/expenses", token: finance.token,
                json: #"{"kind": "transport", "amount": 120000, "incurredOn": "2026-10-20"}"#)
            let digest = try await Books.digest(gavel)
            for statement in [
                "UPDATE journal_lines SET debit = debit + 1 WHERE debit > 0",
                "DELETE FROM journal_lines",
                "UPDATE journal_entries SET memo = 'edited'",
                "DELETE FROM journal_entries",
                "TRUNCATE journal_lines",
            ] {
                await #expect(throws: (any Error).self, "\(statement)") {
                    try await gavel.sql { connection in
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: quietLogger)
                    }
                }
            }
            await #expect(throws: (any Error).self, "an unbalanced entry") {
                try await gavel.sql { connection in
                    try await connection.query(
                        """
                        BEGIN;
                        """, logger: quietLogger)
                    let id = UUID()
                    try await connection.query(
                        "INSERT INTO journal_entries (id, event_key, kind, currency, memo) VALUES (\(id), 'forged', 'expense', 'CNY', 'x')",
                        logger: quietLogger)
                    try await connection.query(
                        "INSERT INTO journal_lines (entry_id, line_no, account, debit, credit) VALUES (\(id), 1, 'cash', 100, 0), (\(id), 2, 'expenses-payable', 0, 99)",
                        logger: quietLogger)
                    try await connection.query("COMMIT", logger: quietLogger)
                }
            }
            #expect(try await Books.digest(gavel) == digest)
        }
    }

    @Test("four sweepers and the application's own over 200 overdue invoices: each defaulted once")
    func defaultSweepersRace() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let template = UUID(uuidString: lot.lotId)!
            let bidders = lot.bidders.map { UUID(uuidString: $0.id)! }
            try await gavel.sql { connection in
                try await LotFactory.cloneLots(
                    on: connection, from: template, count: 200, endingIn: 0.5, soldTo: bidders[0], depositors: bidders)
            }
            // Wait for the closer to sell them all, then make every invoice overdue at once.
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, try await gavel.count("invoices") < 200 {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await gavel.count("invoices") == 200)
            try await gavel.sql { connection in
                try await connection.query("UPDATE invoices SET due_at = now() - interval '1 second'", logger: quietLogger)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await PostgresConnection.with(gavel.database, logger: quietLogger) { connection in
                            while true {
                                let done = try await PostgresTransactionError.unwrapping {
                                    try await connection.withTransaction(logger: quietLogger) { connection in
                                        try await Closing().defaultOverdue(limit: 20, in: Session(connection: connection, logger: quietLogger))
                                    }
                                }
                                if done.isEmpty { break }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // The application's closer may hold some and finish them on its next sweep.
            let settle = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < settle, try await gavel.count("invoices WHERE status = 'open'") > 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await gavel.count("invoices WHERE status = 'defaulted'") == 200)
            #expect(try await gavel.count("journal_entries WHERE kind = 'default'") == 200)
            #expect(try await gavel.count("audit_log WHERE action = 'invoice.default'") == 200)
            #expect(try await gavel.count("deposits WHERE status = 'forfeited'") == 200)
            #expect(try await gavel.count("bidder_bars") == 200)
            #expect(try await gavel.count("lot_events WHERE kind = 'closed' AND status = 'defaulted'") == 200)
        }
    }

    @Test("default: not before it is due; then the deposit is forfeited to the case, the buyer barred, the lot relistable; part payments owed back")
    func defaultByFinance() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            #expect(try await sold.pay(500_000).status == .created)
            let path = "/v1/invoices/\(sold.invoiceId)/default"
            let early = try await gavel.request(.post, path, token: sold.open.finance.token)
            #expect(early.status == .conflict)
            #expect(try early.problemCode == "invoice-not-due")
            let defaulted = try await sold.declareDefaultAsItFallsDue()
            #expect(defaulted.status == .ok, "\(defaulted.text)")
            #expect(try defaulted.json["status"] == .string("defaulted"))
            #expect(try await gavel.request(.post, path, token: sold.open.finance.token).problemCode == "invoice-not-open")
            #expect(try await sold.pay(1).problemCode == "invoice-not-open")
            #expect(try await Books.deposits(gavel) == ["forfeited": 590_000, "refund-due": 1_180_000])
            let books = try await Books.balances(gavel)
            #expect(books["case-proceeds"] == -590_000)
            #expect(books["buyer-refunds-payable"] == -500_000)
            #expect(books["buyer-receivables"] == nil)
            #expect(books["platform-fee-revenue"] == nil)
            let lot = try await gavel.request(.get, "/v1/lots/\(sold.open.lotId)", token: gavel.adminToken).json
            #expect(lot["status"] == .string("defaulted"))
            // The next round, where the defaulter may not bid.
            let relist = try await gavel.request(
                .post, "/v1/lots/\(sold.open.lotId)/relist", token: sold.open.disposal.manager.token,
                json: #"{"startsAt": "\#(Disposal.timestamp(-60))", "endsAt": "\#(Disposal.timestamp(86_400))"}"#)
            #expect(relist.status == .created, "\(relist.text)")
            #expect(try relist.json["round"] == .integer(2))
            // Round 2 at the stepped-down prices of test vector B.
            #expect(try relist.json["startingPrice"] == .integer(4_720_000))
            let nextLot = try relist.string("id")
            guard case .integer(let depositAmount) = try relist.json["depositAmount"] else {
                Issue.record("no deposit amount: \(relist.text)")
                return
            }
            let deposit = try await gavel.request(
                .post, "/v1/lots/\(nextLot)/deposits", token: sold.open.finance.token,
                json: #"{"bidderId": "\#(sold.winner.id)", "amount": \#(depositAmount), "reference": "AGAIN"}"#)
            // A barred bidder's money is not taken for the vehicle it defaulted on (issue 13).
            #expect(deposit.status == .forbidden, "\(deposit.text)")
            #expect(try deposit.problemCode == "bidder-barred")
            #expect(try await gavel.count("deposits WHERE reference = 'AGAIN'") == 0)
            let barred = try await gavel.request(
                .post, "/v1/lots/\(nextLot)/bids", token: sold.winner.token, json: #"{"maxAmount": 9000000}"#)
            #expect(try barred.problemCode == "bidder-barred")
        }
    }
}
