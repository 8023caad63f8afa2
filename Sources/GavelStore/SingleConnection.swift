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
        try await using(
            try await PostgresConnection.connect(configuration: location.connectionConfiguration, id: 1, logger: logger), body)
    }

    /// Like `with`, but while the database cannot be reached yet (a server still starting
    /// next to this one) it connects again every second, until it can or the caller is
    /// cancelled.
    @discardableResult
    public static func withPatience<Result: Sendable>(
        _ location: DatabaseLocation, logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        while true {
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: location.connectionConfiguration, id: 1, logger: logger)
            } catch let error as PSQLError where error.isConnectivityFailure {
                logger.warning("cannot reach the database yet; trying again in a second", metadata: ["error": "\(String(reflecting: error))"])
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
