import Foundation
import GavelCore
import HTTPTypes
import PostgresNIO
import Testing

/// A payment is decided in the database (`pay_invoice`, SQL/0033), one round trip, by
/// GavelCore's rules restated in SQL. These hold the two to the same answers: random
/// payments against one invoice, each checked against `InvoiceBalance.paying` (with the
/// currency and date checks before it), the seller fee against `Money.mulBp`, and the
/// audit record's documents against the invoice as the API answers it.
@Suite("Payments decided in the database, by GavelCore's rules")
struct PaymentRuleTests {
    enum Expected: Equatable {
        case paid(InvoiceBalance)
        case refused(status: Int, code: String)
        case invalid(field: String)
    }

    /// GavelCore's answer to a payment, in the order Invoices.pay gives its refusals (an
    /// amount below one is refused by the request's own checks before that).
    static func expected(_ balance: InvoiceBalance, amount: Int64, currency: String?, future: Bool) -> Expected {
        if amount < 1 { return .invalid(field: "amount") }
        if let currency, currency != "CNY" { return .refused(status: 422, code: "currency-mismatch") }
        if future { return .invalid(field: "receivedOn") }
        switch balance.paying(amount) {
        case .success(let next): return .paid(next)
        case .failure(.notOpen): return .refused(status: 409, code: "invoice-not-open")
        case .failure(.notPositive): return .invalid(field: "amount")
        case .failure(.overpayment): return .refused(status: 422, code: "overpayment")
        }
    }

    @Test("random payments: the database's decision is GavelCore's; the seller fee is Money.mulBp's; the audit documents are the answers", arguments: [UInt64(18), 1_033])
    func sameDecisions(seed: UInt64) async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let invoiceId = sold.invoiceId
            guard case .integer(let amountDue)? = sold.invoice["amountDue"], case .integer(let price)? = sold.invoice["price"] else {
                Issue.record("no amounts in \(sold.invoice)")
                return
            }
            var balance = InvoiceBalance(amountDue: amountDue, paid: 0, status: .open)
            var document = sold.invoice
            var random = SeededRandom(seed: seed)
            let tomorrow = CalendarDate(dayNumber: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down)) + 1)
            var paidCount = 0
            for attempt in 0..<30 {
                let outstanding = balance.amountDue - balance.paid
                let amount: Int64 = switch Int.random(in: 0..<8, using: &random) {
                case 0: -Int64.random(in: 0...5, using: &random)
                case 1: outstanding + Int64.random(in: 1...1_000, using: &random)
                case 2, 3: outstanding
                default: Int64.random(in: 1...max(1, outstanding / 3), using: &random)
                }
                let currency: String? = [nil, nil, nil, "CNY", "USD"].randomElement(using: &random)!
                let future = Int.random(in: 0..<10, using: &random) == 0
                let expected = Self.expected(balance, amount: amount, currency: currency, future: future)
                let currencyPart = currency.map { #", "currency": "\#($0)""# } ?? ""
                let reply = try await gavel.request(
                    .post, "/v1/invoices/\(invoiceId)/payments", token: sold.open.finance.token,
                    json: #"{"amount": \#(amount), "reference": "R-\#(attempt)", "receivedOn": "\#(future ? tomorrow.description : "2026-11-20")"\#(currencyPart)}"#)
                let context: Comment = "seed \(seed), attempt \(attempt): \(amount) \(currency ?? "-") future \(future) on \(balance): \(reply.text)"
                switch expected {
                case .paid(let next):
                    #expect(reply.status == .created, context)
                    let answer = try reply.json
                    #expect(answer["paid"] == .integer(next.paid) && answer["status"] == .string(next.status.rawValue), context)
                    #expect(answer["outstanding"] == .integer(next.amountDue - next.paid), context)
                    // The audit record: what the invoice answered before, and what it answers now.
                    let documents = try await Self.lastAudit(gavel, invoiceId)
                    #expect(documents.before == document, context)
                    #expect(documents.after == answer, context)
                    document = answer
                    balance = next
                    paidCount += 1
                case .refused(let status, let code):
                    #expect(reply.status.code == status, context)
                    #expect(try reply.problemCode == code, context)
                case .invalid(let field):
                    #expect(reply.status.code == 422, context)
                    #expect(try reply.json["errors"]?.array?.first?["field"] == .string(field), context)
                }
            }
            #expect(paidCount > 0)
            #expect(try await gavel.count("payments WHERE invoice_id = '\(invoiceId)'") == paidCount)
            // Paid in full: the seller fee is GavelCore's, booked once, and every entry balances.
            #expect(balance.status == .paid, "seed \(seed) never completed the invoice: raise the attempts")
            let feeBp = try await gavel.sql { connection in
                var bp: Int64 = -1
                for try await value in try await connection.query(
                    "SELECT (l.fees ->> 'sellerFeeBp')::bigint FROM invoices i JOIN lots l ON l.id = i.lot_id WHERE i.id = \(UUID(uuidString: invoiceId)!)",
                    logger: quietLogger
                ).decode(Int64.self) { bp = value }
                return bp
            }
            let sellerFee = try #require(Money.mulBp(price, feeBp))
            #expect(try await gavel.count("expenses WHERE invoice_id = '\(invoiceId)' AND kind = 'seller-fee' AND amount = \(sellerFee)") == 1)
            #expect(try await gavel.count("journal_entries WHERE event_key = 'seller-fee:\(invoiceId)'") == 1)
            #expect(try await gavel.count("(SELECT entry_id FROM journal_lines GROUP BY entry_id HAVING sum(debit) <> sum(credit)) x") == 0)
            #expect(try await gavel.count("vehicles WHERE status = 'sold' AND released_at IS NOT NULL") == 1)
        }
    }

    static func lastAudit(_ gavel: Harness, _ invoiceId: String) async throws -> (before: JSONValue?, after: JSONValue?) {
        try await gavel.sql { connection in
            var documents: (JSONValue?, JSONValue?) = (nil, nil)
            for try await (before, after) in try await connection.query(
                """
                SELECT before::text, after::text FROM audit_log
                WHERE action = 'invoice.payment' AND entity_id = \(UUID(uuidString: invoiceId)!) ORDER BY seq DESC LIMIT 1
                """, logger: quietLogger
            ).decode((String?, String?).self) {
                documents = (before.flatMap { JSONValue(parsing: $0.utf8) }, after.flatMap { JSONValue(parsing: $0.utf8) })
            }
            return documents
        }
    }

    @Test("a lot's frozen fees altered outside Gavel: a part payment is taken, the completing one fails with nothing written")
    func unreadableSellerFee() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            try await gavel.sql { connection in
                try await connection.query(
                    """
                    UPDATE lots SET fees = jsonb_set(fees, '{sellerFeeBp}', '20000')
                    WHERE id = (SELECT lot_id FROM invoices WHERE id = \(UUID(uuidString: sold.invoiceId)!))
                    """, logger: quietLogger)
            }
            #expect(try await sold.pay(840_000).status == .created)
            let completing = try await sold.pay(7_000_000)
            #expect(completing.status == .internalServerError, "\(completing.text)")
            #expect(try await gavel.count("payments WHERE invoice_id = '\(sold.invoiceId)'") == 1)
            #expect(try await gavel.count("invoices WHERE id = '\(sold.invoiceId)' AND status = 'open' AND paid = 840000") == 1)
            #expect(try await gavel.count("expenses WHERE kind = 'seller-fee'") == 0)
        }
    }

    @Test("an unknown invoice is 404 and writes nothing")
    func unknownInvoice() async throws {
        try await withGavel { gavel in
            let finance = try await gavel.createUser(.finance)
            let reply = try await gavel.request(
                .post, "/v1/invoices/\(UUID())/payments", token: finance.token,
                json: #"{"amount": 100, "reference": "R", "receivedOn": "2026-11-20"}"#)
            #expect(reply.status == .notFound)
            #expect(try await gavel.count("payments") == 0)
            #expect(try await gavel.count("audit_log WHERE action = 'invoice.payment'") == 0)
        }
    }
}
