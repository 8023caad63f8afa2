import Foundation
import Logging
import PostgresNIO

/// The monthly partitions of bids, lot events and audit records (SQL/0034, D45).
public enum HistoryPartitions {
    /// Months made ahead of the current one, so that the partition a row needs exists
    /// long before its first row; the DEFAULT partition only catches a clock far off.
    public static let monthsAhead = 3

    /// Makes the current month's partitions and the next `monthsAhead` months' (UTC) if
    /// missing; returns how many tables were made.
    @discardableResult
    public static func ensure(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            """
            SELECT create_history_partitions((now() AT TIME ZONE 'UTC')::date,
                                             ((now() + make_interval(months => \(Int32(monthsAhead)))) AT TIME ZONE 'UTC')::date)
            """, logger: logger)
        for try await created in rows.decode(Int.self) { return created }
        return 0
    }

    /// Detaches whole months older than `keepMonths` full months before the current one,
    /// except a month holding bids or events of a case still open; returns the tables
    /// detached (left in the database, for `pg_dump -t` and `DROP TABLE`).
    public static func detach(keepingMonths keepMonths: Int, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let rows = try await connection.query(
            """
            SELECT detach_history_partitions(
                (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => \(Int32(keepMonths))))::date)
            """, logger: logger)
        var detached: [String] = []
        for try await name in rows.decode(String.self) { detached.append(name) }
        return detached
    }
}
