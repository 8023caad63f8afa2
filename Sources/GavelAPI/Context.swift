import Foundation
import GavelCore
import GavelStore
import Hummingbird

/// The authenticated caller of a route. Handlers behind a role guard receive one as a
/// parameter, so they cannot run without it.
public struct Caller: Sendable {
    public let user: User
    public var role: Role { user.role }
    public var auditActor: AuditActor { .user(id: user.id, name: user.name) }
}

public struct GavelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `X-Request-ID` as received (when sane) or generated; echoed and logged.
    public var requestID: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
    }

    /// Bodies are read by `JSONBody` with Gavel's own 1 MiB limit.
    public var maxUploadSize: Int { JSONBody.maximumSize }
}
