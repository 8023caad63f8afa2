import Foundation
import GavelCore
import Logging
import PostgresNIO

public struct StoredInvoice: Sendable, Equatable {
    public var id: UUID
    public var lotId: UUID
    public var caseId: UUID
    public var bidderId: UUID
    public var depositId: UUID?
    public var currency: String
    public var terms: InvoiceTerms
    public var paid: Int64
    public var status: InvoiceBalance.Status
    public var dueAt: Date

    public var balance: InvoiceBalance { InvoiceBalance(amountDue: terms.amountDue, paid: paid, status: status) }
}

public struct Payment: Sendable, Equatable {
    public var id: UUID
    public var amount: Int64
    public var reference: String
    public var receivedOn: CalendarDate

    public init(id: UUID, amount: Int64, reference: String, receivedOn: CalendarDate) {
        self.id = id
        self.amount = amount
        self.reference = reference
        self.receivedOn = receivedOn
    }
}

public enum InvoiceRepository {
    static let columns = """
        id, lot_id, case_id, bidder_id, deposit_id, currency::text AS currency, price, buyer_premium, doc_fee, total,
        deposit_applied, amount_due, paid, status, due_at
        """

    static func decode(_ row: PostgresRandomAccessRow) throws -> StoredInvoice {
        guard let status = InvoiceBalance.Status(rawValue: try row.value("status")) else {
            throw StoredDataCorrupt(description: "invoice status no longer parses")
        }
        return StoredInvoice(
            id: try row.value("id"), lotId: try row.value("lot_id"), caseId: try row.value("case_id"),
            bidderId: try row.value("bidder_id"), depositId: try row.value("deposit_id"), currency: try row.value("currency"),
            terms: InvoiceTerms(
                price: try row.value("price"), buyerPremium: try row.value("buyer_premium"), docFee: try row.value("doc_fee"),
                total: try row.value("total"), depositApplied: try row.value("deposit_applied"),
                amountDue: try row.value("amount_due")),
            paid: try row.value("paid"), status: status, dueAt: try row.value("due_at"))
    }

    public static func find(id: UUID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> StoredInvoice? {
        try await connection.rows(
            "SELECT \(columns) FROM invoices WHERE id = $1" + (forUpdate ? " FOR UPDATE" : ""), id: id, logger: logger, decode
        ).first
    }

    public static func find(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> StoredInvoice? {
        try await connection.rows("SELECT \(columns) FROM invoices WHERE lot_id = $1", id: lotId, logger: logger, decode).first
    }

    /// Invoices the winner of a lot that has just become `sold` (the caller holds the
    /// lot's lock): the winner's held deposit is applied, and the sale and the deposit
    /// are posted. Payment is due `paymentDueDays` after the sale became final (the
    /// close, or a manager's acceptance below the reserve).
    @discardableResult
    public static func issue(lotId: UUID, invoiceId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> StoredInvoice {
        let sale = try await connection.query(
            """
            SELECT l.hammer_price, l.winner_id, l.currency::text, l.consignor_id, v.case_id
            FROM lots l JOIN vehicles v ON v.id = l.vehicle_id WHERE l.id = \(lotId)
            """, logger: logger
        ).collect { row in
            (try row.value("hammer_price", as: Int64?.self), try row.value("winner_id", as: UUID?.self),
             try row.value("currency", as: String.self), try row.value("consignor_id", as: UUID.self),
             try row.value("case_id", as: UUID.self))
        }
        guard let (hammer, winner, currency, consignorId, caseId) = sale.first, let price = hammer, let winner else {
            throw StoredDataCorrupt(description: "lot \(lotId) is sold without a price or a winner")
        }
        let fees = try await ConsignorRepository.policy(of: consignorId, on: connection, logger: logger).fees
        let deposit = try await connection.query(
            """
            SELECT id, amount FROM deposits WHERE lot_id = \(lotId) AND bidder_id = \(winner) AND status = 'held' FOR UPDATE
            """, logger: logger
        ).collect { row in (try row.value("id", as: UUID.self), try row.value("amount", as: Int64.self)) }.first
        guard let terms = InvoiceTerms.forSale(price: price, deposit: deposit?.1 ?? 0, fees: fees) else {
            throw StoredDataCorrupt(description: "lot \(lotId)'s invoice would leave the bounds of an amount")
        }
        try await connection.query(
            """
            INSERT INTO invoices (id, lot_id, case_id, bidder_id, deposit_id, currency, price, buyer_premium, doc_fee, total,
                                  deposit_applied, amount_due, due_at)
            VALUES (\(invoiceId), \(lotId), \(caseId), \(winner), \(deposit?.0), \(currency), \(terms.price), \(terms.buyerPremium),
                    \(terms.docFee), \(terms.total), \(terms.depositApplied), \(terms.amountDue),
                    now() + make_interval(days => \(Int(fees.paymentDueDays))::int))
            """, logger: logger)
        try await LedgerRepository.post(
            Postings.invoiced(invoiceId: invoiceId, caseId: caseId, terms: terms, currency: currency), on: connection, logger: logger)
        if let (depositId, _) = deposit {
            try await connection.query(
                "UPDATE deposits SET status = 'applied', updated_at = now() WHERE id = \(depositId)", logger: logger)
            try await LedgerRepository.post(
                Postings.depositApplied(depositId: depositId, caseId: caseId, amount: terms.depositApplied, currency: currency),
                on: connection, logger: logger)
        }
        guard var invoice = try await find(id: invoiceId, forUpdate: true, on: connection, logger: logger) else {
            throw StoredDataCorrupt(description: "invoice \(invoiceId) vanished")
        }
        if terms.amountDue == 0 {
            // The deposit covered everything: paid at once.
            try await connection.query(
                "UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = \(invoiceId)", logger: logger)
            invoice.status = .paid
            try await completeSale(invoice, fees: fees, on: connection, logger: logger)
        }
        return invoice
    }

    /// Records a payment on an open invoice the caller holds locked.
    public static func recordPayment(
        _ payment: Payment, on invoice: StoredInvoice, recordedBy: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> Result<StoredInvoice, InvoiceBalance.PaymentRefusal> {
        let after: InvoiceBalance
        switch invoice.balance.paying(payment.amount) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let balance): after = balance
        }
        try await connection.query(
            """
            INSERT INTO payments (id, invoice_id, amount, reference, received_on, recorded_by)
            VALUES (\(payment.id), \(invoice.id), \(payment.amount), \(payment.reference), \(payment.receivedOn.description)::date, \(recordedBy))
            """, logger: logger)
        try await connection.query(
            """
            UPDATE invoices SET paid = \(after.paid), status = \(after.status.rawValue),
                                paid_at = CASE WHEN \(after.status.rawValue) = 'paid' THEN now() END
            WHERE id = \(invoice.id)
            """, logger: logger)
        try await LedgerRepository.post(
            Postings.paymentReceived(paymentId: payment.id, caseId: invoice.caseId, amount: payment.amount, currency: invoice.currency),
            on: connection, logger: logger)
        var updated = invoice
        updated.paid = after.paid
        updated.status = after.status
        if after.status == .paid {
            let consignor = try await connection.query(
                "SELECT consignor_id FROM lots WHERE id = \(invoice.lotId)", logger: logger
            ).collect { row in try row.value("consignor_id", as: UUID.self) }
            let fees = try await ConsignorRepository.policy(of: consignor.first ?? UUID(), on: connection, logger: logger).fees
            try await completeSale(updated, fees: fees, on: connection, logger: logger)
        }
        return .success(updated)
    }

    /// Paid in full: the seller fee becomes a case expense and the vehicle is released.
    static func completeSale(_ invoice: StoredInvoice, fees: Policy.Fees, on connection: PostgresConnection, logger: Logger) async throws {
        let fee = InvoiceTerms.sellerFee(price: invoice.terms.price, fees: fees)
        if fee > 0 {
            try await connection.query(
                """
                INSERT INTO expenses (id, case_id, kind, amount, incurred_on, invoice_id)
                VALUES (\(UUID()), \(invoice.caseId), 'seller-fee', \(fee), current_date, \(invoice.id))
                """, logger: logger)
            try await LedgerRepository.post(
                Postings.sellerFee(invoiceId: invoice.id, caseId: invoice.caseId, amount: fee, currency: invoice.currency),
                on: connection, logger: logger)
        }
        try await connection.query(
            """
            UPDATE vehicles SET status = 'sold', released_at = now()
            WHERE id = (SELECT vehicle_id FROM lots WHERE id = \(invoice.lotId))
            """, logger: logger)
    }

    /// The buyer did not pay (the caller holds the invoice's lock and checked it is
    /// open): the deposit is forfeited to the case, the bidder barred from the vehicle,
    /// and the lot becomes `defaulted`, ready to be relisted as the next round.
    public static func markDefaulted(_ invoice: StoredInvoice, on connection: PostgresConnection, logger: Logger) async throws -> StoredInvoice {
        try await connection.query(
            "UPDATE invoices SET status = 'defaulted', defaulted_at = now() WHERE id = \(invoice.id)", logger: logger)
        if let depositId = invoice.depositId {
            try await connection.query(
                "UPDATE deposits SET status = 'forfeited', updated_at = now() WHERE id = \(depositId) AND status = 'applied'",
                logger: logger)
        }
        try await connection.query(
            """
            INSERT INTO bidder_bars (bidder_id, vehicle_id, reason)
            SELECT \(invoice.bidderId), vehicle_id, 'defaulted on invoice ' || \(invoice.id.uuidString.lowercased())
            FROM lots WHERE id = \(invoice.lotId)
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query("UPDATE lots SET status = 'defaulted' WHERE id = \(invoice.lotId)", logger: logger)
        try await LotEventRepository.record(lotId: invoice.lotId, kind: "closed", on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.defaulted(invoiceId: invoice.id, caseId: invoice.caseId, terms: invoice.terms, paid: invoice.paid, currency: invoice.currency),
            on: connection, logger: logger)
        var updated = invoice
        updated.status = .defaulted
        return updated
    }

    /// Defaults open invoices whose due time has passed; several instances share the
    /// work without taking the same invoice twice.
    public static func defaultOverdue(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        var binds = PostgresBindings()
        binds.append(limit)
        let overdue = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(columns) FROM invoices WHERE status = 'open' AND due_at <= now()
                    ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
                    """, binds: binds),
            logger: logger
        ).collect(decode)
        for invoice in overdue {
            _ = try await markDefaulted(invoice, on: connection, logger: logger)
            try await AuditRepository.record(
                AuditRecord(actor: .system("closer"), action: "invoice.default", entityType: "invoice", entityId: invoice.id,
                            before: .object(["status": .string("open")]), after: .object(["status": .string("defaulted")]),
                            requestId: nil),
                on: connection, logger: logger)
        }
        return overdue.map(\.id)
    }
}
