import Logging
import NIOCore
import PostgresNIO

extension DatabaseLocation {
    public var connectionConfiguration: PostgresConnection.Configuration {
        switch endpoint {
        case .tcp(let host, let port):
            return .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: requireTLS ? .require(try! .init(configuration: .makeClientConfiguration())) : .disable)
        case .unixSocket(let path):
            return .init(unixSocketPath: path, username: username, password: password, database: database)
        }
    }
}

extension PostgresConnection {
    /// One connection for the length of `body`, closed after it. For short work outside
    /// the server (migrations from the CLI, tokens, test set-up): unlike a pool it needs
    /// no background task whose start and cancellation could race.
    @discardableResult
    public static func with<Result: Sendable>(
        _ location: DatabaseLocation, logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await using(try await connectWritable(location, logger: logger), body)
    }

    /// A connection to the location's host; with several hosts, to the first that
    /// answers and accepts writes (libpq's `target_session_attrs=read-write`): a standby
    /// is closed again and the next host tried (D46).
    public static func connectWritable(
        _ location: DatabaseLocation, configuration: PostgresConnection.Configuration? = nil, logger: Logger
    ) async throws -> PostgresConnection {
        guard !location.otherEndpoints.isEmpty else {
            return try await PostgresConnection.connect(configuration: configuration ?? location.connectionConfiguration, id: 1, logger: logger)
        }
        var lastError: any Error = NoWritableHost(description: "no host of DATABASE_URL accepts writes")
        for endpoint in location.endpoints {
            do {
                return try await connectIfWritable(location.at(endpoint), options: configuration?.options, logger: logger)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// A connection to the location's one host if a session there may write; closed again
    /// and `NoWritableHost` thrown if it is a standby (or read-only).
    static func connectIfWritable(
        _ host: DatabaseLocation, options: PostgresConnection.Configuration.Options? = nil, logger: Logger
    ) async throws -> PostgresConnection {
        var configuration = host.connectionConfiguration
        if let options { configuration.options = options }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            if try await acceptsWrites(connection, logger: logger) { return connection }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
        throw NoWritableHost(description: "no host of DATABASE_URL accepts writes (\(host.endpoint) is a standby)")
    }

    /// Whether a session here may write: not a standby in recovery, not read-only.
    public static func acceptsWrites(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'", logger: logger)
        for try await writable in rows.decode(Bool.self) { return writable }
        return false
    }

    /// Like `with`, but while the database cannot be reached yet (a server still starting
    /// next to this one) it connects again every second, until it can or the caller is
    /// cancelled.
    @discardableResult
    public static func withPatience<Result: Sendable>(
        _ location: DatabaseLocation, configuration: PostgresConnection.Configuration? = nil, logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        while true {
            let connection: PostgresConnection
            do {
                connection = try await connectWritable(location, configuration: configuration, logger: logger)
            } catch let error as PSQLError where error.isConnectivityFailure {
                logger.warning("cannot reach the database yet; trying again in a second", metadata: ["error": "\(String(reflecting: error))"])
                try await Task.sleep(for: .seconds(1))
                continue
            } catch let error as NoWritableHost {
                // A failover under way: the standby is not promoted yet.
                logger.warning("no database host accepts writes yet; trying again in a second", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
                continue
            }
            return try await using(connection, body)
        }
    }

    /// Runs `body` on `connection`, then closes it whatever happened.
    private static func using<Result: Sendable>(
        _ connection: PostgresConnection, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Every host of a multi-host location answered as a standby or read-only: a failover
/// not finished yet. Answered like an unreachable database (503, Retry-After).
public struct NoWritableHost: Error, CustomStringConvertible {
    public let description: String
}
