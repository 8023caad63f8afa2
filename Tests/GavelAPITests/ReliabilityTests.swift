import AsyncHTTPClient
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

    /// One bid; its status (0: no answer within 10 s, or the connection failed), body and
    /// whether it carried Retry-After.
    static func bid(_ http: HTTPClient, port: Int, lotId: String, token: String, amount: Int64) async throws -> (Int, JSONValue, Bool) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/lots/\(lotId)/bids")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"maxAmount": \#(amount)}"#))
        do {
            let response = try await http.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))) ?? .null
            return (Int(response.status.code), json, response.headers.first(name: "Retry-After") != nil)
        } catch {
            return (0, .object(["code": .string("transport: \(error)")]), false)
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
            let dump = try await Self.pgDump(location)
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

    static func pgDump(_ location: DatabaseLocation) async throws -> String {
        let binary = ["/usr/lib/postgresql/15/bin/pg_dump", "/usr/bin/pg_dump"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw TestSetupError("no pg_dump") }
        let child = try ChildProcess.start(binary, ["--dbname", location.url, "--data-only"], environment: ProcessInfo.processInfo.environment)
        guard try await child.wait(timeout: .seconds(120)) != nil else { throw TestSetupError("pg_dump did not finish") }
        return child.output
    }
}

/// An open lot with bidders, made through the API, for load under faults; and the check
/// that matters afterwards.
struct LoadedLot: Sendable {
    let id: String
    let tokens: [String]
    let startsAt: Date
    let endsAt: Date

    static func open(on location: DatabaseLocation, bidders: Int) async throws -> LoadedLot {
        try await withGavel(on: location) { gavel in
            try await LoadedLot.of(try await OpenLot.start(gavel, bidders: bidders), in: gavel)
        }
    }

    /// An open lot with its times as stored, for the replay.
    static func of(_ lot: OpenLot, in gavel: Harness) async throws -> LoadedLot {
        let times = try await gavel.sql { connection in
            var times = (Date(), Date())
            for try await row in try await connection.query(
                "SELECT starts_at, ends_at FROM lots WHERE id = \(UUID(uuidString: lot.lotId)!)", logger: quietLogger
            ).decode((Date, Date).self) { times = row }
            return times
        }
        return LoadedLot(id: lot.lotId, tokens: lot.bidders.map(\.token), startsAt: times.0, endsAt: times.1)
    }

    /// Every bid a client saw a 201 for is stored, and the stored lot equals the replay of
    /// its stored bids through GavelCore.
    func expectReplayHolds(on location: DatabaseLocation, answered: Set<String>, after fault: String) async throws {
        let lot = UUID(uuidString: id)!
        let (stored, state) = try await PostgresConnection.with(location, logger: quietLogger) { connection in
            let stored = try await Replay.storedBids(lotId: lot, on: connection)
            var state: (Int64?, UUID?, Int) = (nil, nil, 0)
            for try await row in try await connection.query(
                "SELECT current_price, leader_id, bid_count FROM lots WHERE id = \(lot)", logger: quietLogger
            ).decode((Int64?, UUID?, Int).self) { state = row }
            return (stored, state)
        }
        #expect(answered.count > 20, "the load was too light to mean anything: \(answered.count) bids")
        #expect(answered.isSubset(of: Set(stored.map { $0.id.uuidString.lowercased() })), "a bid answered 201 is missing after \(fault)")
        let replay = Replay.check(stored, from: Auction(
            format: .english, startsAt: startsAt, endsAt: endsAt, start: 5_900_000, reserve: 7_580_000,
            increments: Policy.defaults.bidding.increments, extensionWindowSeconds: 300, extensionSeconds: 300))
        #expect(replay.price == state.0 && replay.leader == state.1 && Int(replay.bidCount) == state.2)
    }
}

extension RealTime {
    @Suite("Crashes, in real time")
    struct ReliabilityTiming {
        @Test("kill -9 of an instance under bid load: every 201 a client saw is stored, and the lot equals the replay")
        func crash() async throws {
            try await withMigratedDatabase { location in
                let lot = try await LoadedLot.open(on: location, bidders: 16)
                let (lotId, bidders) = (lot.id, lot.tokens)
                let answered: Set<String> = try await MultiInstanceTests.withInstances(2, on: location) { ports, children in
                    let victim = children[0]
                    let accepted = try await withThrowingTaskGroup(of: [String].self) { group -> [String] in
                        for (index, token) in bidders.enumerated() {
                            let port = ports[index % 2]
                            group.addTask { await ReliabilityTests.bidFor(seconds: 4, port: port, lotId: lotId, token: token, index: index) }
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
                try await lot.expectReplayHolds(on: location, answered: answered, after: "the crash")
            }
        }

        @Test("PostgreSQL itself stopped for 5 s under bid load on two gavel serve processes: 503 with Retry-After, never a 500 nor a hang, bids again within 5 s of its return, every 201 stored")
        func databaseRestart() async throws {
            // A cluster of its own: the suite's shared server must not go down under other tests.
            let home = NSTemporaryDirectory() + "gavel-restart-\(UUID().uuidString.prefix(8))"
            let cluster = EmbeddedPostgres(home: home)
            defer {
                try? cluster.stop()
                try? FileManager.default.removeItem(atPath: home)
            }
            try cluster.start()
            let location = try cluster.tcpLocation()
            let lot = try await LoadedLot.open(on: location, bidders: 8)
            let (lotId, tokens) = (lot.id, lot.tokens)
            // AsyncHTTPClient here, with a deadline per request: a connection the server closes
            // while PostgreSQL is away must cost a reconnection, not a test client waiting for ever.
            let http = HTTPClient.shared
            try await MultiInstanceTests.withInstances(2, on: location) { ports, _ in
                let started = ContinuousClock.now
                async let answers = withThrowingTaskGroup(of: [OutageAnswer].self) { group in
                    for (index, token) in tokens.enumerated() {
                        group.addTask {
                            var answers: [OutageAnswer] = []
                            var amount: Int64 = 5_900_000 + Int64(index) * 1_000
                            while ContinuousClock.now - started < .seconds(14) {
                                let sent = ContinuousClock.now
                                let (status, body, retryAfter) = try await ReliabilityTests.bid(
                                    http, port: ports[index % ports.count], lotId: lotId, token: token, amount: amount)
                                let code: String = if case .string(let c) = body["code"] { c } else { "" }
                                let bidId: String? = if status == 201, case .string(let id) = body["bidId"] { id } else { nil }
                                let answeredAt = ContinuousClock.now
                                answers.append(OutageAnswer(
                                    instance: index % ports.count, status: status, code: code, retryAfter: retryAfter,
                                    took: answeredAt - sent, answeredAt: answeredAt, bidId: bidId))
                                if case .integer(let minimum) = body["minimumNextBid"] { amount = max(amount, minimum) }
                                amount += 20_000
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            return answers
                        }
                    }
                    return try await group.reduce(into: [OutageAnswer]()) { $0 += $1 }
                }
                try await Task.sleep(for: .seconds(2))
                try cluster.stop()
                try await Task.sleep(for: .seconds(5))
                try cluster.start()
                let restored = ContinuousClock.now
                #expect(try cluster.tcpLocation().endpoint == location.endpoint, "the cluster came back on another port")
                let all = try await answers
                OutageAnswer.expectServedThrough(all)
                // Each instance takes bids again, without a restart, within 5 s of the return.
                for instance in ports.indices {
                    let firstBack = all.filter { $0.instance == instance && $0.status == 201 && $0.answeredAt > restored }.map(\.answeredAt).min()
                    #expect(firstBack.map { $0 - restored < .seconds(5) } == true,
                            "instance \(instance) took no bid within 5 s of PostgreSQL's return (first: \(firstBack.map { "\($0 - restored)" } ?? "none"))")
                }
                let acceptedIds = Set(all.compactMap(\.bidId))
                try await lot.expectReplayHolds(on: location, answered: acceptedIds, after: "the restart")
                let tally = all.reduce(into: [String: Int]()) { $0["\($1.status) \($1.code)", default: 0] += 1 }
                let slowest = all.map(\.took).max() ?? .zero
                print("database restart: \(all.count) answers, \(acceptedIds.count) bids accepted, slowest answer \(slowest): \(tally)")
            }
        }
    }
}
