import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `body` with a client whose pool is running, and shuts the pool down after.
    /// For the CLI and tests; the server runs its client as a lifecycle service instead.
    @discardableResult
    public static func withRunning<Result: Sendable>(
        _ location: DatabaseLocation, logger: Logger, _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
