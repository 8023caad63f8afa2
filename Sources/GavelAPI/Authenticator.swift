import GavelStore
import GavelWorkflows
import Hummingbird
import Logging

/// Turns `Authorization: Bearer <token>` into a caller, by the token's SHA-256. A lot's
/// event stream also takes the console's session cookie, so that the browser's own
/// EventSource (which sends no headers of its own) can follow a lot.
struct Authenticator: Sendable {
    let database: Database
    let cache: CallerCache

    func caller(for request: Request, context: GavelRequestContext) async throws -> Caller {
        guard let header = request.headers[.authorization] else {
            if request.method == .get, request.uri.path.hasSuffix("/events"),
               let session = request.cookies[ConsoleController.sessionCookie]?.value, (16...256).contains(session.count) {
                let logger = context.logger
                if let (caller, _) = try await Desk(database: database).read(logger: logger, { work in
                    try await ConsoleSessions().caller(sessionToken: session, in: work)
                }) { return caller }
                throw Problem.unauthorized("the console session has ended; sign in again")
            }
            throw Problem.unauthorized("send Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header must be Bearer <token>")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        // Real tokens are 43 characters of base64url; anything far off is not looked up.
        guard (16...256).contains(token.count) else { throw Problem.unauthorized("unknown token") }
        let digest = APIToken.sha256Hex(token)
        if let user = cache.user(for: digest) { return Caller(user: user) }
        let generation = cache.begin()
        let logger = context.logger
        guard let user = try await database.withConnection({ connection in
            try await UserRepository.find(tokenSHA256: digest, on: connection, logger: logger)
        }) else { throw Problem.unauthorized("unknown token") }
        if let generation { cache.remember(user, for: digest, since: generation) }
        return Caller(user: user)
    }
}
