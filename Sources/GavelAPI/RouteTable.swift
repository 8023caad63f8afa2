import Foundation
import GavelCore
import HTTPTypes
import Hummingbird

/// Who may call a route, declared next to the route itself.
public enum Access: Sendable, Hashable {
    case anyone
    case roles(Set<Role>)

    static func only(_ roles: Role...) -> Access { .roles(Set(roles)) }
}

/// A route as the contract names it: `/v1/consignors/{id}`.
public struct Endpoint: Sendable, Hashable {
    public let method: HTTPRequest.Method
    public let path: String
    public let access: Access
}

/// Every registered route, so that a wrong method can be told from an unknown path
/// (405 versus 404), the OpenAPI document can be checked against the router, and the
/// role matrix can be read off in one place.
public struct RouteTable: Sendable {
    public private(set) var endpoints: [Endpoint] = []

    mutating func append(_ endpoint: Endpoint) { endpoints.append(endpoint) }

    /// The methods of the routes the path names. A literal segment wins over a
    /// parameter, as in the router: `/v1/cases/import` is the import's path only, not
    /// `/v1/cases/{id}` with the ID "import".
    func allowedMethods(forPath path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let matches = endpoints.compactMap { endpoint -> (Endpoint, literals: Int)? in
            let pattern = endpoint.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard pattern.count == segments.count,
                  zip(pattern, segments).allSatisfy({ expected, actual in
                      (expected.hasPrefix("{") && !actual.isEmpty) || expected == actual
                  })
            else { return nil }
            return (endpoint, pattern.filter { !$0.hasPrefix("{") }.count)
        }
        let best = matches.map(\.literals).max()
        return matches.filter { $0.literals == best }.map(\.0.method)
    }
}

/// Registers routes on the Hummingbird router and in the route table at once, putting
/// the role guard in front of every handler that is not public.
struct RouteBuilder {
    let router: Router<GavelRequestContext>
    let authenticator: Authenticator
    private(set) var table = RouteTable()
    /// The guarded handlers by method and contract path, for the console, which calls the
    /// API in-process (`ConsoleAPI`) rather than keeping rules of its own.
    private(set) var guarded: [String: (access: Access, handler: GuardedHandler)] = [:]
    /// Told who made each change (any method but GET, committed or not), so that the
    /// reads that may lag keep that caller's changes in sight (D47).
    var changed: (@Sendable (UUID) -> Void)?

    init(router: Router<GavelRequestContext>, authenticator: Authenticator) {
        self.router = router
        self.authenticator = authenticator
    }

    typealias PublicHandler = @Sendable (Request, GavelRequestContext) async throws -> Response
    typealias GuardedHandler = @Sendable (Request, GavelRequestContext, Caller) async throws -> Response

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping PublicHandler) {
        table.append(Endpoint(method: method, path: path, access: .anyone))
        router.on(RouterPath(Self.routerPath(path)), method: method) { request, context in
            try await handler(request, context)
        }
    }

    mutating func add(
        _ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping GuardedHandler
    ) {
        table.append(Endpoint(method: method, path: path, access: access))
        let handler = Self.noting(changed, of: method, handler)
        guarded[method.rawValue + " " + path] = (access, handler)
        let authenticator = self.authenticator
        router.on(RouterPath(Self.routerPath(path)), method: method) { request, context in
            let caller = try await authenticator.caller(for: request, context: context)
            if case .roles(let allowed) = access, !allowed.contains(caller.role) {
                throw Refusal.forbidden("the \(caller.role.rawValue) role may not \(method.rawValue) \(path)")
            }
            return try await handler(request, context, caller)
        }
    }

    /// The handler, telling `changed` who called it unless it only reads. Both ways in,
    /// the API and the console's in-process calls, pass through what this returns.
    static func noting(
        _ changed: (@Sendable (UUID) -> Void)?, of method: HTTPRequest.Method, _ handler: @escaping GuardedHandler
    ) -> GuardedHandler {
        guard method != .get, let changed else { return handler }
        return { request, context, caller in
            defer { changed(caller.user.id) }
            return try await handler(request, context, caller)
        }
    }

    /// `{id}` in the contract's notation is `:id` in Hummingbird's.
    static func routerPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }
}
