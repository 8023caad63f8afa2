import Foundation
import GavelCore
@testable import GavelStore
import PostgresNIO
import Testing

/// Reads that may lag served by a standby (issue 19, item 5; D47): only when what it
/// holds is within the bound and includes the caller's own changes; otherwise, and when
/// the standby fails, the primary answers the same read.
@Suite("Reads from a standby")
struct ReplicaTests {
    static let started = "2026-12-01 09:00:00.123456+00"

    @Test("fresh means: replayed past a sample of the primary's flushed WAL taken within the bound, and past the reader's own last change")
    func freshnessRules() {
        let t0 = ContinuousClock.now
        var freshness = ReplicaFreshness(maximumLag: .seconds(1))
        let standby = { (replayed: Int64) in StandbyPosition(inRecovery: true, replayed: replayed, serverStarted: "another") }
        // Nothing known of the primary yet: the standby is not tried.
        #expect(!freshness.mayTry(at: t0))
        #expect(!freshness.isFresh(standby(1_000), for: nil, at: t0))

        freshness.add(PrimarySample(flushed: 100, serverStarted: Self.started), at: t0)
        freshness.add(PrimarySample(flushed: 200, serverStarted: Self.started), at: t0 + .milliseconds(100))
        #expect(freshness.mayTry(at: t0 + .milliseconds(100)))
        // Replayed 150: everything acknowledged before the first sample, not the second.
        #expect(freshness.holdsEverything(upTo: standby(150)) == t0)
        #expect(freshness.holdsEverything(upTo: standby(99)) == nil)
        #expect(freshness.holdsEverything(upTo: standby(200)) == t0 + .milliseconds(100))
        #expect(freshness.isFresh(standby(150), for: nil, at: t0 + .milliseconds(900)))
        #expect(freshness.isFresh(standby(150), for: nil, at: t0 + .milliseconds(1_000)))
        #expect(!freshness.isFresh(standby(150), for: nil, at: t0 + .milliseconds(1_001)))
        #expect(!freshness.isFresh(standby(99), for: nil, at: t0 + .milliseconds(150)))

        // A caller who changed something after the first sample reads from the primary
        // until the standby is past a sample taken after the change; others do not wait.
        let clerk = UUID(), other = UUID()
        freshness.noteChange(by: clerk, at: t0 + .milliseconds(50))
        #expect(!freshness.isFresh(standby(150), for: clerk, at: t0 + .milliseconds(300)))
        #expect(freshness.isFresh(standby(150), for: other, at: t0 + .milliseconds(300)))
        #expect(freshness.isFresh(standby(200), for: clerk, at: t0 + .milliseconds(300)))

        // Samples older than the bound go, the newest stays however old.
        freshness.add(PrimarySample(flushed: 300, serverStarted: Self.started), at: t0 + .milliseconds(2_500))
        #expect(freshness.samples.map(\.flushed) == [300])
        #expect(!freshness.isFresh(standby(250), for: nil, at: t0 + .milliseconds(2_600)))

        // Not in recovery: the primary itself (same postmaster start) is fresh; any other
        // server that is not in recovery (an old primary cut off by a failover) is not.
        #expect(freshness.isFresh(StandbyPosition(inRecovery: false, replayed: 0, serverStarted: Self.started), for: clerk, at: t0 + .seconds(9)))
        #expect(!freshness.isFresh(StandbyPosition(inRecovery: false, replayed: 0, serverStarted: "2026-12-01 08:00:00+00"), for: nil, at: t0 + .milliseconds(2_600)))

        // Another primary (a failover): positions start again.
        freshness.add(PrimarySample(flushed: 50, serverStarted: "2026-12-01 10:00:00+00"), at: t0 + .milliseconds(2_700))
        #expect(freshness.samples.map(\.flushed) == [50])
        #expect(freshness.holdsEverything(upTo: standby(60)) == t0 + .milliseconds(2_700))

        // A failing standby rests: not tried again for the rest period, twice as long
        // after each failure in a row, never more than a minute; an answer ends it.
        freshness.failed(at: t0 + .seconds(3), rest: .seconds(5))
        #expect(!freshness.mayTry(at: t0 + .seconds(7)))
        #expect(freshness.mayTry(at: t0 + .seconds(8)))
        freshness.failed(at: t0 + .seconds(8), rest: .seconds(5))
        #expect(!freshness.mayTry(at: t0 + .seconds(17)))
        #expect(freshness.mayTry(at: t0 + .seconds(18)))
        for _ in 0..<10 { freshness.failed(at: t0 + .seconds(20), rest: .seconds(5)) }
        #expect(!freshness.mayTry(at: t0 + .seconds(79)))
        #expect(freshness.mayTry(at: t0 + .seconds(80)))
        freshness.answered()
        #expect(freshness.mayTry(at: t0 + .seconds(21)))
    }

    @Test("the standby's failures the primary can make good are sent there; a write refused as read-only is not hidden")
    func whichFailuresMove() {
        #expect(ReadReplica.sendsToPrimary(DatabaseUnavailable(description: "no connection")))
        #expect(!ReadReplica.sendsToPrimary(Refusal.notFound("case")))
    }

    @Test("a read URL naming the primary itself: the reads that may lag run there in read-only sessions, and see every change at once")
    func readURLOfThePrimary() async throws {
        try await withMigratedDatabase { location in
            try await withGavel(on: location, configure: { $0.readDatabase = location }) { gavel in
                let consignor = try await gavel.createConsignor()
                let manager = try await gavel.createUser(.manager, consignorId: consignor)
                let finance = try await gavel.createUser(.finance)
                try await Self.waitForSamples(gavel)
                for index in 1...3 {
                    let created = try await gavel.request(
                        .post, "/v1/cases", token: manager.token,
                        json: Disposal.caseBody(consignorId: consignor, loanNumber: "LN-R-\(index)"))
                    #expect(created.status == .created, "\(created.text)")
                    let id = try created.string("id")
                    // The same server: nobody waits for anything.
                    #expect(try await gavel.request(.get, "/v1/cases", token: finance.token).text.contains(id))
                    #expect(try await gavel.request(.get, "/v1/cases", token: manager.token).text.contains(id))
                }
                let balance = try await gavel.request(.get, "/v1/ledger/trial-balance", token: finance.token)
                #expect(balance.status == .ok, "\(balance.text)")
                let outcomes = try await Self.outcomes(gavel)
                #expect(outcomes["served", default: 0] >= 7, "\(outcomes)")
                #expect(outcomes["stale", default: 0] == 0 && outcomes["failed", default: 0] == 0, "\(outcomes)")
            }
        }
    }

    @Test("a streaming standby serves lists within the bound; while its replay is paused the primary answers with every case; when it stops, the primary answers without a 503")
    func streamingStandby() async throws {
        try await withPrimaryAndStandby("replica") { primary, standby in
            let primaryLocation = try primary.tcpLocation()
            let standbyLocation = try standby.tcpLocation()
            let lag = Duration.milliseconds(800)

            try await withGavel(on: primaryLocation, configure: { $0.readDatabase = standbyLocation; $0.readMaximumLag = lag }) { gavel in
                let consignor = try await gavel.createConsignor()
                let manager = try await gavel.createUser(.manager, consignorId: consignor)
                let finance = try await gavel.createUser(.finance)
                try await Self.waitForSamples(gavel)
                func createCase(_ number: String) async throws -> String {
                    let created = try await gavel.request(
                        .post, "/v1/cases", token: manager.token, json: Disposal.caseBody(consignorId: consignor, loanNumber: number))
                    #expect(created.status == .created, "\(created.text)")
                    return try created.string("id")
                }
                func listed(by token: String) async throws -> String {
                    let reply = try await gavel.request(.get, "/v1/cases", token: token)
                    #expect(reply.status == .ok, "\(reply.text)")
                    return reply.text
                }

                // Whoever made a change sees it at once, wherever the standby is.
                let first = try await createCase("LN-S-1")
                #expect(try await listed(by: manager.token).contains(first))
                // Anyone else within the bound; then, with the standby caught up, it serves.
                let deadline = ContinuousClock.now + lag + .seconds(2)
                while try await !listed(by: finance.token).contains(first) {
                    #expect(ContinuousClock.now < deadline, "the case never appeared to finance")
                    try await Task.sleep(for: .milliseconds(50))
                }
                let before = try await Self.outcomes(gavel)
                for _ in 0..<5 { #expect(try await listed(by: finance.token).contains(first)) }
                let served = try await Self.outcomes(gavel)
                #expect(served["served", default: 0] > before["served", default: 0], "\(served)")
                // What the standby serves is what the primary holds.
                let trialBalance = try await gavel.request(.get, "/v1/ledger/trial-balance", token: finance.token)
                #expect(trialBalance.status == .ok)

                // Replay paused: the standby falls behind. Past the bound, the primary answers,
                // so a case made meanwhile is listed for everyone.
                try await PostgresConnection.with(standbyLocation, logger: quietLogger) { connection in
                    try await connection.query("SELECT pg_wal_replay_pause()", logger: quietLogger)
                }
                let second = try await createCase("LN-S-2")
                #expect(try await listed(by: manager.token).contains(second))
                try await Task.sleep(for: lag + .milliseconds(300))
                #expect(try await listed(by: finance.token).contains(second))
                let paused = try await Self.outcomes(gavel)
                #expect(paused["stale", default: 0] > served["stale", default: 0], "\(paused)")
                let onStandby = try await PostgresConnection.with(standbyLocation, logger: quietLogger) { connection in
                    var found = 0
                    for try await count in try await connection.query(
                        "SELECT count(*)::int FROM cases WHERE id = \(UUID(uuidString: second)!)", logger: quietLogger).decode(Int.self) { found = count }
                    return found
                }
                #expect(onStandby == 0, "the standby was to be behind")

                // Replay resumed: the standby serves again.
                try await PostgresConnection.with(standbyLocation, logger: quietLogger) { connection in
                    try await connection.query("SELECT pg_wal_replay_resume()", logger: quietLogger)
                }
                let resumed = ContinuousClock.now + .seconds(5)
                while try await Self.outcomes(gavel)["served", default: 0] == paused["served", default: 0] {
                    #expect(try await listed(by: finance.token).contains(second))
                    #expect(ContinuousClock.now < resumed, "the standby never served again after its replay resumed")
                    try await Task.sleep(for: .milliseconds(100))
                }

                // The standby stops: reads go to the primary, at once after the first failure.
                try standby.stop()
                let stopped = ContinuousClock.now
                #expect(try await listed(by: finance.token).contains(second))
                #expect(ContinuousClock.now - stopped < .seconds(3))
                for _ in 0..<3 { #expect(try await listed(by: finance.token).contains(second)) }
                let after = try await Self.outcomes(gavel)
                #expect(after["failed", default: 0] >= 1 && after["resting", default: 0] >= 3, "\(after)")
            }
        }
    }

    /// Until the first sample of the primary, every read goes there; the tests wait for it.
    static func waitForSamples(_ gavel: Harness) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let reply = try await gavel.request(.get, "/v1/users", token: gavel.adminToken)
            #expect(reply.status == .ok)
            let outcomes = try await outcomes(gavel)
            if outcomes["served", default: 0] + outcomes["stale", default: 0] > 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no read ever tried the standby")
    }

    /// `gavel_replica_reads_total` by outcome.
    static func outcomes(_ gavel: Harness) async throws -> [String: Int] {
        let text = try await gavel.request(.get, "/metrics").text
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("gavel_replica_reads_total{") {
            guard let start = line.range(of: "outcome=\""), let end = line[start.upperBound...].firstIndex(of: "\""),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            counts[String(line[start.upperBound..<end])] = Int(value)
        }
        return counts
    }
}
