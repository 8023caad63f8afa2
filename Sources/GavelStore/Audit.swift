import Foundation
import GavelCore
import Logging
import PostgresNIO

/// Who did something: a user through the API, or Gavel itself (bootstrap, scheduler, CLI).
public enum AuditActor: Sendable, Equatable {
    case user(id: UUID, name: String)
    case system(String)
}

public struct AuditRecord: Sendable, Equatable {
    public var actor: AuditActor
    public var action: String
    public var entityType: String
    public var entityId: UUID
    public var before: JSONValue?
    public var after: JSONValue?
    public var requestId: String?

    public init(
        actor: AuditActor, action: String, entityType: String, entityId: UUID,
        before: JSONValue?, after: JSONValue?, requestId: String?
    ) {
        self.actor = actor
        self.action = action
        self.entityType = entityType
        self.entityId = entityId
        self.before = before
        self.after = after
        self.requestId = requestId
    }
}

public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    public var at: Date
    public var record: AuditRecord
}

public enum AuditRepository {
    /// Written in the caller's transaction, so the trail and the change commit together.
    public static func record(_ record: AuditRecord, on connection: PostgresConnection, logger: Logger) async throws {
        try await self.record([record], on: connection, logger: logger)
    }

    /// Several entries in one statement, in the order given.
    public static func record(_ records: [AuditRecord], on connection: PostgresConnection, logger: Logger) async throws {
        guard !records.isEmpty else { return }
        let rows = Rows(records)
        try await connection.query(
            """
            INSERT INTO audit_log (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id)
            SELECT NULLIF(t.actor_id, '')::uuid, t.actor_name, t.action, t.entity_type, t.entity_id,
                   NULLIF(t.before, '')::jsonb, NULLIF(t.after, '')::jsonb, NULLIF(t.request_id, '')
            FROM unnest(\(rows.actorIds)::text[], \(rows.actorNames)::text[], \(rows.actions)::text[], \(rows.entityTypes)::text[],
                        \(rows.entityIds)::uuid[], \(rows.befores)::text[], \(rows.afters)::text[], \(rows.requestIds)::text[])
                 WITH ORDINALITY AS t (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id, n)
            ORDER BY t.n
            """, logger: logger)
    }

    /// Records as the columns of their rows, for a statement that inserts them with other
    /// writes. '' is not JSON, so it stands for "no document" and for no actor or request
    /// (PostgresNIO has no arrays of optionals).
    public struct Rows: Sendable {
        public var actorIds: [String] = [], actorNames: [String] = [], actions: [String] = [], entityTypes: [String] = []
        public var entityIds: [UUID] = [], befores: [String] = [], afters: [String] = [], requestIds: [String] = []

        public init(_ records: [AuditRecord]) {
            for record in records {
                switch record.actor {
                case .user(let id, let name):
                    actorIds.append(id.uuidString)
                    actorNames.append(name)
                case .system(let name):
                    actorIds.append("")
                    actorNames.append("system:\(name)")
                }
                actions.append(record.action)
                entityTypes.append(record.entityType)
                entityIds.append(record.entityId)
                befores.append(record.before?.compactText ?? "")
                afters.append(record.after?.compactText ?? "")
                requestIds.append(record.requestId ?? "")
            }
        }
    }

    /// Entries oldest first, after `afterSeq` (the cursor), at most `limit`.
    public static func list(
        entityId: UUID?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [AuditEntry] {
        let rows = try await connection.query(
            """
            SELECT seq, at, actor_id, actor_name, action, entity_type, entity_id, before::text, after::text, request_id
            FROM audit_log
            WHERE seq > \(afterSeq) AND (\(entityId)::uuid IS NULL OR entity_id = \(entityId))
            ORDER BY seq
            LIMIT \(limit)
            """, logger: logger)
        var entries: [AuditEntry] = []
        for try await row in rows.decode(
            (Int64, Date, UUID?, String, String, String, UUID, String?, String?, String?).self
        ) {
            let (seq, at, actorId, actorName, action, entityType, entityId, before, after, requestId) = row
            let actor: AuditActor = actorId.map { .user(id: $0, name: actorName) }
                ?? .system(String(actorName.dropFirst("system:".count)))
            entries.append(AuditEntry(
                seq: seq, at: at,
                record: AuditRecord(
                    actor: actor, action: action, entityType: entityType, entityId: entityId,
                    before: try before.map { try JSONText.decode(JSONValue.self, from: $0) },
                    after: try after.map { try JSONText.decode(JSONValue.self, from: $0) },
                    requestId: requestId)))
        }
        return entries
    }
}
