import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Synchronization
import Testing

/// Real `gavel serve` processes sharing one database, driven over real sockets: what
/// a deployment with several instances behind a load balancer does.
@Suite("Several gavel serve processes on one database")
struct MultiInstanceTests {
    /// Starts `count` instances, runs `body` with their ports, then stops them with
    /// SIGTERM and requires each to exit 0 (event streams still open must not hold
    /// shutdown back).
    static func withInstances<T: Sendable>(
        _ count: Int, on location: DatabaseLocation, _ body: ([Int], [ChildProcess]) async throws -> T
    ) async throws -> T {
        var children: [ChildProcess] = []
        var ports: [Int] = []
        do {
            for _ in 0..<count {
                let (child, port) = try await ServeProcessTests.instance(location)
                children.append(child)
                ports.append(port)
            }
            let result = try await body(ports, children)
            // An instance the test killed (and reaped) is gone: only the living are stopped.
            let living = children.filter { kill($0.pid, 0) == 0 }
            for child in living { child.signal(SIGTERM) }
            for child in living {
                let code = try await child.wait(timeout: .seconds(10))
                #expect(code == 0, "an instance did not stop within 10 s of SIGTERM:\n\(child.output.suffix(2_000))")
                if code == nil { child.signal(SIGKILL) }
            }
            return result
        } catch {
            for child in children { child.signal(SIGKILL) }
            throw error
        }
    }

    /// One bid over a bidder's own keep-alive connection.
    static func bid(_ client: TestClient, lotId: String, token: String, amount: Int64) async throws -> (Int, JSONValue) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        headers[.connection] = "keep-alive"
        let response = try await client.post(
            "/v1/lots/\(lotId)/bids", headers: headers, body: ByteBuffer(string: #"{"maxAmount": \#(amount)}"#))
        let body = response.body.map { String(buffer: $0) } ?? ""
        return (Int(response.head.status.code), (try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))) ?? .null)
    }

    struct BidderTally: Sendable {
        var accepted: [String] = []
        var refused: [String: Int] = [:]
        var unexpected: [String] = []
        var sawClose = false
    }
}

extension RealTime {
    @Suite("Several gavel serve processes on one database, in real time")
    struct MultiInstanceTiming {
        @Test("50 bidders over three instances for seconds: every 201 stored, the lot equals the replay, nothing after the close, watchers on each instance see bids placed on the others")
        func fiftyBidders() async throws {
            try await withMigratedDatabase { location in
                let (lotId, bidders) = try await withGavel(on: location) { gavel in
                    let lot = try await OpenLot.start(gavel, bidders: 50)
                    return (lot.lotId, lot.bidders.map { [$0.id, $0.token] })
                }
                let lot = UUID(uuidString: lotId)!
                try await MultiInstanceTests.withInstances(3, on: location) { ports, _ in
                    let watchers = try ports.map { try EventStreamClient(port: $0, path: "/v1/lots/\(lotId)/events", token: bidders[0][1]) }
                    defer { watchers.forEach { $0.close() } }
                    for watcher in watchers { try await watcher.wait(for: "the stream to open") { !$0.isEmpty } }
                    // Small steps and a short soft close, so the bidding runs for seconds and then ends.
                    let openingEnd = try await PostgresConnection.with(location, logger: quietLogger) { connection in
                        let rows = try await connection.query(
                            """
                            UPDATE lots SET increments = '[{"below": null, "step": 1000}]', extension_window_seconds = 2,
                                            extension_seconds = 2, ends_at = clock_timestamp() + interval '4 seconds'
                            WHERE id = \(lot) RETURNING ends_at
                            """, logger: quietLogger)
                        for try await end in rows.decode(Date.self) { return end }
                        throw TestSetupError("no lot")
                    }
                    let started = ContinuousClock.now
                    let tallies = try await withThrowingTaskGroup(of: MultiInstanceTests.BidderTally.self) { group in
                        for (index, bidder) in bidders.enumerated() {
                            group.addTask {
                                try await TestClient.withClient(host: "127.0.0.1", port: ports[index % ports.count]) { client in
                                    var tally = MultiInstanceTests.BidderTally()
                                    var random = SeededRandom(seed: UInt64(index))
                                    let cap = Int64.random(in: 6_000...7_000, using: &random) * 1_000
                                    var next: Int64 = 5_900_000
                                    let deadline = ContinuousClock.now + .seconds(60)
                                    while ContinuousClock.now < deadline {
                                        let amount = next <= cap ? min(cap, next + 1_000 * Int64.random(in: 0...8, using: &random)) : cap
                                        let (status, body) = try await MultiInstanceTests.bid(client, lotId: lotId, token: bidder[1], amount: amount)
                                        let code: String = if case .string(let c) = body["code"] { c } else { "" }
                                        switch (status, code) {
                                        case (201, _):
                                            if case .string(let id) = body["bidId"] { tally.accepted.append(id) }
                                            if case .integer(let minimum) = body["minimumNextBid"] { next = max(minimum, amount + 1_000) }
                                        case (422, "bid-too-low"):
                                            tally.refused[code, default: 0] += 1
                                            if case .integer(let minimum) = body["minimumNextBid"] { next = minimum }
                                        case (422, "bid-not-higher"):
                                            tally.refused[code, default: 0] += 1
                                            next = amount + 1_000
                                        case (409, "lot-not-open"):
                                            tally.sawClose = true
                                            return tally
                                        default:
                                            tally.unexpected.append("\(status) \(body)")
                                            return tally
                                        }
                                        // Out of the running: keep watching the lot, gently.
                                        if next > cap { try await Task.sleep(for: .milliseconds(150)) }
                                    }
                                    return tally
                                }
                            }
                        }
                        return try await group.reduce(into: [MultiInstanceTests.BidderTally]()) { $0.append($1) }
                    }
                    let bidding = ContinuousClock.now - started
                    let unexpected = tallies.flatMap { $0.unexpected }
                    #expect(unexpected.isEmpty, "\(unexpected.prefix(5))")
                    #expect(tallies.allSatisfy { $0.sawClose }, "a bidder never saw the lot close")
                    let accepted = tallies.flatMap(\.accepted)
                    #expect(bidding > .seconds(3), "the bidding should have run for seconds, ran \(bidding)")

                    // Closed by one of the instances, once.
                    let deadline = ContinuousClock.now + .seconds(10)
                    var closedState: (status: String, closedAt: Date?, endsAt: Date, price: Int64?, leader: UUID?, count: Int, events: Int)?
                    while ContinuousClock.now < deadline {
                        closedState = try await PostgresConnection.with(location, logger: quietLogger) { connection in
                            let rows = try await connection.query(
                                "SELECT status, closed_at, ends_at, current_price, leader_id, bid_count, event_count FROM lots WHERE id = \(lot)",
                                logger: quietLogger)
                            for try await row in rows.decode((String, Date?, Date, Int64?, UUID?, Int, Int).self) { return row }
                            return nil
                        }
                        if closedState?.status != "scheduled" { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    let state = try #require(closedState)
                    #expect(state.status == "sold" || state.status == "pending-approval")
                    let closedAt = try #require(state.closedAt)

                    let (stored, closes, closedEvents, deposits, startsAt) = try await PostgresConnection.with(location, logger: quietLogger) { connection in
                        let stored = try await Replay.storedBids(lotId: lot, on: connection)
                        var closes = -1, closedEvents = -1
                        for try await count in try await connection.query(
                            "SELECT count(*)::int FROM audit_log WHERE action = 'lot.close' AND entity_id = \(lot)", logger: quietLogger
                        ).decode(Int.self) { closes = count }
                        for try await count in try await connection.query(
                            "SELECT count(*)::int FROM lot_events WHERE lot_id = \(lot) AND kind = 'closed'", logger: quietLogger
                        ).decode(Int.self) { closedEvents = count }
                        var deposits: [String: Int] = [:]
                        for try await (status, count) in try await connection.query(
                            "SELECT status, count(*)::int FROM deposits WHERE lot_id = \(lot) GROUP BY status", logger: quietLogger
                        ).decode((String, Int).self) { deposits[status] = count }
                        var startsAt = Date()
                        for try await value in try await connection.query("SELECT starts_at FROM lots WHERE id = \(lot)", logger: quietLogger)
                            .decode(Date.self) { startsAt = value }
                        return (stored, closes, closedEvents, deposits, startsAt)
                    }
                    #expect(stored.count > 200, "only \(stored.count) bids: not much of a load")
                    #expect(Set(stored.map { $0.id.uuidString.lowercased() }) == Set(accepted), "a 201 is missing from the database, or a stored bid was never answered")
                    #expect(accepted.count == stored.count)
                    #expect(Set(stored.map(\.sequence)).count == stored.count)
                    let replay = Replay.check(stored, from: Auction(
                        format: .english, startsAt: startsAt, endsAt: openingEnd, start: 5_900_000, reserve: 7_580_000,
                        increments: [.init(below: nil, step: 1_000)], extensionWindowSeconds: 2, extensionSeconds: 2))
                    #expect(replay.price == state.price)
                    #expect(replay.leader == state.leader)
                    #expect(Int(replay.bidCount) == state.count)
                    // Nothing was accepted at or after the end, and the close came after the end.
                    #expect(stored.allSatisfy { $0.placedAt < replay.endsAt && $0.placedAt < closedAt })
                    #expect(abs(state.endsAt.timeIntervalSince(replay.endsAt)) < 0.001)
                    #expect(closedAt >= state.endsAt)
                    #expect(closes == 1 && closedEvents == 1)
                    // The winner's (or, below the reserve, the leader's) deposit stays held; the rest are owed back.
                    #expect(deposits == ["held": 1, "refund-due": 49])
                    // Each watcher, whichever instance it used, saw every event once, in order.
                    for watcher in watchers {
                        try await watcher.wait(for: "the closed event", within: .seconds(10)) { $0.contains { $0.event == "closed" } }
                        #expect(watcher.events.compactMap(\.id) == Array(1...state.events))
                        let prices = try watcher.events.filter { $0.event == "price" }.map { try $0.json["currentPrice"] }
                        #expect(prices == stored.map { JSONValue.integer($0.priceAfter) })
                    }
                    let refusals = tallies.reduce(into: [String: Int]()) { total, tally in total.merge(tally.refused, uniquingKeysWith: +) }
                    print("50 bidders on 3 instances: \(stored.count) bids accepted, refusals \(refusals), \(bidding) of bidding")
                }
            }
        }

        @Test("three instances close 200 lots ending at once: each once, within 2 s, deposits moved and invoices issued once")
        func closeStorm() async throws {
            try await withMigratedDatabase { location in
                let (template, bidders, token) = try await withGavel(on: location) { gavel in
                    let lot = try await OpenLot.start(gavel, bidders: 2)
                    return (UUID(uuidString: lot.lotId)!, lot.bidders.map { UUID(uuidString: $0.id)! }, lot.bidders[1].token)
                }
                let watchers = try await MultiInstanceTests.withInstances(3, on: location) { ports, children in
                    // Watchers of a lot that runs on: their streams are open when SIGTERM comes.
                    let watchers = try ports.map {
                        try EventStreamClient(port: $0, path: "/v1/lots/\(template.uuidString.lowercased())/events", token: token)
                    }
                    for watcher in watchers { try await watcher.wait(for: "the stream to open") { !$0.isEmpty } }
                    // 200 lots, each led by the first bidder at a price that meets the reserve, each
                    // with both bidders' deposits held, all ending 1.5 s from now.
                    try await PostgresConnection.with(location, logger: quietLogger) { connection in
                        try await LotFactory.cloneLots(
                            on: connection, from: template, count: 200, endingIn: 1.5, soldTo: bidders[0], depositors: bidders,
                            reference: "STORM")
                    }
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline {
                        let open = try await PostgresConnection.with(location, logger: quietLogger) { connection in
                            var open = -1
                            for try await count in try await connection.query(
                                "SELECT count(*)::int FROM lots WHERE status = 'scheduled' AND id <> \(template)", logger: quietLogger
                            ).decode(Int.self) { open = count }
                            return open
                        }
                        if open == 0 { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await PostgresConnection.with(location, logger: quietLogger) { connection in
                        func number(_ sql: String) async throws -> Double {
                            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quietLogger)
                                .decode(Double?.self) { return value ?? -1 }
                            return -1
                        }
                        let storm = "FROM lots WHERE id <> '\(template)'"
                        #expect(try await number("SELECT count(*)::float8 \(storm) AND status = 'sold' AND winner_id = '\(bidders[0])'") == 200)
                        let slowest = try await number("SELECT max(extract(epoch FROM closed_at - ends_at))::float8 \(storm)")
                        #expect(slowest >= 0 && slowest < 2, "the slowest lot closed \(slowest) s after its end")
                        #expect(try await number(
                            "SELECT count(*)::float8 FROM (SELECT entity_id FROM audit_log WHERE action = 'lot.close' GROUP BY entity_id HAVING count(*) = 1) x"
                        ) == 200)
                        #expect(try await number("SELECT count(*)::float8 FROM audit_log WHERE action = 'lot.close'") == 200)
                        #expect(try await number("SELECT count(*)::float8 FROM lot_events WHERE kind = 'closed'") == 200)
                        #expect(try await number(
                            "SELECT count(*)::float8 FROM deposits WHERE reference = 'STORM' AND bidder_id = '\(bidders[1])' AND status = 'refund-due'"
                        ) == 200)
                        #expect(try await number(
                            "SELECT count(*)::float8 FROM deposits WHERE reference = 'STORM' AND bidder_id = '\(bidders[0])' AND status = 'applied'"
                        ) == 200)
                        // One invoice per sold lot, its sale and its deposit posted once.
                        #expect(try await number("SELECT count(DISTINCT lot_id)::float8 FROM invoices") == 200)
                        #expect(try await number("SELECT count(*)::float8 FROM journal_entries WHERE kind = 'invoice'") == 200)
                        #expect(try await number("SELECT count(*)::float8 FROM journal_entries WHERE kind = 'deposit-applied'") == 200)
                    }
                    let closedBy = children.map { child in
                        child.output.split(separator: "\n").filter { $0.contains("closed lot") }.count
                    }
                    #expect(closedBy.reduce(0, +) == 200, "closed per instance: \(closedBy)")
                    print("close storm: 200 lots closed by three instances as \(closedBy)")
                    for watcher in watchers { #expect(!watcher.ended) }
                    return watchers
                }
                // The instances stopped (exit 0, within 10 s) with the streams open: each ended them.
                for watcher in watchers {
                    try await watcher.waitUntilEnded(within: .seconds(2))
                    watcher.close()
                }
            }
        }
    }
}
