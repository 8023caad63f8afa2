import Foundation
import Logging
import PostgresNIO

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
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now; 25006
            // read_only_sql_transaction: a standby, or a primary demoted by a failover (D46).
            if let state = sqlState, state.hasPrefix("57P") || state.hasPrefix("08") || state == "25006" { return true }
            return false
        }
    }
}

/// No connection to PostgreSQL could be had in time: the request may succeed later.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// What the database's refusal of a write means to a caller that could try it again.
public enum DatabaseRefusal {
    /// The database refused the data itself (class 22, data exception: out of range,
    /// invalid text; class 23, a constraint refused a row): the same write meets the
    /// same refusal however often it is tried.
    public static func isPermanent(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.sqlState else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    /// The refusal of `what` as a sentence for an operator, or nil when `error` is not the database's.
    public static func explanation(_ error: any Error, of what: String) -> String? {
        guard let error = error as? PSQLError else { return nil }
        return "the database refused \(what) (SQLSTATE \(error.sqlState ?? "?")): \(error.serverInfo?[.message] ?? "")"
    }
}

/// Runs `body` behind a savepoint of the caller's transaction: when it throws, what it
/// wrote is undone and the transaction goes on; the error comes back as the result.
public enum Savepoint {
    public static func attempt<Result: Sendable>(
        _ name: String, on connection: PostgresConnection, logger: Logger,
        _ body: () async throws -> Result
    ) async throws -> Swift.Result<Result, any Error> {
        try await connection.query(PostgresQuery(unsafeSQL: "SAVEPOINT \(name)"), logger: logger)
        do {
            let result = try await body()
            try await connection.query(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(name)"), logger: logger)
            return .success(result)
        } catch {
            try await connection.query(PostgresQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT \(name)"), logger: logger)
            return .failure(error)
        }
    }
}
