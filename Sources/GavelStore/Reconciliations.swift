import Foundation
import GavelCore
import Logging
import PostgresNIO

/// A bank line as read from an upload, before it is stored.
public struct UploadedBankLine: Sendable, Equatable {
    public var lineNumber: Int
    public var date: CalendarDate
    public var amount: Int64
    public var reference: String
    public var counterparty: String
    /// Identical lines in one file are distinct transactions: the n-th of them is n.
    public var occurrence: Int

    public init(lineNumber: Int, date: CalendarDate, amount: Int64, reference: String, counterparty: String, occurrence: Int) {
        self.lineNumber = lineNumber
        self.date = date
        self.amount = amount
        self.reference = reference
        self.counterparty = counterparty
        self.occurrence = occurrence
    }

    public var fingerprint: String {
        APIToken.sha256Hex("\(date)|\(amount)|\(reference)|\(counterparty)")
    }
}

public struct StoredBankLine: Sendable, Equatable {
    public var line: Reconciliation.BankLine
    public var lineNumber: Int
    public var uploadId: UUID
}

public enum ReconciliationRepository {
    /// Uploads are reconciled one at a time: two at once could match one item twice.
    public static func lock(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('gavel.reconciliation'))", logger: logger)
    }

    /// Stores the lines not stored before; returns the line numbers that were.
    public static func store(
        _ lines: [UploadedBankLine], uploadId: UUID, currency: String, uploadedBy: UUID,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        var already: [Int] = []
        for line in lines {
            let inserted = try await connection.query(
                """
                INSERT INTO bank_lines (id, upload_id, line_no, currency, booked_on, amount, reference, counterparty,
                                        fingerprint, occurrence, uploaded_by)
                VALUES (\(Seam.newID()), \(uploadId), \(line.lineNumber), \(currency), \(line.date.description)::date, \(line.amount),
                        \(line.reference), \(line.counterparty), \(line.fingerprint), \(line.occurrence), \(uploadedBy))
                ON CONFLICT (currency, fingerprint, occurrence) DO NOTHING
                RETURNING id
                """, logger: logger
            ).collect { row in try row.value("id", as: UUID.self) }
            if inserted.isEmpty { already.append(line.lineNumber) }
        }
        return already
    }

    /// Bank lines of the currency that no match has taken yet, oldest first.
    public static func unmatchedLines(currency: String, on connection: PostgresConnection, logger: Logger) async throws -> [StoredBankLine] {
        try await connection.query(
            """
            SELECT b.id, b.booked_on::text AS booked_on, b.amount, b.reference, b.counterparty, b.line_no, b.upload_id
            FROM bank_lines b
            WHERE b.currency = \(currency) AND NOT EXISTS (SELECT 1 FROM reconciliation_matches m WHERE m.bank_line_id = b.id)
            ORDER BY b.seq
            """, logger: logger
        ).collect { row in
            guard let date = CalendarDate(iso: try row.value("booked_on")) else {
                throw StoredDataCorrupt(description: "a bank line's date no longer parses")
            }
            return StoredBankLine(
                line: Reconciliation.BankLine(
                    id: try row.value("id"), date: date, amount: try row.value("amount"), reference: try row.value("reference"),
                    counterparty: try row.value("counterparty")),
                lineNumber: try row.value("line_no"), uploadId: try row.value("upload_id"))
        }
    }

    /// Receipts and payouts in the books of the currency that no bank line matched yet:
    /// deposits received and refunded, buyers' payments, surpluses paid out, deficiency
    /// recoveries, the borrower's and the consignor's payments, redemptions, and payouts.
    public static func unmatchedItems(currency: String, on connection: PostgresConnection, logger: Logger) async throws -> [Reconciliation.BookItem] {
        try await connection.query(
            """
            SELECT kind, id, day::text AS day, amount, reference FROM (
                SELECT 'deposit' AS kind, d.id, d.created_at::date AS day, d.amount::bigint AS amount, d.reference, d.seq AS o
                FROM deposits d JOIN lots l ON l.id = d.lot_id WHERE l.currency = \(currency)
                UNION ALL
                SELECT 'payment', p.id, p.received_on, p.amount::bigint, p.reference, p.seq
                FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.currency = \(currency)
                UNION ALL
                SELECT 'deposit-refund', d.id, d.refunded_at::date, -d.amount::bigint, d.payout_reference, d.seq
                FROM deposits d JOIN lots l ON l.id = d.lot_id WHERE l.currency = \(currency) AND d.status = 'refunded'
                UNION ALL
                SELECT 'surplus-payout', r.id, COALESCE(r.paid_on, r.paid_at::date), -r.amount::bigint, r.payout_reference, r.seq
                FROM surplus_refunds r WHERE r.currency = \(currency) AND r.status = 'paid'
                UNION ALL
                SELECT 'deficiency-recovery', v.id, v.received_on, v.amount::bigint, v.reference, v.seq
                FROM deficiency_recoveries v JOIN deficiency_claims c ON c.id = v.claim_id WHERE c.currency = \(currency)
                UNION ALL
                SELECT 'case-receipt', r.id, r.received_on, r.amount::bigint, r.reference, r.seq
                FROM case_receipts r WHERE r.currency = \(currency)
                UNION ALL
                SELECT 'payout', p.id, p.paid_on, -p.amount::bigint, p.reference, p.seq
                FROM payouts p WHERE p.currency = \(currency)
            ) items
            WHERE NOT EXISTS (SELECT 1 FROM reconciliation_matches m WHERE m.book_kind = items.kind AND m.book_id = items.id)
            ORDER BY day, kind, o
            """, logger: logger
        ).collect { row in
            guard let day = CalendarDate(iso: try row.value("day")) else {
                throw StoredDataCorrupt(description: "a book item's date no longer parses")
            }
            return Reconciliation.BookItem(
                kind: try row.value("kind"), id: try row.value("id"), date: day, amount: try row.value("amount"),
                reference: try row.value("reference"))
        }
    }

    public static func record(_ matches: [Reconciliation.Match], on connection: PostgresConnection, logger: Logger) async throws {
        for match in matches {
            try await connection.query(
                """
                INSERT INTO reconciliation_matches (bank_line_id, book_kind, book_id, rule)
                VALUES (\(match.line.id), \(match.item.kind), \(match.item.id), \(match.rule.rawValue))
                """, logger: logger)
        }
    }
}
