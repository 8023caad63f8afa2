import Foundation
import GavelCore
import Logging
import PostgresNIO

/// A notice as stored: who it went to, in which language, what it said, and when.
public struct StoredNotice: Sendable, Equatable {
    public var id: UUID
    public var caseId: UUID
    public var consignorId: UUID
    public var kind: String
    public var language: String
    public var content: NoticeOfDisposition
    public var sentAt: Date

    public init(id: UUID, caseId: UUID, consignorId: UUID, kind: String, language: String, content: NoticeOfDisposition, sentAt: Date) {
        self.id = id
        self.caseId = caseId
        self.consignorId = consignorId
        self.kind = kind
        self.language = language
        self.content = content
        self.sentAt = sentAt
    }
}

public enum NoticeRepository {
    public static func insert(_ notice: StoredNotice, sentBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let content = String(decoding: try JSONEncoder().encode(notice.content), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO notices (id, case_id, party, kind, lang, content, sent_at, sent_by)
            VALUES (\(notice.id), \(notice.caseId), \(notice.content.party), \(notice.kind), \(notice.language),
                    \(content)::jsonb, \(notice.sentAt), \(sentBy))
            """, logger: logger)
    }

    public static func find(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> StoredNotice? {
        try await connection.rows(
            """
            SELECT n.id, n.case_id, c.consignor_id, n.kind, n.lang, n.content::text AS content, n.sent_at
            FROM notices n JOIN cases c ON c.id = n.case_id WHERE n.id = $1
            """, id: id, logger: logger
        ) { row in
            let text: String = try row.value("content")
            guard let content = try? JSONDecoder().decode(NoticeOfDisposition.self, from: Data(text.utf8)) else {
                throw StoredDataCorrupt(description: "the content of a notice no longer parses")
            }
            return StoredNotice(
                id: try row.value("id"), caseId: try row.value("case_id"), consignorId: try row.value("consignor_id"),
                kind: try row.value("kind"), language: try row.value("lang"), content: content, sentAt: try row.value("sent_at"))
        }.first
    }

    /// When the case's last notice was sent, and the latest first day of sale any notice
    /// of the case stated; nil when none was sent.
    public static func last(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> (sentAt: Date, disposeAfter: CalendarDate?)? {
        let rows = try await connection.query(
            "SELECT max(sent_at), max(content ->> 'disposeAfter') FROM notices WHERE case_id = \(caseId)", logger: logger)
        for try await (sentAt, disposeAfter) in rows.decode((Date?, String?).self) {
            guard let sentAt else { return nil }
            return (sentAt, disposeAfter.flatMap(CalendarDate.init(iso:)))
        }
        return nil
    }
}

extension LotRepository {
    /// When a lot's sale failed: its buyer's default, else its close.
    public static func failedAt(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Date? {
        let rows = try await connection.query(
            """
            SELECT COALESCE(i.defaulted_at, l.closed_at, l.ends_at) FROM lots l LEFT JOIN invoices i ON i.lot_id = l.id
            WHERE l.id = \(lotId)
            """, logger: logger)
        for try await at in rows.decode(Date?.self) { return at }
        return nil
    }
}
