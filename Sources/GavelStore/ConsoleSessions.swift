import Foundation
import GavelCore
import Logging
import PostgresNIO

/// Console sessions, kept by their token's SHA-256 (SQL/0016).
public enum ConsoleSessionRepository {
    public static func create(
        tokenSHA256: String, userId: UUID, csrfToken: String, lifetime: Duration, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let seconds = Int(lifetime.components.seconds)
        try await connection.query(
            """
            INSERT INTO console_sessions (token_sha256, user_id, csrf_token, expires_at)
            VALUES (\(tokenSHA256), \(userId), \(csrfToken), now() + make_interval(secs => \(seconds)::integer))
            """, logger: logger)
    }

    /// The session's user and CSRF token while it is unexpired and its user not revoked.
    public static func find(tokenSHA256: String, on connection: PostgresConnection, logger: Logger) async throws -> (User, csrfToken: String)? {
        let rows = try await connection.query(
            """
            SELECT u.id, u.name, u.role, u.consignor_id, s.csrf_token
            FROM console_sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_sha256 = \(tokenSHA256) AND s.expires_at > now() AND u.revoked_at IS NULL
            """, logger: logger)
        for try await (id, name, role, consignorId, csrf) in rows.decode((UUID, String, String, UUID?, String).self) {
            guard let role = Role(rawValue: role) else { return nil }
            return (User(id: id, name: name, role: role, consignorId: consignorId), csrf)
        }
        return nil
    }

    /// Signs out; expired sessions of anyone go with it.
    public static func delete(tokenSHA256: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "DELETE FROM console_sessions WHERE token_sha256 = \(tokenSHA256) OR expires_at <= now()", logger: logger)
    }
}
