import Foundation
import Logging
import PostgresNIO

/// Gavel's handle on PostgreSQL: a connection pool plus the few rules every caller
/// follows (one transaction per state change, errors classified for HTTP).
public struct Database: Sendable {
    /// The pool of the host that takes writes now (the only one with a single host).
    public var client: PostgresClient { hosts.current }
    /// One pool per host of a multi-host DATABASE_URL, and which is the primary (D46).
    public let hosts: PrimaryHosts
    public let logger: Logger
    /// Called with +1/-1 around every lease, feeding the "pool in use" gauge.
    let leaseObserver: @Sendable (Int) -> Void
    /// How long a request may wait for a connection. The pool waits for ever while the
    /// database is away; a request must not (it answers 503 and the client retries).
    var leaseTimeout: Duration
    /// The one clock every lease deadline of this pool runs on.
    let leaseClock = LeaseClock()
    /// How long the first answer to a POST with an Idempotency-Key is kept for its
    /// retries; after that the key may be used afresh.
    public var idempotencyLifetime: Duration = .seconds(86_400)
    /// A standby for the reads that may lag (`GAVEL_READ_DATABASE_URL`; D47), or nil.
    public var replica: ReadReplica?

    public init(
        client: PostgresClient, logger: Logger, leaseTimeout: Duration = .seconds(3),
        leaseObserver: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.init(hosts: PrimaryHosts(clients: [client], locations: [], logger: logger), logger: logger,
                  leaseTimeout: leaseTimeout, leaseObserver: leaseObserver)
    }

    public init(
        hosts: PrimaryHosts, logger: Logger, leaseTimeout: Duration = .seconds(3),
        leaseObserver: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.hosts = hosts
        self.logger = logger
        self.leaseTimeout = leaseTimeout
        self.leaseObserver = leaseObserver
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    public func transaction<Result: Sendable>(
        logger: Logger? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        leaseObserver(1)
        defer { leaseObserver(-1) }
        let logger = logger ?? self.logger
        return try await hosts.watching {
            try await withLeaseDeadline(body, from: .primary) { slot, client in
                try await PostgresTransactionError.unwrapping {
                    // The slot is claimed before BEGIN, which is the first write on the connection.
                    try await client.withConnection { connection in
                        let body = try slot.claim(on: connection)
                        return try await connection.withTransaction(logger: logger) { try await body($0) }
                    }
                }
            }
        }
    }

    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        leaseObserver(1)
        defer { leaseObserver(-1) }
        return try await hosts.watching {
            try await withLeaseDeadline(body, from: .primary) { slot, client in
                try await client.withConnection { connection in
                    let body = try slot.claim(on: connection)
                    return try await body(connection)
                }
            }
        }
    }

    /// A read that may be served by the standby: there when it is fresh enough for
    /// `reader` (see `ReadReplica`), else on the primary, as `withConnection`. `body`
    /// must only read: the standby's sessions are read-only, and a write there fails
    /// rather than moving to the primary.
    public func withReadConnection<Result: Sendable>(
        for reader: UUID?, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        if let replica, let result = try await replica.attempt(for: reader, database: self, body) {
            return result
        }
        return try await withConnection(body)
    }

    /// True when PostgreSQL answers a trivial query within `timeout`. The probe runs
    /// as its own task and nothing waits for it past the deadline, so readiness answers
    /// on time even while the pool is stuck trying to reach the database.
    public func isReachable(timeout: Duration = .seconds(2)) async -> Bool {
        let (answers, sink) = AsyncStream<Bool>.makeStream()
        let client = self.client
        let logger = self.logger
        let hosts = self.hosts
        let probe = Task {
            do {
                let rows = try await client.query("SELECT 1", logger: logger)
                for try await _ in rows {}
                sink.yield(true)
            } catch {
                hosts.suspect(after: error)
                sink.yield(false)
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            sink.yield(false)
        }
        var iterator = answers.makeAsyncIterator()
        let first = await iterator.next() ?? false
        probe.cancel()
        timer.cancel()
        sink.finish()
        return first
    }
}
