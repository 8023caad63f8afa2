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

/// A sale whose invoice would pass the bound of an amount (domain rules section 1):
/// only a lot made or changed outside the API can come to this, since every input is
/// bounded so that no invoice can.
public struct InvoiceOutOfRange: Error, Sendable {
    public var lotId: UUID
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

    /// What a payment needs, in one round trip: the invoice, locked; its lot's frozen fees
    /// (for the seller fee when the payment completes the sale); the database's clock
    /// (a payment is not received in the future).
    public static func findForPayment(
        id: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> (invoice: StoredInvoice, fees: Policy.Fees, now: Date)? {
        try await connection.rows(
            """
            SELECT i.*, l.fees::text AS lot_fees, now() AS database_now
            FROM (SELECT \(columns) FROM invoices WHERE id = $1 FOR UPDATE) i
            JOIN lots l ON l.id = i.lot_id
            """, id: id, logger: logger
        ) { row in
            let fees: Policy.Fees
            do {
                fees = try Policy.Fees.stored(try row.json("lot_fees"))
            } catch {
                throw StoredDataCorrupt(description: "the fees of the lot of invoice \(id) no longer parse")
            }
            return (invoice: try decode(row), fees: fees, now: try row.value("database_now", as: Date.self))
        }.first
    }

    public static func find(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> StoredInvoice? {
        try await connection.rows("SELECT \(columns) FROM invoices WHERE lot_id = $1", id: lotId, logger: logger, decode).first
    }

    /// A lot that has just become `sold`, as its invoice needs it.
    public struct Sale: Sendable, Equatable {
        public var lotId: UUID
        public var invoiceId: UUID
        public var caseId: UUID
        public var winner: UUID
        public var price: Int64
        public var currency: String
        /// The lot's fees, frozen when it was created.
        public var fees: Policy.Fees
    }

    /// The sales of lots that are `sold` (the caller holds their locks), in the order of `lotIds`.
    static func sales(lotIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [Sale] {
        let rows = try await connection.query(
            """
            SELECT l.id, l.hammer_price, l.winner_id, l.currency::text, l.fees::text AS fees, v.case_id
            FROM unnest(\(lotIds)::uuid[]) WITH ORDINALITY AS t (lot_id, n)
            JOIN lots l ON l.id = t.lot_id JOIN vehicles v ON v.id = l.vehicle_id
            ORDER BY t.n
            """, logger: logger
        ).collect { row in
            (try row.value("id", as: UUID.self), try row.value("hammer_price", as: Int64?.self),
             try row.value("winner_id", as: UUID?.self), try row.value("currency", as: String.self),
             try? Policy.Fees.stored(try row.json("fees")), try row.value("case_id", as: UUID.self))
        }
        return try rows.map { lotId, hammer, winner, currency, fees, caseId in
            guard let hammer, let winner, let fees else {
                throw StoredDataCorrupt(description: "lot \(lotId) is sold without a price, a winner or readable fees")
            }
            return Sale(lotId: lotId, invoiceId: Seam.newID(), caseId: caseId, winner: winner, price: hammer, currency: currency,
                        fees: fees)
        }
    }

    /// Invoices the winner of a lot that has just become `sold` (the caller holds the
    /// lot's lock).
    @discardableResult
    public static func issue(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> StoredInvoice {
        let sales = try await sales(lotIds: [lotId], on: connection, logger: logger)
        guard let invoice = try await issue(sales, on: connection, logger: logger).first else {
            throw StoredDataCorrupt(description: "lot \(lotId) vanished while being invoiced")
        }
        return invoice
    }

    /// Invoices the winners of lots that have just become `sold`, in a few statements
    /// whatever their number: each winner's held deposit is applied, and the sale and
    /// the deposit are posted. Payment is due `paymentDueDays` after the sale became
    /// final (the close, or a manager's acceptance below the reserve).
    public static func issue(_ sales: [Sale], on connection: PostgresConnection, logger: Logger) async throws -> [StoredInvoice] {
        guard !sales.isEmpty else { return [] }
        var deposits: [UUID: (id: UUID, amount: Int64)] = [:]
        let depositRows = try await connection.query(
            """
            SELECT d.lot_id, d.id, d.amount FROM deposits d
            JOIN unnest(\(sales.map(\.lotId))::uuid[], \(sales.map(\.winner))::uuid[]) AS t (lot_id, bidder_id)
              ON d.lot_id = t.lot_id AND d.bidder_id = t.bidder_id
            WHERE d.status = 'held' FOR UPDATE OF d
            """, logger: logger)
        for try await (lotId, id, amount) in depositRows.decode((UUID, UUID, Int64).self) { deposits[lotId] = (id, amount) }

        var invoices: [StoredInvoice] = []
        var dueDays: [Int] = []
        var entries: [JournalEntry] = []
        for sale in sales {
            let deposit = deposits[sale.lotId]
            guard let terms = InvoiceTerms.forSale(price: sale.price, deposit: deposit?.amount ?? 0, fees: sale.fees) else {
                throw InvoiceOutOfRange(lotId: sale.lotId)
            }
            invoices.append(StoredInvoice(
                id: sale.invoiceId, lotId: sale.lotId, caseId: sale.caseId, bidderId: sale.winner, depositId: deposit?.id,
                currency: sale.currency, terms: terms, paid: 0, status: .open, dueAt: Seam.now()))
            dueDays.append(Int(sale.fees.paymentDueDays))
            entries.append(Postings.invoiced(invoiceId: sale.invoiceId, caseId: sale.caseId, terms: terms, currency: sale.currency))
            if let deposit {
                entries.append(Postings.depositApplied(
                    depositId: deposit.id, caseId: sale.caseId, amount: terms.depositApplied, currency: sale.currency))
            }
        }
        let dueRows = try await connection.query(
            """
            INSERT INTO invoices (id, lot_id, case_id, bidder_id, deposit_id, currency, price, buyer_premium, doc_fee, total,
                                  deposit_applied, amount_due, due_at)
            SELECT t.id, t.lot_id, t.case_id, t.bidder_id, NULLIF(t.deposit_id, '')::uuid, t.currency, t.price, t.buyer_premium,
                   t.doc_fee, t.total, t.deposit_applied, t.amount_due, now() + make_interval(days => t.due_days::int)
            FROM unnest(\(invoices.map(\.id))::uuid[], \(invoices.map(\.lotId))::uuid[], \(invoices.map(\.caseId))::uuid[],
                        \(invoices.map(\.bidderId))::uuid[], \(invoices.map { $0.depositId?.uuidString ?? "" })::text[],
                        \(invoices.map(\.currency))::text[], \(invoices.map(\.terms.price))::bigint[],
                        \(invoices.map(\.terms.buyerPremium))::bigint[], \(invoices.map(\.terms.docFee))::bigint[],
                        \(invoices.map(\.terms.total))::bigint[], \(invoices.map(\.terms.depositApplied))::bigint[],
                        \(invoices.map(\.terms.amountDue))::bigint[], \(dueDays)::bigint[])
                 AS t (id, lot_id, case_id, bidder_id, deposit_id, currency, price, buyer_premium, doc_fee, total,
                       deposit_applied, amount_due, due_days)
            RETURNING id, due_at
            """, logger: logger)
        var dueAt: [UUID: Date] = [:]
        for try await (id, due) in dueRows.decode((UUID, Date).self) { dueAt[id] = due }
        try await LedgerRepository.post(entries, on: connection, logger: logger)
        let applied = invoices.compactMap(\.depositId)
        if !applied.isEmpty {
            try await connection.query(
                "UPDATE deposits SET status = 'applied', updated_at = now() WHERE id = ANY(\(applied)::uuid[])", logger: logger)
        }
        for index in invoices.indices {
            guard let due = dueAt[invoices[index].id] else {
                throw StoredDataCorrupt(description: "invoice \(invoices[index].id) was not stored")
            }
            invoices[index].dueAt = due
            guard invoices[index].terms.amountDue == 0 else { continue }
            // The deposit covered everything: paid at once.
            invoices[index].status = .paid
            try await writeBalance(
                invoices[index], payment: nil, fees: sales[index].fees, on: connection,
                logger: logger)
        }
        return invoices
    }

    /// Records a payment on an open invoice the caller holds locked; `fees` are its
    /// consignor's (the seller fee, when the payment completes the sale).
    public static func recordPayment(
        _ payment: Payment, on invoice: StoredInvoice, fees: Policy.Fees, recordedBy: UUID, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Result<StoredInvoice, InvoiceBalance.PaymentRefusal> {
        let after: InvoiceBalance
        switch invoice.balance.paying(payment.amount) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let balance): after = balance
        }
        var updated = invoice
        updated.paid = after.paid
        updated.status = after.status
        try await writeBalance(updated, payment: (payment, recordedBy), fees: fees, on: connection, logger: logger)
        return .success(updated)
    }

    /// Writes an invoice's new balance in one statement, with the payment that made it
    /// (if any) and, once it is paid in full, the sale's completion: the seller fee as a
    /// case expense and the vehicle released. Then posts the payment and the seller fee.
    static func writeBalance(
        _ invoice: StoredInvoice, payment: (Payment, recordedBy: UUID)?, fees: Policy.Fees, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let completes = invoice.status == .paid
        let fee = completes ? InvoiceTerms.sellerFee(price: invoice.terms.price, fees: fees) : 0
        let received = payment?.0
        try await connection.query(
            """
            WITH payment AS (
                INSERT INTO payments (id, invoice_id, amount, reference, received_on, recorded_by)
                SELECT \(received?.id), \(invoice.id), \(received?.amount), \(received?.reference),
                       \(received?.receivedOn.description)::date, \(payment?.recordedBy)
                WHERE \(received?.id)::uuid IS NOT NULL
            ), expense AS (
                INSERT INTO expenses (id, case_id, kind, amount, incurred_on, invoice_id)
                SELECT \(Seam.newID()), \(invoice.caseId), 'seller-fee', \(fee), current_date, \(invoice.id) WHERE \(fee) > 0
            ), vehicle AS (
                UPDATE vehicles SET status = 'sold', released_at = now()
                WHERE \(completes) AND id = (SELECT vehicle_id FROM lots WHERE id = \(invoice.lotId))
            )
            UPDATE invoices SET paid = \(invoice.paid), status = \(invoice.status.rawValue),
                                paid_at = CASE WHEN \(completes) THEN now() END
            WHERE id = \(invoice.id)
            """, logger: logger)
        var entries: [JournalEntry] = []
        if let received {
            entries.append(Postings.paymentReceived(
                paymentId: received.id, caseId: invoice.caseId, amount: received.amount, currency: invoice.currency))
        }
        if fee > 0 {
            entries.append(Postings.sellerFee(invoiceId: invoice.id, caseId: invoice.caseId, amount: fee, currency: invoice.currency))
        }
        try await LedgerRepository.post(entries, on: connection, logger: logger)
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
        try await LotEventRepository.record(lotId: invoice.lotId, kind: .closed, on: connection, logger: logger)
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
