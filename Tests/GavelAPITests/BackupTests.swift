import Foundation
import GavelCore
@testable import GavelStore
import PostgresNIO
import Testing

/// Backups that restore (issue 19, item 4; Docs/operations.md, "Backups"): a base
/// backup taken while Gavel serves, WAL archived by `archive_command`, and a restore to
/// a point in time between two stretches of bidding and deposits.
@Suite("Backups")
struct BackupTests {
    @Test("a base backup and archived WAL restore to a point in time: every bid acknowledged and every journal entry up to it, none after, the ledger balanced")
    func pointInTimeRestore() async throws {
        let root = NSTemporaryDirectory() + "gavel-pitr-\(UUID().uuidString.prefix(8))"
        let primary = EmbeddedPostgres(home: root + "/primary")
        let restored = EmbeddedPostgres(home: root + "/restored")
        // Inside the primary's home, which the cluster's user owns; the restore reads it.
        let archive = primary.home + "/wal-archive"
        defer {
            try? primary.stop()
            try? restored.stop()
            try? FileManager.default.removeItem(atPath: root)
        }
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        try primary.start()
        try await PostgresConnection.with(try primary.location(database: "postgres"), logger: quietLogger) { connection in
            try await connection.query("ALTER SYSTEM SET archive_mode = on", logger: quietLogger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER SYSTEM SET archive_command = 'test ! -f \(archive)/%f && cp %p \(archive)/%f'"),
                logger: quietLogger)
        }
        try primary.stop()
        try primary.start()
        let location = try primary.tcpLocation()

        let (lot, answeredBefore, answeredAfter, entriesAtTarget, target) = try await withGavel(on: location) { gavel in
            let open = try await OpenLot.start(gavel, bidders: 4)
            let lot = try await LoadedLot.of(open, in: gavel)
            let finance = open.finance
            var amount: Int64 = 5_900_000
            func bids(_ count: Int) async throws -> [String] {
                var answered: [String] = []
                for index in 0..<count {
                    let reply = try await gavel.request(
                        .post, "/v1/lots/\(lot.id)/bids", token: lot.tokens[index % lot.tokens.count], json: #"{"maxAmount": \#(amount)}"#)
                    if reply.status == .created { answered.append(try reply.string("bidId")) }
                    amount += 50_000
                }
                return answered
            }
            func deposit(_ name: String) async throws {
                let bidder = try await gavel.createUser(.bidder, name: name)
                let reply = try await gavel.request(
                    .post, "/v1/lots/\(lot.id)/deposits", token: finance.token,
                    json: #"{"bidderId": "\#(bidder.id)", "amount": 590000, "reference": "\#(name)"}"#)
                guard reply.status == .created else { throw TestSetupError("deposit: \(reply.text)") }
            }
            _ = try await bids(10)
            // The base backup, taken while Gavel serves.
            try await Self.run(try EmbeddedPostgres.binaryDirectory() + "/pg_basebackup", [
                "--dbname", location.url, "--pgdata", restored.home + "/pgdata", "--wal-method", "stream", "--checkpoint", "fast",
            ])
            let before = try await bids(60)
            try await deposit("after the backup")
            let (entries, target) = try await gavel.sql { connection in
                (try await Self.journalEntries(connection), try await Self.clock(connection))
            }
            try await Task.sleep(for: .milliseconds(200))
            let after = try await bids(60)
            try await deposit("after the target")
            // The segment holding the last commits goes to the archive now, not when it fills.
            try await gavel.sql { connection in
                var segment = ""
                for try await name in try await connection.query(
                    "SELECT pg_walfile_name(pg_switch_wal())", logger: quietLogger).decode(String.self) { segment = name }
                let deadline = ContinuousClock.now + .seconds(30)
                while try await Self.lastArchived(connection) < segment {
                    guard ContinuousClock.now < deadline else { throw TestSetupError("WAL segment \(segment) was not archived within 30 s") }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            return (lot, before, after, entries, target)
        }
        #expect(answeredBefore.count >= 20 && answeredAfter.count >= 20, "too few bids to mean anything: \(answeredBefore.count), \(answeredAfter.count)")
        try primary.stop()

        // The restore: the base backup, the archive, and where to stop.
        try FileManager.default.copyItem(atPath: primary.home + "/superuser-password", toPath: restored.home + "/superuser-password")
        let settings = """

            restore_command = 'cp \(archive)/%f %p'
            recovery_target_time = '\(target)'
            recovery_target_action = 'promote'
            archive_mode = off

            """
        let autoConf = FileHandle(forWritingAtPath: restored.home + "/pgdata/postgresql.auto.conf")!
        autoConf.seekToEndOfFile()
        autoConf.write(Data(settings.utf8))
        try autoConf.close()
        FileManager.default.createFile(atPath: restored.home + "/pgdata/recovery.signal", contents: Data())
        try restored.start()
        let restoredLocation = try restored.tcpLocation()
        try await PostgresConnection.with(restoredLocation, logger: quietLogger) { connection in
            let deadline = ContinuousClock.now + .seconds(60)
            while try await Self.inRecovery(connection) {
                guard ContinuousClock.now < deadline else { throw TestSetupError("the restored cluster did not finish recovery in 60 s") }
                try await Task.sleep(for: .milliseconds(100))
            }
            let stored = Set(try await Replay.storedBids(lotId: UUID(uuidString: lot.id)!, on: connection).map { $0.id.uuidString.lowercased() })
            #expect(Set(answeredBefore).isSubset(of: stored), "a bid acknowledged before the target is missing")
            #expect(Set(answeredAfter).isDisjoint(with: stored), "a bid from after the target was restored")
            #expect(try await Self.journalEntries(connection) == entriesAtTarget)
        }
        // The lot is the replay of its restored bids, and the books balance.
        try await lot.expectReplayHolds(on: restoredLocation, answered: Set(answeredBefore), after: "the restore")
        try await expectBalancedBooks(restoredLocation)
    }

    static func journalEntries(_ connection: PostgresConnection) async throws -> [String] {
        var keys: [String] = []
        for try await key in try await connection.query("SELECT event_key FROM journal_entries ORDER BY seq", logger: quietLogger).decode(String.self) {
            keys.append(key)
        }
        return keys
    }

    static func clock(_ connection: PostgresConnection) async throws -> String {
        for try await now in try await connection.query("SELECT clock_timestamp()::text", logger: quietLogger).decode(String.self) { return now }
        throw TestSetupError("no clock")
    }

    static func lastArchived(_ connection: PostgresConnection) async throws -> String {
        for try await name in try await connection.query(
            "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver", logger: quietLogger).decode(String.self) { return name }
        return ""
    }

    static func inRecovery(_ connection: PostgresConnection) async throws -> Bool {
        for try await flag in try await connection.query("SELECT pg_is_in_recovery()", logger: quietLogger).decode(Bool.self) { return flag }
        return true
    }

    static func run(_ executable: String, _ arguments: [String]) async throws {
        let child = try ChildProcess.start(executable, arguments, environment: ProcessInfo.processInfo.environment)
        guard let status = try await child.wait(timeout: .seconds(120)) else { throw TestSetupError("\(executable) did not finish") }
        guard status == 0 else { throw TestSetupError("\(executable) failed (\(status)): \(child.output.suffix(2_000))") }
    }
}
