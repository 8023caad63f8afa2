import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Which host of a multi-host DATABASE_URL takes writes (D46). One pool per host; every
/// request uses the primary's. A failure that means "no database here" (the connection
/// lost or refused, a session that may not write: a standby, a demoted primary) sets
/// off a search: each host in turn, on a connection of its own, until one accepts
/// writes; meanwhile requests answer 503 with Retry-After as for any outage. With one
/// host there is nothing to choose and nothing is searched.
public final class PrimaryHosts: Sendable {
    public let clients: [PostgresClient]
    /// Where each pool connects, for the search's own connections.
    let locations: [DatabaseLocation]
    let logger: Logger

    private struct State {
        var primary = 0
        var searching = false
    }

    private let state = Mutex(State())

    public init(clients: [PostgresClient], locations: [DatabaseLocation], logger: Logger) {
        precondition(!clients.isEmpty && (locations.isEmpty || locations.count == clients.count))
        self.clients = clients
        self.locations = locations
        self.logger = logger
    }

    public var current: PostgresClient { clients[state.withLock { $0.primary }] }

    public var primaryIndex: Int { state.withLock { $0.primary } }

    /// Runs `work`; a failure that means the primary is gone starts a search.
    func watching<Result>(_ work: () async throws -> Result) async throws -> Result {
        do {
            return try await work()
        } catch {
            suspect(after: error)
            throw error
        }
    }

    /// Starts a search unless one is under way, when `error` says the database is gone.
    public func suspect(after error: any Error) {
        guard Self.meansGone(error) else { return }
        search(because: "a request found the database gone")
    }

    /// Starts a search unless one is under way (with one host, there is nothing to find).
    func search(because reason: String) {
        guard clients.count > 1 else { return }
        let start = state.withLock { state -> Bool in
            guard !state.searching else { return false }
            state.searching = true
            return true
        }
        guard start else { return }
        logger.debug("looking for the primary", metadata: ["reason": "\(reason)"])
        Task { await searchUntilFound() }
    }

    static func meansGone(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError: error.isConnectivityFailure
        case is DatabaseUnavailable, is NoWritableHost: true
        default: String(describing: type(of: error)) == "ConnectionPoolError"
        }
    }

    /// Each host in turn, every half second, until one accepts writes.
    func searchUntilFound() async {
        defer { state.withLock { $0.searching = false } }
        while !Task.isCancelled {
            if let found = await findWritable() {
                let previous = state.withLock { state -> Int in
                    defer { state.primary = found }
                    return state.primary
                }
                if previous != found {
                    logger.warning("the database's primary moved", metadata: ["from": "\(locations[previous].endpoint)", "to": "\(locations[found].endpoint)"])
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Looks once; returns the first host that accepts writes, and makes it the primary.
    @discardableResult
    public func findPrimary() async -> Int? {
        guard clients.count > 1, let found = await findWritable() else { return nil }
        take(primary: found)
        return found
    }

    /// Where writes go from now on, without looking (a search's finding, or a test's).
    func take(primary index: Int) {
        state.withLock { $0.primary = index }
    }

    private func findWritable() async -> Int? {
        var options = PostgresConnection.Configuration.Options()
        options.connectTimeout = .seconds(2)
        for (index, location) in locations.enumerated() {
            guard let connection = try? await PostgresConnection.connectIfWritable(location, options: options, logger: logger) else { continue }
            try? await connection.close()
            return index
        }
        return nil
    }
}
