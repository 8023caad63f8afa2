import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Synchronization
import Testing

@Suite("Crashes and leaks")
struct ReliabilityTests {
    @Test("kill -9 of an instance under bid load: every 201 a client saw is stored, and the lot equals the replay")
    func crash() async throws {
        try await withMigratedDatabase { location in
            let (lotId, bidders, startsAt, endsAt) = try await withGavel(on: location) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 16)
                let times = try await gavel.sql { connection in
                    var times = (Date(), Date())
                    for try await row in try await connection.query(
                        "SELECT starts_at, ends_at FROM lots WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger
                    ).decode((Date, Date).self) { times = row }
                    return times
                }
                return (lot.lotId, lot.bidders.map(\.token), times.0, times.1)
            }
            let answered: Set<String> = try await MultiInstanceTests.withInstances(2, on: location) { ports, children in
                let victim = children[0]
                let accepted = try await withThrowingTaskGroup(of: [String].self) { group -> [String] in
                    for (index, token) in bidders.enumerated() {
                        let port = ports[index % 2]
                        group.addTask { await Self.bidFor(seconds: 4, port: port, lotId: lotId, token: token, index: index) }
                    }
                    try await Task.sleep(for: .milliseconds(1_500))
                    victim.signal(SIGKILL)
                    var all: [String] = []
                    for try await ids in group { all += ids }
                    return all
                }
                #expect(try await victim.wait(timeout: .seconds(5)) == 128 + SIGKILL)
                return Set(accepted)
            }
            let (stored, state) = try await PostgresConnection.with(location, logger: quietLogger) { connection in
                let stored = try await Replay.storedBids(lotId: UUID(uuidString: lotId)!, on: connection)
                var state: (Int64?, UUID?, Int) = (nil, nil, 0)
                for try await row in try await connection.query(
                    "SELECT current_price, leader_id, bid_count FROM lots WHERE id = \(UUID(uuidString: lotId)!)", logger: quietLogger
                ).decode((Int64?, UUID?, Int).self) { state = row }
                return (stored, state)
            }
            #expect(answered.count > 20, "the load was too light to mean anything: \(answered.count) bids")
            #expect(answered.isSubset(of: Set(stored.map { $0.id.uuidString.lowercased() })), "a bid answered 201 is missing after the crash")
            let replay = Replay.check(stored, from: Auction(
                format: .english, startsAt: startsAt, endsAt: endsAt, start: 5_900_000, reserve: 7_580_000,
                increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 300))
            #expect(replay.price == state.0 && replay.leader == state.1 && Int(replay.bidCount) == state.2)
        }
    }

    @Test("tokens never reach the logs or the database in clear; maxima never reach the logs")
    func leaks() async throws {
        try await withMigratedDatabase { location in
            let (lot, tokens) = try await withGavel(on: location) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 2)
                return (lot.lotId, [gavel.adminToken, lot.finance.token] + lot.bidders.map(\.token))
            }
            let output = try await MultiInstanceTests.withInstances(1, on: location) { ports, children in
                try await TestClient.withClient(host: "127.0.0.1", port: ports[0]) { client in
                    _ = try await MultiInstanceTests.bid(client, lotId: lot, token: tokens[2], amount: 7_654_321)
                    _ = try await MultiInstanceTests.bid(client, lotId: lot, token: tokens[3], amount: 6_543_210)
                    _ = try await MultiInstanceTests.bid(client, lotId: lot, token: "not-a-token-\(tokens[2].prefix(10))", amount: 1)
                }
                return children[0].output
            }
            #expect(output.contains("request"), "the instance logged nothing")
            for token in tokens { #expect(!output.contains(token), "a token is in the log") }
            #expect(!output.contains("7654321") && !output.contains("6543210"), "a maximum is in the log")
            let dump = try Self.pgDump(location)
            #expect(dump.contains("gavel_migrations"), "the dump is empty: \(dump.prefix(200))")
            for token in tokens { #expect(!dump.contains(token), "a token is stored in clear") }
        }
    }

    /// One bidder raising its maximum for a while over its own connection; the IDs of
    /// the bids answered 201. A connection that dies (the instance was killed) ends it.
    static func bidFor(seconds: Int, port: Int, lotId: String, token: String, index: Int) async -> [String] {
        let client = TestClient(host: "127.0.0.1", port: port)
        client.connect()
        var sent: [String] = []
        var amount: Int64 = 5_900_000 + Int64(index) * 1_000
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            guard let (status, body) = try? await MultiInstanceTests.bid(client, lotId: lotId, token: token, amount: amount) else { break }
            if status == 201, case .string(let id) = body["bidId"] { sent.append(id) }
            if case .integer(let minimum) = body["minimumNextBid"] { amount = max(amount, minimum) + 1_000 }
            amount += 10_000
        }
        try? await client.shutdown()
        return sent
    }

    static func pgDump(_ location: DatabaseLocation) throws -> String {
        let binary = ["/usr/lib/postgresql/15/bin/pg_dump", "/usr/bin/pg_dump"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw TestSetupError("no pg_dump") }
        let child = try ChildProcess.start(binary, ["--dbname", location.url, "--data-only"], environment: ProcessInfo.processInfo.environment)
        var status: Int32 = 0
        waitpid(child.pid, &status, 0)
        return child.output
    }
}
