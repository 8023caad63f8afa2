import Crypto
import Foundation
import Logging
import PostgresNIO

/// One numbered file of `SQL/`, e.g. `0001_foundation.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public var checksum: String {
        APIToken.hex(SHA256.hash(data: Data(sql.utf8)))
    }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case directoryMissing(String)
    case badFileName(String)
    case duplicateVersion(Int)
    case changedAfterApply(version: Int, name: String, applied: String, onDisk: String)
    case missingFile(version: Int, name: String)

    public var description: String {
        switch self {
        case .directoryMissing(let path):
            "migrations directory \(path) does not exist (set GAVEL_SQL_DIR)"
        case .badFileName(let name):
            "migration file \(name) is not named NNNN_name.sql"
        case .duplicateVersion(let version):
            "two migration files share the number \(version)"
        case .changedAfterApply(let version, let name, let applied, let onDisk):
            "migration \(String(format: "%04d", version))_\(name).sql was changed after it was applied "
                + "(applied checksum \(applied.prefix(12)), file now \(onDisk.prefix(12))); "
                + "never edit an applied migration, add a new one"
        case .missingFile(let version, let name):
            "migration \(String(format: "%04d", version))_\(name) is applied in the database but its file is gone"
        }
    }
}

/// Applies `SQL/NNNN_name.sql` files in order, each in its own transaction, recording
/// each with its SHA-256; an applied file that changed stops start-up. Instances that
/// start together apply every migration once: each transaction takes a transaction-scoped
/// advisory lock and looks again at what is applied. Nothing is kept in the session
/// between transactions, so the runner works through a pooler in transaction mode
/// (PgBouncer), where consecutive transactions may run on different server connections
/// and a session lock could be taken on one and never released (issue 19, D44).
public struct MigrationRunner: Sendable {
    public let migrations: [Migration]

    /// The advisory lock key: an arbitrary constant all Gavel instances agree on.
    static let lockKey: Int64 = 0x6761_7665_6C00

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    public init(directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MigrationError.directoryMissing(directory)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
        var migrations: [Migration] = []
        for file in files {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0 else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            migrations.append(Migration(version: version, name: String(parts[1]), sql: sql))
        }
        let versions = migrations.map(\.version)
        if let duplicate = versions.first(where: { version in versions.filter { $0 == version }.count > 1 }) {
            throw MigrationError.duplicateVersion(duplicate)
        }
        self.init(migrations: migrations)
    }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func run(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        let recorded = try await locked(on: connection, logger: logger) { connection in
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS gavel_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            return try await Self.recorded(on: connection, logger: logger)
        }
        try check(recorded)
        var applied: [Int] = []
        for migration in migrations where recorded[migration.version] == nil {
            let appliedHere = try await locked(on: connection, logger: logger) { connection in
                // Another instance may have applied it since the first look.
                let now = try await Self.recorded(on: connection, logger: logger)
                try check(now)
                guard now[migration.version] == nil else { return false }
                logger.info("applying migration", metadata: ["migration": "\(migration.version)_\(migration.name)"])
                for statement in SQLScript.statements(in: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO gavel_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
                return true
            }
            if appliedHere { applied.append(migration.version) }
        }
        return applied
    }

    /// One transaction holding the runner's lock until it ends.
    private func locked<Result: Sendable>(
        on connection: PostgresConnection, logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await PostgresTransactionError.unwrapping {
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
                return try await body(connection)
            }
        }
    }

    private static func recorded(on connection: PostgresConnection, logger: Logger) async throws -> [Int: (name: String, checksum: String)] {
        var recorded: [Int: (name: String, checksum: String)] = [:]
        let rows = try await connection.query("SELECT version, name, checksum FROM gavel_migrations", logger: logger)
        for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
            recorded[version] = (name, checksum)
        }
        return recorded
    }

    /// Every applied migration still has its file, unchanged.
    private func check(_ recorded: [Int: (name: String, checksum: String)]) throws {
        let onDisk = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, entry) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = onDisk[version] else {
                throw MigrationError.missingFile(version: version, name: entry.name)
            }
            guard migration.checksum == entry.checksum else {
                throw MigrationError.changedAfterApply(
                    version: version, name: migration.name, applied: entry.checksum, onDisk: migration.checksum)
            }
        }
    }
}
