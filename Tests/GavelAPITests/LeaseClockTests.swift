import Foundation
@testable import GavelStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Lease deadlines")
struct LeaseClockTests {
}

extension RealTime {
    @Suite("Lease deadlines, in real time")
    struct LeaseClockTiming {
        @Test("a deadline fires once after its time, a cancelled one never; the clock ticks again after it went idle")
        func deadlines() async throws {
            let clock = LeaseClock(tick: .milliseconds(10))
            let fired = Mutex<[Int]>([])
            let start = ContinuousClock.now
            _ = clock.schedule(at: start + .milliseconds(40)) { fired.withLock { $0.append(1) } }
            let cancelled = clock.schedule(at: start + .milliseconds(40)) { fired.withLock { $0.append(2) } }
            let later = clock.schedule(at: start + .seconds(60)) { fired.withLock { $0.append(4) } }
            clock.cancel(cancelled)
            try await Task.sleep(for: .milliseconds(20))
            #expect(fired.withLock { $0 } == [], "fired before its time")
            try await Task.sleep(for: .milliseconds(200))
            #expect(fired.withLock { $0 } == [1])
            clock.cancel(later)
            // Nothing pending: the ticking stops; a new deadline must start it again.
            try await Task.sleep(for: .milliseconds(100))
            _ = clock.schedule(at: .now + .milliseconds(20)) { fired.withLock { $0.append(3) } }
            try await Task.sleep(for: .milliseconds(200))
            #expect(fired.withLock { $0 } == [1, 3])
        }

        /// D46: a pool whose host is gone keeps connecting instead of failing its leases.
        /// Requests that came in while the primary went away used to wait out their whole
        /// deadline there (503), even after the new primary was found. Here the first host
        /// refuses every connection and is the primary Gavel believes in; twenty requests
        /// wait on it. The deadline is 10 s, so an answer within 3 s can only come from the
        /// move, and each body must have run exactly once.
        @Test("requests waiting on a host that is gone move to the primary once it is found, well before their deadline, each body run once")
        func waitingLeasesFollowThePrimary() async throws {
            try await withMigratedDatabase { location in
                let gone = location.at(.tcp(host: "127.0.0.1", port: try EmbeddedPostgres.freePort()))
                let live = location.at(location.endpoint)
                let clients = [gone, live].map {
                    PostgresClient(configuration: $0.clientConfiguration, backgroundLogger: quietLogger)
                }
                let hosts = PrimaryHosts(clients: clients, locations: [gone, live], logger: quietLogger)
                let database = Database(hosts: hosts, logger: quietLogger, leaseTimeout: .seconds(10))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in clients { group.addTask { await client.run() } }
                    _ = try await database.transaction { connection in
                        try await connection.query("CREATE TABLE moved_requests (request int NOT NULL)", logger: quietLogger)
                    }
                    #expect(hosts.primaryIndex == 1, "the failed lease on the first host did not find the second")
                    // Believe the gone host is the primary again, as just before a failover.
                    hosts.take(primary: 0)
                    let started = ContinuousClock.now
                    let answered = try await withThrowingTaskGroup(of: Duration.self) { requests in
                        for request in 0..<20 {
                            requests.addTask {
                                _ = try await database.transaction { connection in
                                    try await connection.query(
                                        "INSERT INTO moved_requests VALUES (\(request))", logger: quietLogger)
                                }
                                return ContinuousClock.now - started
                            }
                        }
                        return try await requests.reduce(into: [Duration]()) { $0.append($1) }
                    }
                    #expect(answered.count == 20)
                    #expect(answered.allSatisfy { $0 < .seconds(3) }, "slowest: \(answered.max().map { "\($0)" } ?? "-")")
                    #expect(hosts.primaryIndex == 1)
                    let rows = try await database.withConnection { connection in
                        try await connection.query(
                            "SELECT count(*)::int, count(DISTINCT request)::int FROM moved_requests", logger: quietLogger
                        ).collect().map { try $0.decode((Int, Int).self) }
                    }
                    #expect(rows.first.map { [$0.0, $0.1] } == [20, 20])
                    group.cancelAll()
                }
            }
        }

        /// D17: PostgresNIO 1.33 can leave a query written to a channel that has just closed
        /// unanswered for ever; the closer waited on one, and the process never stopped. Here
        /// the body's own backend is killed and the body then waits for ever, as such a query
        /// would: the caller is answered all the same, at the lease deadline's check (1 s here).
        @Test("a request whose connection closes under it is answered (503) at once, though its body never returns")
        func connectionLostUnderBody() async throws {
            try await withMigratedDatabase { location in
                let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: quietLogger)
                let database = Database(client: client, logger: quietLogger, leaseTimeout: .seconds(1))
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await client.run() }
                    let started = ContinuousClock.now
                    do {
                        _ = try await database.transaction { connection in
                            // The server ends this backend (the statement itself may fail or not).
                            _ = try? await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: quietLogger)
                            // What a lost query looks like from here: no answer, no failure.
                            try await Task.sleep(for: .seconds(3_600))
                        }
                        Issue.record("the transaction returned")
                    } catch {
                        #expect((error as? DatabaseUnavailable)?.description.contains("closed") == true, "\(error)")
                    }
                    #expect(ContinuousClock.now - started < .seconds(5))
                    group.cancelAll()
                }
            }
        }
    }
}
