import Foundation
import GavelStore
import PostgresNIO
import Testing

/// Bids, lot events and audit records by month (issue 19, item 3; SQL/0034, D45).
@Suite("History by month")
struct HistoryPartitionTests {
    static func rows<T: PostgresDecodable & Sendable>(_ sql: String, as type: T.Type, on connection: PostgresConnection) async throws -> [T] {
        var values: [T] = []
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger).decode(T.self) { values.append(value) }
        return values
    }

    @Test("the current month and the next three exist for each table; a bid, its events and its audit record land in this month's partitions")
    func rowsLandInTheirMonth() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let bid = try await lot.bid(0, 6_000_000)
            #expect(bid.status == .created, "\(bid.text)")
            let bidId = try bid.string("bidId")
            try await gavel.sql { connection in
                let month = try await Self.rows("SELECT to_char(now() AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM')", as: String.self, on: connection)[0]
                let partitions = Set(try await Self.rows(
                    "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'bids'::regclass",
                    as: String.self, on: connection))
                #expect(partitions.contains("bids_\(month)") && partitions.contains("bids_default"))
                #expect(partitions.count == 1 + HistoryPartitions.monthsAhead + 1, "\(partitions.sorted())")
                for table in ["lot_events", "audit_log"] {
                    let count = try await Self.rows(
                        "SELECT count(*)::int FROM pg_inherits WHERE inhparent = '\(table)'::regclass", as: Int.self, on: connection)[0]
                    #expect(count == partitions.count, "\(table) has \(count) partitions")
                }
                #expect(try await Self.rows(
                    "SELECT tableoid::regclass::text FROM bids WHERE id = '\(bidId)'", as: String.self, on: connection) == ["bids_\(month)"])
                #expect(try await Self.rows(
                    "SELECT DISTINCT tableoid::regclass::text FROM lot_events WHERE lot_id = '\(lot.lotId)'", as: String.self, on: connection)
                    == ["lot_events_\(month)"])
                #expect(try await Self.rows("SELECT count(*)::int FROM audit_log_default", as: Int.self, on: connection) == [0])
                // Making them again makes nothing.
                #expect(try await HistoryPartitions.ensure(on: connection, logger: quietLogger) == 0)
                // The audit trail stays append-only in every partition, by the parent or by name.
                await #expect(throws: PSQLError.self) {
                    try await connection.query("UPDATE audit_log SET actor_name = 'someone else'", logger: quietLogger)
                }
                await #expect(throws: PSQLError.self) {
                    try await connection.query(PostgresQuery(unsafeSQL: "TRUNCATE audit_log_\(month)"), logger: quietLogger)
                }
            }
        }
    }

    @Test("a row dated where no month exists goes to the default partition; that table's month is then not made, the rest is")
    func defaultPartition() async throws {
        try await withMigratedDatabase { location in
            try await PostgresConnection.with(location, logger: quietLogger) { connection in
                try await connection.query(
                    """
                    INSERT INTO audit_log (at, actor_name, action, entity_type, entity_id)
                    VALUES ('2020-01-15T10:00:00Z', 'clock', 'test.far-past', 'test', gen_random_uuid())
                    """, logger: quietLogger)
                #expect(try await Self.rows("SELECT count(*)::int FROM audit_log_default", as: Int.self, on: connection) == [1])
                let made = try await Self.rows(
                    "SELECT create_history_partitions('2020-01-01', '2020-02-01')", as: Int.self, on: connection)
                // January 2020 of the audit log is held by its default partition; the rest is made.
                #expect(made == [5])
                #expect(try await Self.rows("SELECT to_regclass('audit_log_y2020m01')::text", as: String?.self, on: connection) == [nil])
                #expect(try await Self.rows("SELECT to_regclass('bids_y2020m01')::text", as: String?.self, on: connection) == ["bids_y2020m01"])
                #expect(try await Self.rows("SELECT count(*)::int FROM audit_log WHERE action = 'test.far-past'", as: Int.self, on: connection) == [1])
            }
        }
    }

    @Test("retention detaches a month whole, never one with bids of a case still open")
    func detachment() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            try await gavel.sql { connection in
                #expect(try await Self.rows(
                    "SELECT create_history_partitions('2021-03-01', '2021-04-01')", as: Int.self, on: connection) == [6])
                // A bid from March 2021 on a lot whose case is open.
                try await connection.query(
                    PostgresQuery(unsafeSQL: """
                        INSERT INTO bids (id, lot_id, bidder_id, sequence, max_amount, price_after, leader_after, ends_at_after, placed_at)
                        SELECT gen_random_uuid(), l.id, u.id, nextval('bid_sequence'), 6000000, 5900000, u.id, l.ends_at, '2021-03-10T12:00:00Z'
                        FROM lots l, users u WHERE l.id = '\(lot.lotId)' AND u.id = '\(lot.bidders[0].id)'
                        """), logger: quietLogger)
                let detached = try await Self.rows("SELECT detach_history_partitions('2021-05-01')", as: String.self, on: connection)
                #expect(detached.sorted() == ["audit_log_y2021m04", "bids_y2021m04", "lot_events_y2021m04"])
                // Detached tables stay, on their own, for pg_dump -t and DROP TABLE.
                #expect(try await Self.rows(
                    "SELECT relispartition FROM pg_class WHERE relname = 'bids_y2021m04'", as: Bool.self, on: connection) == [false])
                #expect(try await Self.rows(
                    "SELECT relispartition FROM pg_class WHERE relname = 'bids_y2021m03'", as: Bool.self, on: connection) == [true])
                #expect(try await Self.rows(
                    "SELECT count(*)::int FROM bids WHERE placed_at < '2022-01-01'", as: Int.self, on: connection) == [1])
            }
        }
    }

    @Test("the migration keeps every audit record, in its month, with its number, and numbering goes on")
    func migrationCopies() async throws {
        let all = try MigrationRunner(directory: repositoryRoot + "/SQL")
        try await withEmptyDatabase { location in
            try await PostgresConnection.with(location, logger: quietLogger) { connection in
                try await MigrationRunner(migrations: all.migrations.filter { $0.version < 34 }).run(on: connection, logger: quietLogger)
                try await connection.query(
                    """
                    INSERT INTO audit_log (at, actor_name, action, entity_type, entity_id)
                    SELECT t, 'before', 'test.copied', 'test', gen_random_uuid()
                    FROM unnest(ARRAY['2026-01-31T23:59:59Z', '2026-05-01T00:00:00Z', now()]::timestamptz[]) AS t
                    """, logger: quietLogger)
                let before = try await Self.rows(
                    "SELECT seq::text || '@' || at::text FROM audit_log ORDER BY seq", as: String.self, on: connection)
                #expect(try await all.run(on: connection, logger: quietLogger) == [34] + all.migrations.map(\.version).filter { $0 > 34 })
                let after = try await Self.rows(
                    "SELECT seq::text || '@' || at::text FROM audit_log ORDER BY seq", as: String.self, on: connection)
                #expect(after == before)
                let homes = try await Self.rows(
                    "SELECT tableoid::regclass::text FROM audit_log WHERE action = 'test.copied' ORDER BY at", as: String.self, on: connection)
                #expect(homes.prefix(2) == ["audit_log_y2026m01", "audit_log_y2026m05"])
                #expect(homes.last != "audit_log_default")
                try await connection.query(
                    "INSERT INTO audit_log (actor_name, action, entity_type, entity_id) VALUES ('after', 'test.new', 'test', gen_random_uuid())",
                    logger: quietLogger)
                let numbers = try await Self.rows("SELECT seq FROM audit_log ORDER BY seq", as: Int64.self, on: connection)
                #expect(numbers.count == 4 && Set(numbers).count == 4 && numbers.last! > numbers.dropLast().max()!)
            }
        }
    }
}
