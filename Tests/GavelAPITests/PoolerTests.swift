import Foundation
@testable import GavelStore
import Logging
import PostgresNIO
import Testing

/// Gavel behind a pooler in transaction mode (issue 19, D44). `./scripts/test` runs the
/// API suite once more through PgBouncer with `TEST_POOLER_URL` set; these tests then
/// go through it too, and straight to PostgreSQL otherwise.
@Suite("Behind a connection pooler")
struct PoolerTests {
    @Test("the pool's session is judged before serving: synchronous_commit off or no statement timeout stop the start")
    func judged() throws {
        let location = DatabaseLocation(endpoint: .tcp(host: "127.0.0.1", port: 6432), username: "gavel", password: nil, database: "gavel")
        let check = PoolSettingsCheck(location: location, statementTimeout: .seconds(5))
        #expect(throws: PoolSettingsCheck.Refused.self) {
            try check.judge(synchronousCommit: "off", timeoutMilliseconds: 5_000, logger: quietLogger)
        }
        do {
            try check.judge(synchronousCommit: "off", timeoutMilliseconds: 5_000, logger: quietLogger)
        } catch let refused as PoolSettingsCheck.Refused {
            #expect(refused.description.contains("synchronous_commit = off"))
            #expect(refused.description.contains("ALTER ROLE gavel SET synchronous_commit = on"))
            #expect(refused.description.contains("ALTER ROLE gavel SET statement_timeout = '5000ms'"))
        }
        #expect(throws: PoolSettingsCheck.Refused.self) {
            try check.judge(synchronousCommit: "on", timeoutMilliseconds: 0, logger: quietLogger)
        }
        // Durable on the primary, or on a synchronous standby too: both keep a 201's promise.
        for setting in ["on", "local", "remote_write", "remote_apply"] {
            try check.judge(synchronousCommit: setting, timeoutMilliseconds: 5_000, logger: quietLogger)
        }
        // Another timeout than Gavel's is said in the log, not refused.
        try check.judge(synchronousCommit: "on", timeoutMilliseconds: 30_000, logger: quietLogger)
    }

    @Test("a database whose own defaults are unsafe: direct, Gavel's settings win; through a pooler that drops them, the start is refused")
    func unsafeDefaults() async throws {
        try await withMigratedDatabase { location in
            try await PostgresConnection.with(location, logger: quietLogger) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(location.database) SET synchronous_commit = off"), logger: quietLogger)
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(location.database) SET statement_timeout = 0"), logger: quietLogger)
            }
            try await PoolSettingsCheck(location: location, statementTimeout: .seconds(5)).run(logger: quietLogger)
            if let pooler = try TestDatabase.pooler() {
                let check = PoolSettingsCheck(location: pooler.with(database: location.database), statementTimeout: .seconds(5))
                await #expect(throws: PoolSettingsCheck.Refused.self) { try await check.run(logger: quietLogger) }
            }
        }
    }

    @Test("migrations keep nothing in the session: four runners at once through the pool's address apply each once")
    func migrationsWithoutSession() async throws {
        let runner = try MigrationRunner(directory: repositoryRoot + "/SQL")
        try await withEmptyDatabase { direct in
            let location = try TestDatabase.pooler()?.with(database: direct.database) ?? direct
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await PostgresConnection.with(location, logger: quietLogger) { try await runner.run(on: $0, logger: quietLogger) }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == runner.migrations.map(\.version))
            try await PostgresConnection.with(direct, logger: quietLogger) { connection in
                #expect(try await MigrationTests.appliedVersions(connection) == runner.migrations.map(\.version))
                // No runner left a lock behind on any server connection (other tests' are
                // in their own databases).
                var locks = -1
                for try await count in try await connection.query(
                    "SELECT count(*)::int FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()", logger: quietLogger).decode(Int.self) { locks = count }
                #expect(locks == 0)
            }
        }
    }
}
