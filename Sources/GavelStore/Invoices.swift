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

    public init(
        id: UUID, lotId: UUID, caseId: UUID, bidderId: UUID, depositId: UUID?, currency: String, terms: InvoiceTerms,
        paid: Int64, status: InvoiceBalance.Status, dueAt: Date
    ) {
        self.id = id
        self.lotId = lotId
        self.caseId = caseId
        self.bidderId = bidderId
        self.depositId = depositId
        self.currency = currency
        self.terms = terms
        self.paid = paid
        self.status = status
        self.dueAt = dueAt
    }

    public var balance: InvoiceBalance { InvoiceBalance(amountDue: terms.amountDue, paid: paid, status: status) }
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

    /// A lot that has just become `sold`, as its invoice needs it.
    public struct Sale: Sendable, Equatable {
        public var lotId: UUID
        public var caseId: UUID
        public var winner: UUID
        public var price: Int64
        public var currency: String
        /// The lot's fees, frozen when it was created.
        public var fees: Policy.Fees
    }

    /// The sales of lots that are `sold` (the caller holds their locks), in the order of `lotIds`.
    public static func sales(lotIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [Sale] {
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
             try? FeesDocument.read(try row.value("fees"), ""), try row.value("case_id", as: UUID.self))
        }
        return try rows.map { lotId, hammer, winner, currency, fees, caseId in
            guard let hammer, let winner, let fees else {
                throw StoredDataCorrupt(description: "lot \(lotId) is sold without a price, a winner or readable fees")
            }
            return Sale(lotId: lotId, caseId: caseId, winner: winner, price: hammer, currency: currency, fees: fees)
        }
    }

    /// Stores new invoices in one statement, each due `dueDays[i]` days from the
    /// database's now; answers them with their due times.
    public static func insert(
        _ invoices: [StoredInvoice], dueDays: [Int], on connection: PostgresConnection, logger: Logger
    ) async throws -> [StoredInvoice] {
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
        return try invoices.map { invoice in
            guard let due = dueAt[invoice.id] else { throw StoredDataCorrupt(description: "invoice \(invoice.id) was not stored") }
            var stored = invoice
            stored.dueAt = due
            return stored
        }
    }

    /// The sale completed by the payment in full: the seller fee charged to the case as an
    /// expense (when there is one) and the vehicle released to the buyer.
    public struct Completion: Sendable {
        public var sellerFeeExpenseId: UUID
        public var sellerFee: Int64

        public init(sellerFeeExpenseId: UUID, sellerFee: Int64) {
            self.sellerFeeExpenseId = sellerFeeExpenseId
            self.sellerFee = sellerFee
        }
    }

    /// Writes the balance of an invoice its deposit paid in full, in one statement, with
    /// the sale's completion (payments are `pay`'s).
    public static func writeBalance(
        _ invoice: StoredInvoice, completion: Completion?, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let completes = completion != nil
        try await connection.query(
            """
            WITH expense AS (
                INSERT INTO expenses (id, case_id, kind, amount, incurred_on, invoice_id)
                SELECT \(completion?.sellerFeeExpenseId), \(invoice.caseId), 'seller-fee', \(completion?.sellerFee ?? 0),
                       current_date, \(invoice.id)
                WHERE \(completion?.sellerFee ?? 0) > 0
            ), vehicle AS (
                UPDATE vehicles SET status = 'sold', released_at = now()
                WHERE \(completes) AND id = (SELECT vehicle_id FROM lots WHERE id = \(invoice.lotId))
            )
            UPDATE invoices SET paid = \(invoice.paid), status = \(invoice.status.rawValue),
                                paid_at = CASE WHEN \(completes) THEN now() END
            WHERE id = \(invoice.id)
            """, logger: logger)
    }

    /// What became of a payment sent to `pay`.
    public enum PaymentOutcome: Sendable, Equatable {
        /// Written: the invoice after it.
        case paid(StoredInvoice)
        case noInvoice
        /// The payer named another currency than the invoice's (given).
        case currencyMismatch(invoiceCurrency: String)
        case receivedInFuture
        case notOpen(InvoiceBalance.Status)
        case notPositive
        case overpayment(outstanding: Int64)
    }

    /// A payment in one round trip (`pay_invoice`, SQL/0033): the invoice locked, the
    /// payment checked by GavelCore's rules (currency, date, `InvoiceBalance.paying`) and,
    /// if it passes, written with the invoice's new balance, the sale's completion (the
    /// seller fee from the lot's frozen fees, the vehicle released), the journal entries
    /// and the audit record; refused, nothing is written. Needs no transaction of its own.
    /// `ids` are the payment's, its seller-fee expense's, and its two journal entries'
    /// (the last two used only when the payment completes the sale).
    public static func pay(
        invoiceId: UUID, amount: Int64, reference: String, receivedOn: CalendarDate, currency: String?,
        recordedBy: UUID, ids: (payment: UUID, expense: UUID, paymentEntry: UUID, feeEntry: UUID),
        actor: (id: UUID, name: String), requestId: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> PaymentOutcome {
        let rows = try await connection.query(
            """
            SELECT * FROM pay_invoice(
                \(invoiceId), \(amount), \(reference), \(receivedOn.description)::date, \(currency), \(recordedBy),
                \(ids.payment), \(ids.expense), \(ids.paymentEntry), \(ids.feeEntry), \(actor.id), \(actor.name), \(requestId))
            """, logger: logger
        ).collect { row -> PaymentOutcome in
            let outcome: String = try row.value("outcome")
            if outcome == "no-invoice" { return .noInvoice }
            let invoice = try decode(row)
            switch outcome {
            case "paid": return .paid(invoice)
            case "currency-mismatch": return .currencyMismatch(invoiceCurrency: invoice.currency)
            case "received-in-future": return .receivedInFuture
            case "not-open": return .notOpen(invoice.status)
            case "not-positive": return .notPositive
            case "overpayment": return .overpayment(outstanding: invoice.balance.outstanding)
            case "fees-unreadable":
                throw StoredDataCorrupt(description: "the fees of the lot of invoice \(invoiceId) no longer read: no seller fee in its range")
            default: throw StoredDataCorrupt(description: "pay_invoice answered \(outcome)")
            }
        }
        guard let outcome = rows.first else { throw StoredDataCorrupt(description: "pay_invoice answered nothing") }
        return outcome
    }

    /// An open invoice whose buyer did not pay.
    public static func markDefaulted(id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE invoices SET status = 'defaulted', defaulted_at = now() WHERE id = \(id)", logger: logger)
    }

    /// Open invoices whose due time has passed, locked; several instances share them
    /// without taking the same invoice twice (`SKIP LOCKED`).
    public static func overdue(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [StoredInvoice] {
        var binds = PostgresBindings()
        binds.append(limit)
        return try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(columns) FROM invoices WHERE status = 'open' AND due_at <= now()
                    ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
                    """, binds: binds),
            logger: logger
        ).collect(decode)
    }

    /// Invoices in the order issued, optionally of one status and one buyer, each with
    /// whether it is overdue (open past its due time, by the database's clock).
    public static func list(
        status: InvoiceBalance.Status?, bidderId: UUID?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(StoredInvoice, overdue: Bool, seq: Int64)] {
        try await connection.query(
            """
            SELECT seq, \(unescaped: columns), status = 'open' AND due_at < now() AS overdue FROM invoices
            WHERE seq > \(afterSeq) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
              AND (\(bidderId)::uuid IS NULL OR bidder_id = \(bidderId))
            ORDER BY seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in (try decode(row), try row.value("overdue", as: Bool.self), try row.value("seq", as: Int64.self)) }
    }
}
