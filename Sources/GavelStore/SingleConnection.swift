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
        let connection = try await PostgresConnection.connect(
            configuration: location.connectionConfiguration, id: 1, logger: logger)
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
