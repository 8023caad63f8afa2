import Foundation
import GavelCore
import Logging
import PostgresNIO

public struct Consignor: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var currency: String
    public var policy: Policy

    public init(id: UUID, name: String, currency: String, policy: Policy) {
        self.id = id
        self.name = name
        self.currency = currency
        self.policy = policy
    }
}

public struct StoredDataCorrupt: Error, CustomStringConvertible {
    public let description: String
}

public enum ConsignorRepository {
    public static func insert(_ consignor: Consignor, on connection: PostgresConnection, logger: Logger) async throws {
        let policy = PolicyDocument.text(consignor.policy)
        try await connection.query(
            """
            INSERT INTO consignors (id, name, currency, policy)
            VALUES (\(consignor.id), \(consignor.name), \(consignor.currency), \(policy)::jsonb)
            """, logger: logger)
    }

    /// The consignor's policy, or the defaults for a consignor that no longer exists.
    public static func policy(of id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Policy {
        try await find(id: id, on: connection, logger: logger)?.policy ?? Policy.defaults
    }

    /// The consignor, row-locked when `forUpdate` so a policy change reads and writes
    /// the same version.
    public static func find(
        id: UUID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger
    ) async throws -> Consignor? {
        try await first(
            connection.query(
                forUpdate
                    ? "SELECT id, name, currency, policy::text FROM consignors WHERE id = \(id) FOR UPDATE"
                    : "SELECT id, name, currency, policy::text FROM consignors WHERE id = \(id)",
                logger: logger))
    }

    private static func first(_ rows: PostgresRowSequence) async throws -> Consignor? {
        for try await (id, name, currency, policyText) in rows.decode((UUID, String, String, String).self) {
            return Consignor(
                id: id, name: name, currency: currency, policy: try PolicyDocument.read(policyText, "the policy of consignor \(id)"))
        }
        return nil
    }

    public static func updatePolicy(
        id: UUID, policy: Policy, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE consignors SET policy = \(PolicyDocument.text(policy))::jsonb, updated_at = now()
            WHERE id = \(id)
            """, logger: logger)
    }

    /// Consignors in the order made.
    public static func list(afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [(Consignor, Int64)] {
        try await connection.query(
            "SELECT seq, id, name, currency, policy::text AS policy FROM consignors WHERE seq > \(afterSeq) ORDER BY seq LIMIT \(limit)",
            logger: logger
        ).collect { row in
            let id: UUID = try row.value("id")
            return (Consignor(
                id: id, name: try row.value("name"), currency: try row.value("currency"),
                policy: try PolicyDocument.read(try row.value("policy"), "the policy of consignor \(id)")),
                    try row.value("seq", as: Int64.self))
        }
    }
}
