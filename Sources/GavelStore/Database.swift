import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Gavel's handle on PostgreSQL: a connection pool plus the few rules every caller
/// follows (one transaction per state change, errors classified for HTTP).
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Called with +1/-1 around every lease, feeding the "pool in use" gauge.
    let leaseObserver: @Sendable (Int) -> Void
    /// How long a request may wait for a connection. The pool waits for ever while the
    /// database is away; a request must not (it answers 503 and the client retries).
    let leaseTimeout: Duration

    public init(
        client: PostgresClient, logger: Logger, leaseTimeout: Duration = .seconds(3),
        leaseObserver: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.client = client
        self.logger = logger
        self.leaseTimeout = leaseTimeout
        self.leaseObserver = leaseObserver
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    public func transaction<Result: Sendable>(
        logger: Logger? = nil,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        leaseObserver(1)
        defer { leaseObserver(-1) }
        let client = self.client
        let logger = logger ?? self.logger
        return try await withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(value: body)
            return try await withLeaseDeadline { leased in
                try await PostgresTransactionError.unwrapping {
                    try await client.withTransaction(logger: logger) { connection in
                        leased()
                        return try await work.value(connection)
                    }
                }
            }
        }
    }

    public func withConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        leaseObserver(1)
        defer { leaseObserver(-1) }
        let client = self.client
        return try await withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(value: body)
            return try await withLeaseDeadline { leased in
                try await client.withConnection { connection in
                    leased()
                    return try await work.value(connection)
                }
            }
        }
    }

    /// Runs `work`, which calls `leased` once it holds a connection; if that has not
    /// happened within `leaseTimeout`, the wait is cancelled and `DatabaseUnavailable`
    /// thrown. Once leased, the work runs to its end: a statement is bounded by the
    /// statement timeout instead, so a half-done change is never abandoned here.
    func withLeaseDeadline<Result: Sendable>(
        _ work: @escaping @Sendable (_ leased: @escaping @Sendable () -> Void) async throws -> Result
    ) async throws -> Result {
        let flag = LeaseFlag()
        let timeout = leaseTimeout
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await work { flag.set() } }
            group.addTask {
                try await Task.sleep(for: timeout)
                if !flag.isSet { throw DatabaseUnavailable(description: "no database connection within \(timeout)") }
                return nil
            }
            while let next = try await group.next() {
                if let result = next {
                    group.cancelAll()
                    return result
                }
            }
            throw DatabaseUnavailable(description: "the database work ended without an answer")
        }
    }

    /// True when PostgreSQL answers a trivial query within `timeout`. The probe runs
    /// as its own task and nothing waits for it past the deadline, so readiness answers
    /// on time even while the pool is stuck trying to reach the database.
    public func isReachable(timeout: Duration = .seconds(2)) async -> Bool {
        let (answers, sink) = AsyncStream<Bool>.makeStream()
        let client = self.client
        let logger = self.logger
        let probe = Task {
            do {
                let rows = try await client.query("SELECT 1", logger: logger)
                for try await _ in rows {}
                sink.yield(true)
            } catch {
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

extension PostgresTransactionError {
    /// PostgresNIO wraps whatever a transaction's body threw; callers want the error
    /// itself (a validation failure stays a 422), or the database's own when BEGIN,
    /// COMMIT or ROLLBACK failed.
    public static func unwrapping<Result>(_ body: () async throws -> sending Result) async throws -> sending Result {
        do {
            return try await body()
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error
        }
    }
}

extension PSQLError {
    public var sqlState: String? { serverInfo?[.sqlState] }
    public var isUniqueViolation: Bool { sqlState == PostgresError.Code.uniqueViolation.raw }
    public var isForeignKeyViolation: Bool { sqlState == PostgresError.Code.foreignKeyViolation.raw }
    /// `statement_timeout` (or a cancel) stopped the statement.
    public var isStatementTimeout: Bool { sqlState == "57014" }

    public var isSerializationFailure: Bool {
        sqlState == PostgresError.Code.serializationFailure.raw || sqlState == PostgresError.Code.deadlockDetected.raw
    }
    /// The database could not be reached or went away: the request may succeed later.
    public var isConnectivityFailure: Bool {
        switch code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed,
             .uncleanShutdown:
            return true
        default:
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
            if let state = sqlState, state.hasPrefix("57P") || state.hasPrefix("08") { return true }
            return false
        }
    }
}

/// JSON text for `jsonb` columns, produced with sorted keys so stored documents are stable.
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding our own value types cannot fail; a failure is a programming error.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }
}

/// No connection to PostgreSQL could be had in time: the request may succeed later.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let description: String
}

final class LeaseFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The caller's closure, which the task group runs to its end before returning, so it
/// never outlives the call it was passed to (`withoutActuallyEscaping`), and is only
/// ever run once, by one task.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
