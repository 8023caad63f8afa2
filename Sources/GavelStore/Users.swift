import Crypto
import Foundation
import GavelCore
import Logging
import PostgresNIO

public struct User: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var role: Role
    public var consignorId: UUID?

    public init(id: UUID, name: String, role: Role, consignorId: UUID?) {
        self.id = id
        self.name = name
        self.role = role
        self.consignorId = consignorId
    }
}

/// API tokens: 32 random bytes, base64url, of which only the SHA-256 is stored.
public enum APIToken {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func sha256Hex(_ token: String) -> String {
        hex(SHA256.hash(data: Data(token.utf8)))
    }

    /// Lower-case hex of a digest, the form every SHA-256 is stored in.
    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        // Not String(format:): every request hashes its token, and the formatter showed
        // in the bid-load profile.
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

public enum UserRepository {
    /// Creates the user and a first token for it; returns the token in clear, once.
    public static func create(
        _ user: User, on connection: PostgresConnection, logger: Logger
    ) async throws -> String {
        try await connection.query(
            """
            INSERT INTO users (id, name, role, consignor_id)
            VALUES (\(user.id), \(user.name), \(user.role.rawValue), \(user.consignorId))
            """, logger: logger)
        let token = APIToken.generate()
        try await connection.query(
            "INSERT INTO api_tokens (token_sha256, user_id) VALUES (\(APIToken.sha256Hex(token)), \(user.id))",
            logger: logger)
        return token
    }

    /// A user as the admin's list shows it.
    public struct Listed: Sendable {
        public var user: User
        public var revoked: Bool
    }

    /// Users in the order made.
    public static func list(afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [(Listed, Int64)] {
        try await connection.query(
            """
            SELECT seq, id, name, role, consignor_id, revoked_at IS NOT NULL AS revoked FROM users
            WHERE seq > \(afterSeq) ORDER BY seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in
            let user = User(
                id: try row.value("id"), name: try row.value("name"), role: try row.enumValue("role"),
                consignorId: try row.value("consignor_id"))
            return (Listed(user: user, revoked: try row.value("revoked")), try row.value("seq", as: Int64.self))
        }
    }

    /// The user, row-locked, with whether it is revoked; nil when there is none.
    public static func findForRevocation(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Listed? {
        try await connection.rows(
            "SELECT id, name, role, consignor_id, revoked_at IS NOT NULL AS revoked FROM users WHERE id = $1 FOR UPDATE",
            id: id, logger: logger
        ) { row in
            Listed(
                user: User(
                    id: try row.value("id"), name: try row.value("name"), role: try row.enumValue("role"),
                    consignorId: try row.value("consignor_id")),
                revoked: try row.value("revoked"))
        }.first
    }

    /// Admins other than `id` whose tokens still work.
    public static func otherActiveAdmins(than id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var count = 0
        for try await n in try await connection.query(
            "SELECT count(*)::int FROM users WHERE role = 'admin' AND revoked_at IS NULL AND id <> \(id)", logger: logger
        ).decode(Int.self) { count = n }
        return count
    }

    /// Every token of the user stops working; the triggers of SQL/0009 tell every
    /// instance's cache when this commits.
    public static func revoke(id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE api_tokens SET revoked_at = now() WHERE user_id = \(id) AND revoked_at IS NULL", logger: logger)
        try await connection.query("UPDATE users SET revoked_at = now() WHERE id = \(id)", logger: logger)
        try await connection.query("DELETE FROM console_sessions WHERE user_id = \(id)", logger: logger)
    }

    /// The channel SQL/0009 notifies when a token or a user changes: a token's digest,
    /// or '' for "anything may have changed".
    public static let changeChannel = "callers_changed"

    public static func find(tokenSHA256: String, on connection: PostgresConnection, logger: Logger) async throws -> User? {
        let rows = try await connection.query(
            """
            SELECT u.id, u.name, u.role, u.consignor_id
            FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_sha256 = \(tokenSHA256) AND t.revoked_at IS NULL
            """, logger: logger)
        for try await (id, name, role, consignorId) in rows.decode((UUID, String, String, UUID?).self) {
            guard let role = Role(rawValue: role) else { return nil }
            return User(id: id, name: name, role: role, consignorId: consignorId)
        }
        return nil
    }

    public static func exists(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT 1 FROM users WHERE id = \(id)", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The name of a user's account, nil when there is no such user.
    public static func name(of id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query("SELECT name FROM users WHERE id = \(id)", logger: logger)
        for try await name in rows.decode(String.self) { return name }
        return nil
    }

    /// The role of a user, nil when there is no such user (or its role no longer parses).
    public static func role(of id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Role? {
        let rows = try await connection.query("SELECT role FROM users WHERE id = \(id)", logger: logger)
        for try await role in rows.decode(String.self) { return Role(rawValue: role) }
        return nil
    }

    /// On first start against an empty database, creates an admin and returns its token
    /// (nil when there are users already). The transaction-scoped advisory lock keeps
    /// instances starting together from creating two.
    public static func createFirstAdmin(_ admin: User, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x6761_7665_6C01)))", logger: logger)
        let rows = try await connection.query("SELECT 1 FROM users LIMIT 1", logger: logger)
        for try await _ in rows { return nil }
        return try await create(admin, on: connection, logger: logger)
    }
}

/// A user's verified identity (domain rules section 11).
public struct BidderVerification: Sendable, Equatable {
    public var bidderId: UUID
    public var legalName: String
    public var idNumber: String
    public var dealerLicence: String?
    public var licenceExpiresOn: CalendarDate?

    public init(bidderId: UUID, legalName: String, idNumber: String, dealerLicence: String?, licenceExpiresOn: CalendarDate?) {
        self.bidderId = bidderId
        self.legalName = legalName
        self.idNumber = idNumber
        self.dealerLicence = dealerLicence
        self.licenceExpiresOn = licenceExpiresOn
    }
}

public enum BidderVerificationRepository {
    /// Records (or replaces) the identity; answers the one it replaced.
    public static func record(
        _ verification: BidderVerification, by verifier: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> BidderVerification? {
        let before = try await find(bidderId: verification.bidderId, on: connection, logger: logger)
        try await connection.query(
            """
            INSERT INTO bidder_verifications (bidder_id, legal_name, id_number, dealer_licence, licence_expires_on, verified_by)
            VALUES (\(verification.bidderId), \(verification.legalName), \(verification.idNumber), \(verification.dealerLicence),
                    \(verification.licenceExpiresOn?.description)::date, \(verifier))
            ON CONFLICT (bidder_id) DO UPDATE SET legal_name = EXCLUDED.legal_name, id_number = EXCLUDED.id_number,
                dealer_licence = EXCLUDED.dealer_licence, licence_expires_on = EXCLUDED.licence_expires_on,
                verified_by = EXCLUDED.verified_by, verified_at = now()
            """, logger: logger)
        return before
    }

    /// Which of these users are bidders with a verified identity whose dealer licence is
    /// in force today (the database's day).
    public static func verifiedBidders(among ids: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> Set<UUID> {
        let rows = try await connection.query(
            """
            SELECT v.bidder_id FROM bidder_verifications v JOIN users u ON u.id = v.bidder_id
            WHERE v.bidder_id = ANY(\(ids)::uuid[]) AND u.role = 'bidder' AND u.revoked_at IS NULL
              AND (v.licence_expires_on IS NULL OR v.licence_expires_on >= (now() AT TIME ZONE 'UTC')::date)
            """, logger: logger)
        var found = Set<UUID>()
        for try await id in rows.decode(UUID.self) { found.insert(id) }
        return found
    }

    public static func find(bidderId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> BidderVerification? {
        try await connection.rows(
            """
            SELECT bidder_id, legal_name, id_number, dealer_licence, licence_expires_on::text AS licence_expires_on
            FROM bidder_verifications WHERE bidder_id = $1
            """, id: bidderId, logger: logger
        ) { row in
            BidderVerification(
                bidderId: try row.value("bidder_id"), legalName: try row.value("legal_name"), idNumber: try row.value("id_number"),
                dealerLicence: try row.value("dealer_licence"),
                licenceExpiresOn: (try row.value("licence_expires_on", as: String?.self)).flatMap(CalendarDate.init(iso:)))
        }.first
    }
}
