import Foundation
import GavelCore
import Logging
import PostgresNIO

public struct PostedEntry: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var account: String
        public var debit: Int64
        public var credit: Int64
    }

    public var id: UUID
    public var eventKey: String
    public var kind: String
    public var caseId: UUID?
    public var currency: String
    public var memo: String
    public var postedAt: Date
    public var lines: [Line]
}

public struct TrialBalanceRow: Sendable, Equatable {
    public var account: String
    public var currency: String
    public var debit: Int64
    public var credit: Int64
}

public struct UnbalancedEntry: Error, CustomStringConvertible {
    public let description: String
}

public enum LedgerRepository {
    /// Posts one entry inside the caller's transaction, so it commits or vanishes with
    /// the business change it records. A second posting of the same event fails on the
    /// unique event key; an unbalanced one is refused here and again by the database.
    public static func post(_ entry: JournalEntry, on connection: PostgresConnection, logger: Logger) async throws {
        try await post([entry], on: connection, logger: logger)
    }

    /// Posts several entries in one statement, whatever their number (the closer
    /// posts a batch of sales at once).
    public static func post(_ entries: [JournalEntry], on connection: PostgresConnection, logger: Logger) async throws {
        guard !entries.isEmpty else { return }
        let rows = try Rows(balanced: entries)
        // One statement for the entries and their lines (the lines' foreign key is
        // checked at the statement's end, after the entries are in). PostgresNIO has no
        // arrays of optionals: a case-less entry travels as ''.
        try await connection.query(
            """
            WITH entries AS (
                INSERT INTO journal_entries (id, event_key, kind, case_id, currency, memo)
                SELECT t.id, t.event_key, t.kind, NULLIF(t.case_id, '')::uuid, t.currency, t.memo
                FROM unnest(\(rows.ids)::uuid[], \(rows.eventKeys)::text[], \(rows.kinds)::text[], \(rows.caseIds)::text[],
                            \(rows.currencies)::text[], \(rows.memos)::text[]) AS t (id, event_key, kind, case_id, currency, memo)
            )
            INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
            SELECT * FROM unnest(\(rows.lineEntryIds)::uuid[], \(rows.lineNumbers)::integer[], \(rows.accounts)::text[],
                                 \(rows.debits)::bigint[], \(rows.credits)::bigint[])
            """, logger: logger)
    }

    /// Entries as the columns of their rows, for a statement that inserts them with other
    /// writes (`journal_entries` from the first six, `journal_lines` from the rest).
    public struct Rows: Sendable {
        public var ids: [UUID] = [], eventKeys: [String] = [], kinds: [String] = [], caseIds: [String] = []
        public var currencies: [String] = [], memos: [String] = []
        public var lineEntryIds: [UUID] = [], lineNumbers: [Int] = [], accounts: [String] = [], debits: [Int64] = []
        public var credits: [Int64] = []

        /// The rows of entries that each balance; an unbalanced one is refused here (and
        /// again by the database at commit).
        public init(balanced entries: [JournalEntry]) throws {
            for entry in entries where !entry.isBalanced {
                throw UnbalancedEntry(description: "refusing to post unbalanced \(entry.eventKey): \(entry.lines)")
            }
            for entry in entries {
                let id = Seam.newID()
                ids.append(id)
                eventKeys.append(entry.eventKey)
                kinds.append(entry.kind)
                caseIds.append(entry.caseId?.uuidString ?? "")
                currencies.append(entry.currency)
                memos.append(entry.memo)
                for (number, line) in entry.lines.enumerated() {
                    lineEntryIds.append(id)
                    lineNumbers.append(number + 1)
                    accounts.append(line.account.description)
                    debits.append(line.debit)
                    credits.append(line.credit)
                }
            }
        }
    }

    /// A correction: posts the entry `eventKey` again with debits and credits swapped,
    /// under `newKey`. Nothing happens when there is no such entry (nothing was posted).
    public static func reverse(
        eventKey: String, as newKey: String, kind: String, memo: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let id = Seam.newID()
        let inserted = try await connection.query(
            """
            INSERT INTO journal_entries (id, event_key, kind, case_id, currency, memo)
            SELECT \(id), \(newKey), \(kind), case_id, currency, \(memo) FROM journal_entries WHERE event_key = \(eventKey)
            RETURNING id
            """, logger: logger
        ).collect { row in try row.value("id", as: UUID.self) }
        guard !inserted.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
            SELECT \(id), l.line_no, l.account, l.credit, l.debit
            FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id WHERE e.event_key = \(eventKey)
            """, logger: logger)
    }

    /// Sums per account and currency over the whole journal.
    public static func trialBalance(currency: String?, on connection: PostgresConnection, logger: Logger) async throws -> [TrialBalanceRow] {
        try await connection.query(
            """
            SELECT l.account, e.currency::text AS currency, sum(l.debit)::bigint AS debit, sum(l.credit)::bigint AS credit
            FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
            WHERE \(currency)::text IS NULL OR e.currency = \(currency)
            GROUP BY l.account, e.currency ORDER BY e.currency, l.account
            """, logger: logger
        ).collect { row in
            TrialBalanceRow(
                account: try row.value("account"), currency: try row.value("currency"), debit: try row.value("debit"),
                credit: try row.value("credit"))
        }
    }

    /// Entries oldest first, optionally of one case, with their lines.
    public static func entries(
        caseId: UUID?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(PostedEntry, Int64)] {
        let heads = try await connection.query(
            """
            SELECT id, seq, event_key, kind, case_id, currency::text AS currency, memo, posted_at FROM journal_entries
            WHERE seq > \(afterSeq) AND (\(caseId)::uuid IS NULL OR case_id = \(caseId))
            ORDER BY seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in
            (PostedEntry(
                id: try row.value("id"), eventKey: try row.value("event_key"), kind: try row.value("kind"),
                caseId: try row.value("case_id"), currency: try row.value("currency"), memo: try row.value("memo"),
                postedAt: try row.value("posted_at"), lines: []), try row.value("seq", as: Int64.self))
        }
        guard !heads.isEmpty else { return [] }
        var lines: [UUID: [PostedEntry.Line]] = [:]
        let rows = try await connection.query(
            """
            SELECT entry_id, account, debit, credit FROM journal_lines
            WHERE entry_id = ANY(\(heads.map(\.0.id))::uuid[]) ORDER BY entry_id, line_no
            """, logger: logger)
        for try await (entry, account, debit, credit) in rows.decode((UUID, String, Int64, Int64).self) {
            lines[entry, default: []].append(PostedEntry.Line(account: account, debit: debit, credit: credit))
        }
        return heads.map { head, seq in
            var entry = head
            entry.lines = lines[entry.id] ?? []
            return (entry, seq)
        }
    }
}
