import Foundation
import GavelCore
import Logging
import PostgresNIO

/// Money a case received other than a buyer's payment.
public struct CaseReceipt: Sendable, Equatable {
    public var id: UUID
    public var caseId: UUID
    public var kind: CaseReceiptKind
    public var currency: String
    public var amount: Int64
    public var reference: String
    public var receivedOn: CalendarDate

    public init(
        id: UUID, caseId: UUID, kind: CaseReceiptKind, currency: String, amount: Int64, reference: String,
        receivedOn: CalendarDate
    ) {
        self.id = id
        self.caseId = caseId
        self.kind = kind
        self.currency = currency
        self.amount = amount
        self.reference = reference
        self.receivedOn = receivedOn
    }
}

/// Money paid out of what a case owes.
public struct Payout: Sendable, Equatable {
    public var id: UUID
    public var caseId: UUID
    public var kind: PayoutKind
    public var payee: String
    public var currency: String
    public var amount: Int64
    public var reference: String
    public var paidOn: CalendarDate

    public init(
        id: UUID, caseId: UUID, kind: PayoutKind, payee: String, currency: String, amount: Int64, reference: String,
        paidOn: CalendarDate
    ) {
        self.id = id
        self.caseId = caseId
        self.kind = kind
        self.payee = payee
        self.currency = currency
        self.amount = amount
        self.reference = reference
        self.paidOn = paidOn
    }
}

/// What a case still owes one payee of one kind. `kind` is a payout kind, or
/// `surplus-refund` for a surplus owed to the borrower (paid through its own route), or
/// `consignor-receivable` for what the consignor owes the case.
public struct Payable: Sendable, Equatable {
    public var kind: String
    public var payee: String
    public var caseId: UUID
    public var currency: String
    public var amount: Int64
    /// The surplus refund to pay, for kind `surplus-refund`.
    public var refundId: UUID?
}

/// A buyer's payment on one of a case's invoices, as the case's payments list shows it.
public struct CasePayment: Sendable, Equatable {
    public var id: UUID
    public var kind: String
    public var invoiceId: UUID?
    public var amount: Int64
    public var reference: String
    public var receivedOn: CalendarDate
}

public enum CaseMoneyRepository {
    public static func insertReceipt(_ receipt: CaseReceipt, recordedBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO case_receipts (id, case_id, kind, currency, amount, reference, received_on, recorded_by)
            VALUES (\(receipt.id), \(receipt.caseId), \(receipt.kind.rawValue), \(receipt.currency), \(receipt.amount),
                    \(receipt.reference), \(receipt.receivedOn.description)::date, \(recordedBy))
            """, logger: logger)
    }

    public static func receipts(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [CaseReceipt] {
        try await connection.query(
            """
            SELECT id, case_id, kind, currency::text AS currency, amount, reference, received_on::text AS received_on
            FROM case_receipts WHERE case_id = \(caseId) ORDER BY seq
            """, logger: logger
        ).collect { row in
            CaseReceipt(
                id: try row.value("id"), caseId: try row.value("case_id"), kind: try row.enumValue("kind"),
                currency: try row.value("currency"), amount: try row.value("amount"), reference: try row.value("reference"),
                receivedOn: try row.calendarDate("received_on"))
        }
    }

    /// Every payment the case received, oldest first: buyers' payments on its invoices,
    /// the borrower's, a redemption, the consignor's.
    public static func payments(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [CasePayment] {
        try await connection.query(
            """
            SELECT id, kind, invoice_id, amount, reference, received_on::text AS received_on FROM (
                SELECT p.id, 'invoice-payment' AS kind, p.invoice_id, p.amount, p.reference, p.received_on, p.created_at, p.seq
                FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.case_id = \(caseId)
                UNION ALL
                SELECT r.id, r.kind, NULL::uuid, r.amount, r.reference, r.received_on, r.created_at, r.seq
                FROM case_receipts r WHERE r.case_id = \(caseId)
            ) received ORDER BY created_at, seq
            """, logger: logger
        ).collect { row in
            CasePayment(
                id: try row.value("id"), kind: try row.value("kind"), invoiceId: try row.value("invoice_id"),
                amount: try row.value("amount"), reference: try row.value("reference"),
                receivedOn: try row.calendarDate("received_on"))
        }
    }

    public static func insertPayout(_ payout: Payout, recordedBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO payouts (id, case_id, kind, payee, currency, amount, reference, paid_on, recorded_by)
            VALUES (\(payout.id), \(payout.caseId), \(payout.kind.rawValue), \(payout.payee), \(payout.currency), \(payout.amount),
                    \(payout.reference), \(payout.paidOn.description)::date, \(recordedBy))
            """, logger: logger)
    }

    static let payoutColumns = """
        id, case_id, kind, payee, currency::text AS currency, amount, reference, paid_on::text AS paid_on
        """

    static func decodePayout(_ row: PostgresRandomAccessRow) throws -> Payout {
        Payout(
            id: try row.value("id"), caseId: try row.value("case_id"), kind: try row.enumValue("kind"), payee: try row.value("payee"),
            currency: try row.value("currency"), amount: try row.value("amount"), reference: try row.value("reference"),
            paidOn: try row.calendarDate("paid_on"))
    }

    /// Payouts in the order recorded, optionally of one case and one kind.
    public static func payouts(
        caseId: UUID?, kind: PayoutKind?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(Payout, Int64)] {
        try await connection.query(
            """
            SELECT seq, \(unescaped: payoutColumns) FROM payouts
            WHERE seq > \(afterSeq) AND (\(caseId)::uuid IS NULL OR case_id = \(caseId))
              AND (\(kind?.rawValue)::text IS NULL OR kind = \(kind?.rawValue))
            ORDER BY seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in (try decodePayout(row), try row.value("seq", as: Int64.self)) }
    }

    /// Whether a consignor or lienholder payout was recorded on the case after `since`:
    /// money moved on a statement issued then.
    public static func paidOutSince(_ since: Date, caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var found = false
        for try await _ in try await connection.query(
            """
            SELECT 1 FROM payouts WHERE case_id = \(caseId) AND kind IN ('consignor', 'lienholder') AND created_at >= \(since) LIMIT 1
            """, logger: logger
        ) { found = true }
        return found
    }

    /// What each of the case's accounts holds (debits less credits), over the case's entries.
    /// The lines are read per entry (`OFFSET 0` keeps the planner from hashing the whole
    /// journal, as it did when statistics lagged behind a burst of settlements).
    public static func accountNets(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [String: Int64] {
        var nets: [String: Int64] = [:]
        for try await (account, net) in try await connection.query(
            """
            SELECT l.account, sum(l.debit - l.credit)::bigint
            FROM journal_entries e CROSS JOIN LATERAL (SELECT account, debit, credit FROM journal_lines WHERE entry_id = e.id OFFSET 0) l
            WHERE e.case_id = \(caseId) GROUP BY l.account
            """, logger: logger
        ).decode((String, Int64).self) { nets[account] = net }
        return nets
    }

    /// Open balances by kind and payee, of one case or of every case; largest debts are
    /// not singled out: the order is case, kind, payee.
    ///
    /// - consignor: what `consignor-payable` holds for the case (the statement's lender
    ///   share, borrower payments, deficiency recoveries, less payouts);
    /// - lienholder: each junior's distribution in the case's final statement, less payouts;
    /// - vendor: the case's expenses other than the seller fee by vendor (or kind), less payouts;
    /// - buyer-refund: part payments on the case's defaulted invoices by buyer, less payouts;
    /// - surplus-refund: a pending surplus refund;
    /// - consignor-receivable: the other way round, what the consignor owes the case
    ///   (collected by a consignor payment).
    public static func payables(caseId: UUID?, on connection: PostgresConnection, logger: Logger) async throws -> [Payable] {
        try await connection.query(
            """
            WITH paid AS (
                SELECT case_id, kind, payee, sum(amount) AS amount FROM payouts
                WHERE \(caseId)::uuid IS NULL OR case_id = \(caseId) GROUP BY case_id, kind, payee
            ), owed AS (
                SELECT e.case_id, 'consignor' AS kind, c.name AS payee, sum(l.credit - l.debit) AS amount
                FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
                JOIN cases k ON k.id = e.case_id JOIN consignors c ON c.id = k.consignor_id
                -- Payouts are subtracted below with every other kind's, not here.
                WHERE l.account = 'consignor-payable' AND e.kind <> 'payout'
                  AND (\(caseId)::uuid IS NULL OR e.case_id = \(caseId))
                GROUP BY e.case_id, c.name
                UNION ALL
                SELECT s.case_id, 'lienholder', j ->> 'name', sum((j ->> 'amount')::bigint)
                FROM settlement_statements s CROSS JOIN LATERAL jsonb_array_elements(s.body -> 'juniorDistributions') j
                WHERE s.status = 'final' AND (\(caseId)::uuid IS NULL OR s.case_id = \(caseId))
                GROUP BY s.case_id, j ->> 'name'
                UNION ALL
                SELECT x.case_id, 'vendor', COALESCE(x.vendor, x.kind), sum(x.amount)
                FROM expenses x WHERE x.kind <> 'seller-fee' AND (\(caseId)::uuid IS NULL OR x.case_id = \(caseId))
                GROUP BY x.case_id, COALESCE(x.vendor, x.kind)
                UNION ALL
                SELECT i.case_id, 'buyer-refund', i.bidder_id::text, sum(i.paid)
                FROM invoices i WHERE i.status = 'defaulted' AND i.paid > 0 AND (\(caseId)::uuid IS NULL OR i.case_id = \(caseId))
                GROUP BY i.case_id, i.bidder_id
            ), balances AS (
                SELECT o.case_id, o.kind, o.payee, (sum(o.amount) - COALESCE(max(p.amount), 0))::bigint AS amount, NULL::uuid AS refund_id
                FROM owed o LEFT JOIN paid p ON p.case_id = o.case_id AND p.kind = o.kind AND p.payee = o.payee
                GROUP BY o.case_id, o.kind, o.payee
                UNION ALL
                SELECT r.case_id, 'surplus-refund', r.borrower, r.amount::bigint, r.id
                FROM surplus_refunds r WHERE r.status = 'pending' AND (\(caseId)::uuid IS NULL OR r.case_id = \(caseId))
                UNION ALL
                -- Not a payable but the other way: what the consignor owes its case.
                SELECT e.case_id, 'consignor-receivable', c.name, sum(l.debit - l.credit)::bigint, NULL::uuid
                FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
                JOIN cases k ON k.id = e.case_id JOIN consignors c ON c.id = k.consignor_id
                WHERE l.account = 'consignor-receivable' AND (\(caseId)::uuid IS NULL OR e.case_id = \(caseId))
                GROUP BY e.case_id, c.name
            )
            SELECT b.case_id, b.kind, b.payee, b.amount, b.refund_id,
                   (SELECT c.currency::text FROM cases k JOIN consignors c ON c.id = k.consignor_id WHERE k.id = b.case_id) AS currency
            FROM balances b WHERE b.amount <> 0
            ORDER BY (SELECT seq FROM cases WHERE id = b.case_id), b.kind, b.payee
            """, logger: logger
        ).collect { row in
            Payable(
                kind: try row.value("kind"), payee: try row.value("payee"), caseId: try row.value("case_id"),
                currency: try row.value("currency"), amount: try row.value("amount"), refundId: try row.value("refund_id"))
        }
    }

    /// What the consignor owes its case (`consignor-receivable`), less nothing: the
    /// consignor's payments are credited to that account.
    public static func consignorOwes(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await accountNets(caseId: caseId, on: connection, logger: logger)[Account.consignorReceivable.description] ?? 0
    }
}

/// A case settled in a remittance period, as its statement allocated the proceeds.
public struct RemittedCase: Sendable {
    public var caseId: UUID
    public var loanNumber: String
    public var caseStatus: String
    public var statementId: UUID
    public var kind: StatementKind
    public var settlementDate: CalendarDate
    /// The statement as issued.
    public var body: JSONValue
}

/// A payout or a payment of a remittance period, with its case's loan number.
public struct RemittedMoney: Sendable {
    public var id: UUID
    public var caseId: UUID
    public var loanNumber: String
    public var amount: Int64
    public var reference: String
    public var on: CalendarDate
}

public enum RemittanceRepository {
    /// The consignor's cases whose final statement is dated in the period, in date order.
    public static func settled(
        consignorId: UUID, from: CalendarDate, to: CalendarDate, on connection: PostgresConnection, logger: Logger
    ) async throws -> [RemittedCase] {
        try await connection.query(
            """
            SELECT s.case_id, c.loan_number, case_effective_status(c.id, c.status) AS case_status, s.id AS statement_id, s.kind,
                   s.settlement_date::text AS settlement_date, s.body::text AS body
            FROM settlement_statements s JOIN cases c ON c.id = s.case_id
            WHERE c.consignor_id = \(consignorId) AND s.status = 'final'
              AND s.settlement_date BETWEEN \(from.description)::date AND \(to.description)::date
            ORDER BY s.settlement_date, c.loan_number
            """, logger: logger
        ).collect { row in
            RemittedCase(
                caseId: try row.value("case_id"), loanNumber: try row.value("loan_number"), caseStatus: try row.value("case_status"),
                statementId: try row.value("statement_id"), kind: try row.enumValue("kind"),
                settlementDate: try row.calendarDate("settlement_date"), body: try row.json("body"))
        }
    }

    /// What was paid out to the consignor in the period (`consignor` payouts).
    public static func remitted(
        consignorId: UUID, from: CalendarDate, to: CalendarDate, on connection: PostgresConnection, logger: Logger
    ) async throws -> [RemittedMoney] {
        try await money(
            """
            SELECT p.id, p.case_id, c.loan_number, p.amount, p.reference, p.paid_on::text AS day
            FROM payouts p JOIN cases c ON c.id = p.case_id
            WHERE c.consignor_id = $1 AND p.kind = 'consignor' AND p.paid_on BETWEEN $2::date AND $3::date
            ORDER BY p.paid_on, p.seq
            """, consignorId: consignorId, from: from, to: to, on: connection, logger: logger)
    }

    /// What the consignor paid its cases in the period (expenses its proceeds did not cover).
    public static func received(
        consignorId: UUID, from: CalendarDate, to: CalendarDate, on connection: PostgresConnection, logger: Logger
    ) async throws -> [RemittedMoney] {
        try await money(
            """
            SELECT r.id, r.case_id, c.loan_number, r.amount, r.reference, r.received_on::text AS day
            FROM case_receipts r JOIN cases c ON c.id = r.case_id
            WHERE c.consignor_id = $1 AND r.kind = 'consignor-payment' AND r.received_on BETWEEN $2::date AND $3::date
            ORDER BY r.received_on, r.seq
            """, consignorId: consignorId, from: from, to: to, on: connection, logger: logger)
    }

    static func money(
        _ sql: String, consignorId: UUID, from: CalendarDate, to: CalendarDate, on connection: PostgresConnection, logger: Logger
    ) async throws -> [RemittedMoney] {
        var binds = PostgresBindings()
        binds.append(consignorId)
        binds.append(from.description)
        binds.append(to.description)
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect { row in
            RemittedMoney(
                id: try row.value("id"), caseId: try row.value("case_id"), loanNumber: try row.value("loan_number"),
                amount: try row.value("amount"), reference: try row.value("reference"), on: try row.calendarDate("day"))
        }
    }
}

public enum CaseImportRepository {
    /// Imports of one consignor are taken one at a time, so that one file sent twice at
    /// once imports once.
    public static func lock(consignorId: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtext('gavel.case-import'), hashtext(\(consignorId.uuidString.lowercased())))",
            logger: logger)
    }

    /// What the import of this file answered, if it was imported before.
    public static func answer(consignorId: UUID, fileSHA256: String, on connection: PostgresConnection, logger: Logger) async throws -> JSONValue? {
        try await connection.query(
            "SELECT answer::text AS answer FROM case_imports WHERE consignor_id = \(consignorId) AND file_sha256 = \(fileSHA256)",
            logger: logger
        ).collect { row in try row.json("answer") }.first
    }

    public static func record(
        consignorId: UUID, fileSHA256: String, answer: JSONValue, importedBy: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO case_imports (consignor_id, file_sha256, answer, imported_by)
            VALUES (\(consignorId), \(fileSHA256), \(JSONText.encode(answer))::jsonb, \(importedBy))
            """, logger: logger)
    }
}
