import Crypto
import Foundation
import Logging
import PostgresNIO

/// What to do with a POST that carries an Idempotency-Key.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use of the key: do the work, then `remember` the answer in the same transaction.
    case proceed
    /// The key was used before with the same request: answer as then.
    case replay(status: Int, body: String)
    /// The key was used before with a different request.
    case reusedWithDifferentRequest
}

/// Stored first answers for Idempotency-Key. The key itself is kept only as a SHA-256,
/// and the answer is sealed (AES-GCM) with a key derived from the Idempotency-Key, so a
/// dump does not show answers in clear. That is no protection for a secret (a key such
/// as `user-7` is guessed): a secret shown once, such as a new user's API token, is
/// withheld from what is stored (`JSONResponse.replayBody`, D24).
public enum IdempotencyRepository {
    public static func claim(
        userId: UUID, key: String, requestSHA256: String, lifetime: Duration, on connection: PostgresConnection, logger: Logger
    ) async throws -> IdempotencyClaim {
        let keyHash = APIToken.sha256Hex(key)
        // A concurrent request with the same key blocks on the primary key until this
        // transaction ends, then sees the stored answer (or claims the key if this one
        // rolled back). A stored answer older than `lifetime` is gone: the key starts afresh.
        let inserted = try await connection.query(
            """
            INSERT INTO idempotency_keys (user_id, key, request_sha256)
            VALUES (\(userId), \(keyHash), \(requestSHA256))
            ON CONFLICT (user_id, key) DO UPDATE
                SET request_sha256 = EXCLUDED.request_sha256, response_status = NULL, response_body = NULL, created_at = now()
                WHERE idempotency_keys.created_at < now() - make_interval(secs => \(seconds(lifetime)))
            RETURNING 1
            """, logger: logger)
        for try await _ in inserted { return .proceed }
        let rows = try await connection.query(
            """
            SELECT request_sha256, response_status, response_body FROM idempotency_keys
            WHERE user_id = \(userId) AND key = \(keyHash)
            """, logger: logger)
        for try await (hash, status, sealed) in rows.decode((String, Int?, String?).self) {
            guard hash == requestSHA256 else { return .reusedWithDifferentRequest }
            if let status, let sealed, let body = open(sealed, key: key, userId: userId) {
                return .replay(status: status, body: body)
            }
        }
        // A committed claim always carries its sealed answer; reaching here means the row
        // was altered by hand. Refusing is safer than acting twice.
        return .reusedWithDifferentRequest
    }

    /// Forgets up to `limit` stored answers older than `lifetime`.
    @discardableResult
    public static func expire(lifetime: Duration, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var count = 0
        for try await _ in try await connection.query(
            """
            DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(secs => \(seconds(lifetime)))
                LIMIT \(limit) FOR UPDATE SKIP LOCKED))
            RETURNING 1
            """, logger: logger) { count += 1 }
        return count
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public static func remember(
        userId: UUID, key: String, status: Int, body: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let sealed = try seal(body, key: key, userId: userId)
        try await connection.query(
            """
            UPDATE idempotency_keys SET response_status = \(status), response_body = \(sealed)
            WHERE user_id = \(userId) AND key = \(APIToken.sha256Hex(key))
            """, logger: logger)
    }

    private static func symmetricKey(_ key: String, userId: UUID) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(key.utf8)),
            salt: Data(userId.uuidString.lowercased().utf8),
            info: Data("gavel idempotent answer v1".utf8),
            outputByteCount: 32)
    }

    static func seal(_ body: String, key: String, userId: UUID) throws -> String {
        let box = try AES.GCM.seal(Data(body.utf8), using: symmetricKey(key, userId: userId))
        // `combined` is always present for the default 12-byte nonce.
        return box.combined!.base64EncodedString()
    }

    static func open(_ sealed: String, key: String, userId: UUID) -> String? {
        guard let data = Data(base64Encoded: sealed),
              let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: symmetricKey(key, userId: userId))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
