import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import PostgresNIO
import Testing
@testable import GavelAPI

@Suite("Live lot events (Server-Sent Events)")
struct LotEventsTests {
    static func watch(_ gavel: Harness, _ lotId: String, token: String, lastEventID: String? = nil) throws -> EventStreamClient {
        guard let port = gavel.port else { throw TestSetupError("the harness is not live") }
        return try EventStreamClient(port: port, path: "/v1/lots/\(lotId)/events", token: token, lastEventID: lastEventID)
    }

    static func endNow(_ gavel: Harness, _ lotId: String) async throws {
        _ = try await gavel.sql { connection in
            try await connection.query(
                "UPDATE lots SET ends_at = clock_timestamp() WHERE id = \(UUID(uuidString: lotId)!)", logger: quietLogger)
        }
    }

    @Test("bids reach watchers as numbered price events with the public state, heartbeats in between, no maximum")
    func priceEvents() async throws {
        try await withGavel(live: true, eventHeartbeat: .milliseconds(300)) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let bidderWatch = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token)
            let managerWatch = try Self.watch(gavel, lot.lotId, token: lot.disposal.manager.token)
            defer { bidderWatch.close(); managerWatch.close() }
            // Heartbeats show the stream is up (and subscribed) before any bid.
            try await bidderWatch.wait(for: "a heartbeat") { $0.contains { $0.isComment && $0.data == " heartbeat" } }
            try await managerWatch.wait(for: "a heartbeat") { $0.contains { $0.isComment } }
            #expect(bidderWatch.head.hasPrefix("HTTP/1.1 200"))
            #expect(bidderWatch.head.lowercased().contains("content-type: text/event-stream"))

            #expect(try await lot.bid(0, 6_500_000).status == .created)
            #expect(try await lot.bid(1, 6_200_000).status == .created)
            for watcher in [bidderWatch, managerWatch] {
                try await watcher.wait(for: "two price events") { frames in frames.filter { $0.event != nil }.count >= 2 }
                let events = watcher.events
                #expect(events.map(\.id) == [1, 2])
                #expect(events.map(\.event) == ["price", "price"])
                #expect(try events[0].json["currentPrice"] == .integer(5_900_000))
                #expect(try events[1].json["currentPrice"] == .integer(6_300_000))
                #expect(try events[1].json["bidCount"] == .integer(2))
                #expect(try events[1].json["minimumNextBid"] == .integer(6_400_000))
                #expect(try events[1].json["reserveMet"] == .bool(false))
                #expect(try events[1].json["status"] == .string("open"))
                // Neither maximum, nor who leads, is anyone's business.
                #expect(!watcher.body.contains("6500000") && !watcher.body.contains("6200000"))
                #expect(!watcher.body.contains(lot.bidders[0].id) && !watcher.body.contains(lot.bidders[1].id))
            }
            // What the stream said equals what the lot says now.
            let now = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[1].token)
            let last = try bidderWatch.events[1].json
            for field in ["currentPrice", "bidCount", "minimumNextBid", "endsAt", "reserveMet", "status"] {
                #expect(try now.json[field] == last[field], "\(field)")
            }
        }
    }

    @Test("a bid in the soft-close window sends price then extended with the new end")
    func extendedEvent() async throws {
        try await withGavel(live: true) { gavel in
            // Ends in a minute: inside the 300 s window from the first bid.
            let lot = try await OpenLot.start(gavel, bidders: 1, lasting: 120)
            let watcher = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token)
            defer { watcher.close() }
            // Watching once the first frame is in: a bid before that would only show as the latest state.
            try await watcher.wait(for: "the stream to open") { !$0.isEmpty }
            let bid = try await lot.bid(0, 6_000_000)
            #expect(bid.status == .created)
            #expect(try bid.json["extended"] == .bool(true))
            try await watcher.wait(for: "price and extended") { frames in frames.filter { $0.event != nil }.count >= 2 }
            #expect(watcher.events.map(\.event) == ["price", "extended"])
            #expect(watcher.events.map(\.id) == [1, 2])
            #expect(try watcher.events[1].json["endsAt"] == bid.json["endsAt"])
        }
    }

    @Test("Last-Event-ID resumes after the given event without gaps or repeats; without it the stream starts at the latest")
    func resume() async throws {
        try await withGavel(live: true) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let first = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token)
            // Watching once the first frame is in: a bid before that would only show as the latest state.
            try await first.wait(for: "the stream to open") { !$0.isEmpty }
            #expect(try await lot.bid(0, 6_500_000).status == .created)
            #expect(try await lot.bid(1, 6_200_000).status == .created)
            try await first.wait(for: "two events") { $0.filter { $0.event != nil }.count >= 2 }
            first.close()
            // Bids while the watcher is away.
            #expect(try await lot.bid(1, 7_000_000).status == .created)
            #expect(try await lot.bid(0, 7_200_000).status == .created)
            let resumed = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token, lastEventID: "2")
            let fresh = try Self.watch(gavel, lot.lotId, token: lot.bidders[1].token)
            defer { resumed.close(); fresh.close() }
            try await resumed.wait(for: "events 3 and 4") { $0.filter { $0.event != nil }.count >= 2 }
            try await fresh.wait(for: "the latest event") { $0.filter { $0.event != nil }.count >= 1 }
            #expect(try await lot.bid(1, 8_000_000).status == .created)
            try await resumed.wait(for: "event 5") { $0.filter { $0.event != nil }.count >= 3 }
            try await fresh.wait(for: "event 5") { $0.filter { $0.event != nil }.count >= 2 }
            #expect(resumed.events.map(\.id) == [3, 4, 5])
            #expect(fresh.events.map(\.id) == [4, 5])
            let history = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/bids", token: lot.bidders[0].token)
            let prices = try history.json["items"]?.array?.map { $0["price"] } ?? []
            #expect(try resumed.events.map { try $0.json["currentPrice"] } == Array(prices[2...]))
        }
    }

    @Test("the close is a closed event with the outcome, and a final outcome ends the stream")
    func closedEndsStream() async throws {
        try await withGavel(live: true) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            #expect(try await lot.bid(0, 8_000_000).status == .created)
            #expect(try await lot.bid(1, 7_700_000).status == .created)
            let watcher = try Self.watch(gavel, lot.lotId, token: lot.bidders[1].token)
            defer { watcher.close() }
            try await watcher.wait(for: "the latest event") { $0.contains { $0.event != nil } }
            try await Self.endNow(gavel, lot.lotId)
            try await watcher.waitUntilEnded(within: .seconds(5))
            let closed = try #require(watcher.events.last)
            #expect(closed.event == "closed")
            #expect(closed.id == 3)
            #expect(try closed.json["status"] == .string("sold"))
            #expect(try closed.json["hammerPrice"] == .integer(7_800_000))
            #expect(!watcher.body.contains("8000000"))
            // Reconnecting after the end replays what was missed and ends again at once.
            let late = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token, lastEventID: "1")
            defer { late.close() }
            try await late.waitUntilEnded(within: .seconds(5))
            #expect(late.events.map(\.id) == [2, 3])
        }
    }

    @Test("below the reserve the stream stays open through pending-approval until the manager's decision")
    func decisionEvent() async throws {
        try await withGavel(live: true) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            #expect(try await lot.bid(0, 6_000_000).status == .created)
            let watcher = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token)
            defer { watcher.close() }
            try await watcher.wait(for: "the latest event") { $0.contains { $0.event != nil } }
            try await Self.endNow(gavel, lot.lotId)
            try await watcher.wait(for: "pending approval") { frames in
                frames.contains { $0.event == "closed" && $0.data.contains("pending-approval") }
            }
            #expect(!watcher.ended)
            let decided = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/decision", token: lot.disposal.manager.token, json: #"{"accept": true}"#)
            #expect(decided.status == .ok)
            try await watcher.waitUntilEnded()
            #expect(watcher.events.map(\.event) == ["price", "closed", "closed"])
            #expect(try watcher.events.last?.json["status"] == .string("sold"))
        }
    }

    @Test("a sealed lot's stream shows the count only until it closes, then the winning price")
    func sealedEvents() async throws {
        try await withGavel(live: true) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2, format: "sealed")
            let watcher = try Self.watch(gavel, lot.lotId, token: lot.bidders[0].token)
            defer { watcher.close() }
            // Watching once the first frame is in: a bid before that would only show as the latest state.
            try await watcher.wait(for: "the stream to open") { !$0.isEmpty }
            #expect(try await lot.bid(0, 8_100_000).status == .created)
            #expect(try await lot.bid(1, 8_300_000).status == .created)
            try await watcher.wait(for: "two events") { $0.filter { $0.event != nil }.count >= 2 }
            for event in watcher.events {
                #expect(try event.json["currentPrice"] == .null)
                #expect(try event.json["reserveMet"] == .bool(false))
            }
            #expect(try watcher.events[1].json["bidCount"] == .integer(2))
            #expect(!watcher.body.contains("8100000") && !watcher.body.contains("8300000"))
            try await Self.endNow(gavel, lot.lotId)
            try await watcher.waitUntilEnded()
            #expect(try watcher.events.last?.json["hammerPrice"] == .integer(8_300_000))
            #expect(!watcher.body.contains("8100000"))
        }
    }

    @Test("a bid through one instance reaches a watcher connected to another")
    func acrossInstances() async throws {
        try await withMigratedDatabase { location in
            try await withGavel(on: location, live: true) { first in
                try await withGavel(on: location, live: true) { second in
                    let lot = try await OpenLot.start(first, bidders: 2)
                    let watcher = try Self.watch(second, lot.lotId, token: lot.bidders[1].token)
                    defer { watcher.close() }
                    // Watching once the first frame is in: a bid before that would only show as the latest state.
                    try await watcher.wait(for: "the stream to open") { !$0.isEmpty }
                    #expect(try await lot.bid(0, 6_500_000).status == .created)
                    #expect(try await lot.bid(1, 6_200_000).status == .created)
                    try await watcher.wait(for: "both bids") { $0.filter { $0.event != nil }.count >= 2 }
                    #expect(watcher.events.map(\.id) == [1, 2])
                    #expect(try watcher.events[1].json["currentPrice"] == .integer(6_300_000))
                }
            }
        }
    }

    @Test("an instance reads the lot of a real notification without decoding it, and decodes the same lot")
    func notificationLot() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let payload = try await gavel.sql { connection in
                try await connection.listen(on: LotEventRepository.channel) { notifications in
                    try await connection.query("SELECT 1", logger: quietLogger)
                    #expect(try await lot.bid(0, 6_500_000).status == .created)
                    for try await notification in notifications { return notification.payload }
                    return ""
                }
            }
            let lotId = UUID(uuidString: lot.lotId)!
            // A bid's notification comes after its commit, from the instance that placed
            // it, marked with that instance (whose own listener skips it).
            let (sender, event) = LotEventNotifier.split(payload)
            #expect(sender != nil && sender?.count == 36, "\(payload)")
            #expect(LotEventRepository.lotId(inNotification: event) == lotId, "\(payload)")
            #expect(LotEventRepository.decodeNotification(event)?.lotId == lotId)
            #expect(LotEventNotifier.split(#"{"lotId" : "x"}"#).instance == nil)
            #expect(LotEventRepository.lotId(inNotification: #"{"seq" : 1}"#) == nil)
            #expect(LotEventRepository.lotId(inNotification: #"{"lotId" : "short"}"#) == nil)
        }
    }

    @Test("refusals: no token 401, unknown lot 404, another consignor's manager 404, bad Last-Event-ID 400")
    func refusals() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let path = "/v1/lots/\(lot.lotId)/events"
            #expect(try await gavel.request(.get, path).problemCode == "unauthorized")
            let unknown = try await gavel.request(.get, "/v1/lots/\(UUID())/events", token: lot.bidders[0].token)
            #expect(unknown.status == .notFound)
            let otherConsignor = try await gavel.createConsignor("Second Bank")
            let stranger = try await gavel.createUser(.manager, consignorId: otherConsignor)
            #expect(try await gavel.request(.get, path, token: stranger.token).status == .notFound)
            var headers = HTTPFields()
            headers[HTTPField.Name("Last-Event-ID")!] = "seven"
            let bad = try await gavel.request(.get, path, token: lot.bidders[0].token, headers: headers)
            #expect(bad.status == .unprocessableContent)
            #expect(try bad.problemCode == "validation-failed")
        }
    }
}
