import Foundation
import GavelStore
import PostgresNIO
import Testing

@Suite("Migrations")
struct MigrationTests {
    static func appliedVersions(_ client: PostgresConnection) async throws -> [Int] {
        var versions: [Int] = []
        let rows = try await client.query("SELECT version FROM gavel_migrations ORDER BY version", logger: quietLogger)
        for try await version in rows.decode(Int.self) { versions.append(version) }
        return versions
    }

    @Test("the SQL/ files apply once, in order, and a second run applies nothing")
    func applyOnce() async throws {
        let runner = try MigrationRunner(directory: repositoryRoot + "/SQL")
        #expect(runner.migrations.first?.version == 1)
        try await withEmptyDatabase { location in
            try await PostgresConnection.with(location, logger: quietLogger) { client in
                let first = try await runner.run(on: client, logger: quietLogger)
                #expect(first == runner.migrations.map(\.version))
                let second = try await runner.run(on: client, logger: quietLogger)
                #expect(second.isEmpty)
                #expect(try await Self.appliedVersions(client) == runner.migrations.map(\.version))
            }
        }
    }

    @Test("instances starting together apply each migration exactly once")
    func concurrentStarts() async throws {
        let runner = try MigrationRunner(directory: repositoryRoot + "/SQL")
        try await withEmptyDatabase { location in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await PostgresConnection.with(location, logger: quietLogger) { client in
                            try await runner.run(on: client, logger: quietLogger)
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == runner.migrations.map(\.version))
        }
    }

    @Test("an applied migration whose file changed stops start-up with a clear error")
    func checksumRefusal() async throws {
        let original = Migration(version: 1, name: "first", sql: "CREATE TABLE a (id int);")
        let second = Migration(version: 2, name: "second", sql: "CREATE TABLE b (id int);")
        try await withEmptyDatabase { location in
            try await PostgresConnection.with(location, logger: quietLogger) { client in
                try await MigrationRunner(migrations: [original]).run(on: client, logger: quietLogger)
                let edited = Migration(version: 1, name: "first", sql: "CREATE TABLE a (id bigint);")
                do {
                    try await MigrationRunner(migrations: [edited, second]).run(on: client, logger: quietLogger)
                    Issue.record("a changed migration was accepted")
                } catch let error as MigrationError {
                    guard case .changedAfterApply(let version, let name, _, _) = error else {
                        Issue.record("wrong error \(error)")
                        return
                    }
                    #expect(version == 1 && name == "first")
                    #expect(error.description.contains("0001_first.sql was changed after it was applied"))
                }
                // Nothing after the refusal was applied.
                #expect(try await Self.appliedVersions(client) == [1])
                // A migration removed from disk is refused too.
                await #expect(throws: MigrationError.missingFile(version: 1, name: "first")) {
                    try await MigrationRunner(migrations: [second]).run(on: client, logger: quietLogger)
                }
            }
        }
    }

    @Test("a failing migration leaves nothing half-applied")
    func atomic() async throws {
        let broken = Migration(version: 1, name: "broken", sql: "CREATE TABLE ok (id int);\nCREATE TABLE ok (id int);")
        try await withEmptyDatabase { location in
            try await PostgresConnection.with(location, logger: quietLogger) { client in
                await #expect(throws: PSQLError.self) {
                    try await MigrationRunner(migrations: [broken]).run(on: client, logger: quietLogger)
                }
                #expect(try await Self.appliedVersions(client).isEmpty)
                let rows = try await client.query("SELECT count(*)::int FROM pg_tables WHERE tablename = 'ok'", logger: quietLogger)
                for try await count in rows.decode(Int.self) { #expect(count == 0) }
            }
        }
    }

    @Test("file names must be NNNN_name.sql")
    func fileNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gavel-sql-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "SELECT 1;".write(toFile: directory + "/1_short.sql", atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.badFileName("1_short.sql")) { try MigrationRunner(directory: directory) }
        #expect(throws: MigrationError.directoryMissing(directory + "/none")) { try MigrationRunner(directory: directory + "/none") }
    }
}

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test("statements split at top-level semicolons only")
    func split() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE t (a text DEFAULT 'x;y', "odd;name" int);
            /* block; comment /* nested; */ still */
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'no; never';
            END;
            $$;
            CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
            INSERT INTO t VALUES ('it''s; fine', 1);
            SELECT $1::int
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix(#"CREATE TABLE t (a text DEFAULT 'x;y', "odd;name" int)"#))
        #expect(statements[1].contains("RAISE EXCEPTION 'no; never';\nEND;\n$$"))
        #expect(statements[2].hasSuffix("$body$ SELECT 1; $body$"))
        #expect(statements[3] == "INSERT INTO t VALUES ('it''s; fine', 1)")
        #expect(statements[4] == "SELECT $1::int")
    }

    @Test("comments and blank space alone make no statement")
    func empty() {
        #expect(SQLScript.statements(in: "-- nothing\n\n;;\n").isEmpty)
    }
}
