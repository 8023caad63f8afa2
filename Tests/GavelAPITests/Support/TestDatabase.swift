import Foundation
import GavelStore
import Logging
import PostgresNIO
import Testing

/// The repository root, found from this file, for `SQL/` and `Docs/`.
let repositoryRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

let quietLogger: Logger = {
    var logger = Logger(label: "gavel-test")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// Real PostgreSQL for tests: the schema is migrated once into a template database and
/// every test gets its own copy (`CREATE DATABASE … TEMPLATE`), dropped afterwards.
/// `TEST_DATABASE_URL` names the server (`./scripts/test` starts a throwaway one);
/// anything but a local server is refused, so a test can never touch a real database.
actor TestDatabase {
    static let shared = TestDatabase()

    private var template: Task<String, any Error>?
    private var server: DatabaseLocation?

    func serverLocation() throws -> DatabaseLocation {
        if let server { return server }
        guard let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty else {
            throw TestSetupError("TEST_DATABASE_URL is not set: run the tests with ./scripts/test, which starts a throwaway PostgreSQL")
        }
        let location = try DatabaseLocation(url: url)
        guard location.isLocal else {
            throw TestSetupError("TEST_DATABASE_URL must point at a local PostgreSQL; refusing \(url)")
        }
        server = location
        return location
    }

    /// `TEST_POOLER_URL`: a PgBouncer in transaction mode in front of the test server
    /// (`./scripts/test` runs the suite once through one); Gavel's pool then goes through
    /// it. Its database part is ignored: each test's own is used.
    static func pooler() throws -> DatabaseLocation? {
        guard let url = ProcessInfo.processInfo.environment["TEST_POOLER_URL"], !url.isEmpty else { return nil }
        let location = try DatabaseLocation(url: url)
        guard location.isLocal else { throw TestSetupError("TEST_POOLER_URL must point at a local PgBouncer; refusing \(url)") }
        return location
    }

    /// A fresh, empty database (no migrations), for the migration tests.
    func createEmptyDatabase() async throws -> DatabaseLocation {
        let server = try serverLocation()
        let name = "gavel_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await Self.admin(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietLogger)
        }
        return server.with(database: String(name))
    }

    func createMigratedDatabase() async throws -> DatabaseLocation {
        let server = try serverLocation()
        let template = try await migratedTemplate(server)
        let name = "gavel_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await Self.admin(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE \(template)"), logger: quietLogger)
        }
        return server.with(database: String(name))
    }

    func drop(_ location: DatabaseLocation) async {
        guard let server else { return }
        _ = try? await Self.admin(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)"), logger: quietLogger)
        }
    }

    /// Created once; callers that arrive while it is being made wait for the same task
    /// (an actor is reentrant across awaits, so a plain optional would make several).
    private func migratedTemplate(_ server: DatabaseLocation) async throws -> String {
        if template == nil {
            template = Task {
                let name = "gavel_tpl_\(getpid())_\(UInt32.random(in: 0 ... .max))"
                try await Self.admin(server) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietLogger)
                }
                let runner = try MigrationRunner(directory: repositoryRoot + "/SQL")
                try await PostgresConnection.with(server.with(database: name), logger: quietLogger) { connection in
                    try await runner.run(on: connection, logger: quietLogger)
                }
                return name
            }
        }
        return try await template!.value
    }

    /// A database server's own errors are printed whole: PSQLError's description hides them.
    private static func admin(_ server: DatabaseLocation, _ body: (PostgresConnection) async throws -> Void) async throws {
        do {
            try await PostgresConnection.with(server.with(database: "postgres"), logger: quietLogger) { connection in
                try await body(connection)
            }
        } catch let error as PSQLError {
            throw TestSetupError("the test database server refused: \(String(reflecting: error))")
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` with a migrated database of its own, dropped afterwards.
func withMigratedDatabase<T: Sendable>(_ body: (DatabaseLocation) async throws -> T) async throws -> T {
    try await withDatabase(try await TestDatabase.shared.createMigratedDatabase(), body)
}

/// Runs `body` with an empty database (no migrations applied), dropped afterwards.
func withEmptyDatabase<T: Sendable>(_ body: (DatabaseLocation) async throws -> T) async throws -> T {
    try await withDatabase(try await TestDatabase.shared.createEmptyDatabase(), body)
}

private func withDatabase<T: Sendable>(
    _ location: DatabaseLocation, _ body: (DatabaseLocation) async throws -> T
) async throws -> T {
    do {
        let result = try await body(location)
        await TestDatabase.shared.drop(location)
        return result
    } catch {
        await TestDatabase.shared.drop(location)
        throw error
    }
}
