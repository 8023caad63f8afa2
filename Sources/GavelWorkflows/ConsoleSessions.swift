import Foundation
import GavelCore
import GavelStore

/// The console's sessions: a user signs in with one of its API tokens and gets a session
/// token of its own for the browser's cookie, with a CSRF token for its forms. The API
/// keeps bearer tokens; pages act through the same workflows as the API, as the user.
public struct ConsoleSessions: Sendable {
    /// How long a session lasts: a working day.
    public static let lifetime: Duration = .seconds(12 * 3_600)

    public init() {}

    public struct Opened: Sendable {
        /// For the cookie; only its SHA-256 is stored.
        public var sessionToken: String
        public var csrfToken: String
        public var user: User
    }

    /// Exchanges a valid API token for a session; nil for a token Gavel does not know.
    public func signIn(apiToken: String, in session: Session) async throws -> Opened? {
        guard let user = try await UserRepository.find(
            tokenSHA256: APIToken.sha256Hex(apiToken), on: session.connection, logger: session.logger)
        else { return nil }
        let token = APIToken.generate(), csrf = APIToken.generate()
        try await ConsoleSessionRepository.create(
            tokenSHA256: APIToken.sha256Hex(token), userId: user.id, csrfToken: csrf, lifetime: Self.lifetime,
            on: session.connection, logger: session.logger)
        try await session.audit(
            Caller(user: user), "console.sign-in", "user", user.id, before: nil, after: .object(["role": .string(user.role.rawValue)]))
        return Opened(sessionToken: token, csrfToken: csrf, user: user)
    }

    /// The caller of a session cookie, and the CSRF token its forms must carry.
    public func caller(sessionToken: String, in session: Session) async throws -> (Caller, csrfToken: String)? {
        guard let (user, csrf) = try await ConsoleSessionRepository.find(
            tokenSHA256: APIToken.sha256Hex(sessionToken), on: session.connection, logger: session.logger)
        else { return nil }
        return (Caller(user: user), csrf)
    }

    public func signOut(sessionToken: String, in session: Session) async throws {
        try await ConsoleSessionRepository.delete(
            tokenSHA256: APIToken.sha256Hex(sessionToken), on: session.connection, logger: session.logger)
    }
}
