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
/// each with its SHA-256. A session advisory lock makes instances that start together
/// apply every migration once; an applied file that changed stops start-up.
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
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
        do {
            let applied = try await apply(on: connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            throw error
        }
    }

    private func apply(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS gavel_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var recorded: [Int: (name: String, checksum: String)] = [:]
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM gavel_migrations", logger: logger)
        for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
            recorded[version] = (name, checksum)
        }
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
        var applied: [Int] = []
        for migration in migrations where recorded[migration.version] == nil {
            logger.info("applying migration", metadata: ["migration": "\(migration.version)_\(migration.name)"])
            try await PostgresTransactionError.unwrapping {
                try await connection.withTransaction(logger: logger) { connection in
                    for statement in SQLScript.statements(in: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        """
                        INSERT INTO gavel_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                        """, logger: logger)
                }
            }
            applied.append(migration.version)
        }
        return applied
    }
}
