import Logging
import PostgresNIO

/// Looks at what a pooled connection's session really is before Gavel serves. Directly
/// on PostgreSQL the pool's startup parameters apply and this finds them; through
/// PgBouncer in transaction mode they are dropped (`ignore_startup_parameters`) and the
/// server's defaults for the role and database apply instead (D44). A 201 for a bid or a
/// payment promises it survives a crash, and a stuck statement must end in a 503: so
/// `synchronous_commit = off` or no statement timeout stops the start, with what to set.
public struct PoolSettingsCheck: Sendable {
    public let location: DatabaseLocation
    public let statementTimeout: Duration

    public init(location: DatabaseLocation, statementTimeout: Duration) {
        self.location = location
        self.statementTimeout = statementTimeout
    }

    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    public func run(logger: Logger) async throws {
        var configuration = location.connectionConfiguration
        configuration.options.additionalStartupParameters = DatabaseLocation.startupParameters(statementTimeout: statementTimeout)
        // With patience, as the migrations' connection: the database may still be starting
        // beside this instance (docker compose), or a failover may be under way.
        let found = try await PostgresConnection.withPatience(location, configuration: configuration, logger: logger) {
            try await Self.settings(on: $0, logger: logger)
        }
        guard let found else { throw Refused(description: "the database did not say what its session settings are") }
        try judge(synchronousCommit: found.0, timeoutMilliseconds: found.1, logger: logger)
    }

    private static func settings(on connection: PostgresConnection, logger: Logger) async throws -> (String, Int64)? {
        let rows = try await connection.query(
            "SELECT current_setting('synchronous_commit'), (SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout')",
            logger: logger)
        for try await row in rows.decode((String, Int64).self) { return row }
        return nil
    }

    func judge(synchronousCommit: String, timeoutMilliseconds: Int64, logger: Logger) throws {
        let wanted = DatabaseLocation.milliseconds(statementTimeout)
        let fix = "a pooler that drops Gavel's startup parameters needs them set on the server: "
            + "ALTER ROLE \(location.username) SET synchronous_commit = on; "
            + "ALTER ROLE \(location.username) SET statement_timeout = '\(wanted)ms' (Docs/operations.md, PgBouncer)"
        guard synchronousCommit != "off" else {
            throw Refused(description: "connections from DATABASE_URL commit with synchronous_commit = off, "
                + "so an acknowledged bid or payment could be lost in a crash; \(fix)")
        }
        guard timeoutMilliseconds > 0 else {
            throw Refused(description: "connections from DATABASE_URL have no statement timeout, "
                + "so a stuck statement would hold its request and row locks for ever; \(fix)")
        }
        if timeoutMilliseconds != wanted {
            logger.warning(
                "the database's statement timeout is not Gavel's",
                metadata: ["database": "\(timeoutMilliseconds) ms", "gavel": "\(wanted) ms", "fix": "\(fix)"])
        }
    }
}
