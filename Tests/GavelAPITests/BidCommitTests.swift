import Foundation
import GavelCore
import GavelStore
import PostgresNIO
import Testing
@testable import GavelAPI

/// A bid's transaction (D36): no NOTIFY inside it, the lot row written once, and events
/// that are exactly what `record_lot_event` would have written.
@Suite("Bids that commit together")
struct BidCommitTests {
    /// Runs `place_bid` in an explicit transaction and answers how many `lots` rows that
    /// transaction updated, with the events' payloads, then commits.
    static func placeCountingWrites(
        _ connection: PostgresConnection, lot: UUID, bidder: UUID, amount: Int64
    ) async throws -> (lotWrites: Int64, events: String?) {
        try await connection.query("BEGIN", logger: quietLogger)
        var events: String?
        for try await (answer, payloads) in try await connection.query(
            "SELECT answer, events FROM place_bid(gen_random_uuid(), \(lot), \(bidder), \(amount))", logger: quietLogger
        ).decode((String, String?).self) {
            #expect(answer == "accepted")
            events = payloads
        }
        var writes: Int64 = -1
        for try await count in try await connection.query(
            "SELECT pg_stat_get_xact_tuples_updated('lots'::regclass)", logger: quietLogger
        ).decode(Int64.self) { writes = count }
        try await connection.query("COMMIT", logger: quietLogger)
        return (writes, events)
    }

    /// `place_bid`'s answer on `connection` with a lock timeout, in a transaction of its
    /// own (rolled back unless `commit`): the answer (or the error's SQLSTATE) and whether
    /// the transaction took an ID.
    static func placeWithoutWaiting(
        _ connection: PostgresConnection, lot: UUID, bidder: UUID, amount: Int64, commit: Bool = false
    ) async throws -> (answer: String, hadTransactionId: Bool) {
        try await connection.query("BEGIN", logger: quietLogger)
        try await connection.query("SET LOCAL lock_timeout = '300ms'", logger: quietLogger)
        do {
            var answer = ""
            for try await value in try await connection.query(
                "SELECT answer FROM place_bid(gen_random_uuid(), \(lot), \(bidder), \(amount))", logger: quietLogger
            ).decode(String.self) { answer = value }
            var assigned = false
            for try await value in try await connection.query(
                "SELECT txid_current_if_assigned() IS NOT NULL", logger: quietLogger
            ).decode(Bool.self) { assigned = value }
            try await connection.query(commit ? "COMMIT" : "ROLLBACK", logger: quietLogger)
            return (answer, assigned)
        } catch let error as PSQLError {
            try await connection.query("ROLLBACK", logger: quietLogger)
            return (error.serverInfo?[.sqlState] ?? "?", true)
        }
    }

    @Test("a refused bid takes no lock and writes nothing; a bid that may be accepted, or one past the end, waits for the lock")
    func refusalsWithoutTheLock() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let lotId = UUID(uuidString: lot.lotId)!
            let first = UUID(uuidString: lot.bidders[0].id)!, second = UUID(uuidString: lot.bidders[1].id)!
            let opening = try await gavel.sql { try await Self.placeWithoutWaiting($0, lot: lotId, bidder: first, amount: 6_500_000, commit: true) }
            #expect(opening.answer == "accepted" && opening.hadTransactionId)
            try await gavel.sql { holder in
                // Another transaction (a bid being committed, the closer) holds the lot.
                try await holder.query("BEGIN", logger: quietLogger)
                try await holder.query("SELECT 1 FROM lots WHERE id = \(lotId) FOR UPDATE", logger: quietLogger)
                let answers = try await gavel.sql { bidder in
                    [
                        try await Self.placeWithoutWaiting(bidder, lot: lotId, bidder: second, amount: 100),
                        try await Self.placeWithoutWaiting(bidder, lot: lotId, bidder: first, amount: 6_500_000),
                        try await Self.placeWithoutWaiting(bidder, lot: lotId, bidder: second, amount: 9_000_000),
                    ]
                }
                // Too low and not higher than one's own maximum: answered at once, read only.
                #expect(answers[0].answer == "bid-too-low" && !answers[0].hadTransactionId)
                #expect(answers[1].answer == "bid-not-higher" && !answers[1].hadTransactionId)
                // A bid that passes on the committed state waits for the lot (55P03: lock_not_available).
                #expect(answers[2].answer == "55P03")
                try await holder.query("ROLLBACK", logger: quietLogger)
            }
            // Past its end as last committed: a bid in the soft-close window may be committing
            // its extension, so the answer waits for the lock too.
            try await gavel.sql { holder in
                try await holder.query("UPDATE lots SET ends_at = clock_timestamp() - interval '1 second', starts_at = clock_timestamp() - interval '1 hour' WHERE id = \(lotId)", logger: quietLogger)
                try await holder.query("BEGIN", logger: quietLogger)
                try await holder.query("SELECT 1 FROM lots WHERE id = \(lotId) FOR UPDATE", logger: quietLogger)
                let late = try await gavel.sql { try await Self.placeWithoutWaiting($0, lot: lotId, bidder: second, amount: 100) }
                #expect(late.answer == "55P03")
                try await holder.query("ROLLBACK", logger: quietLogger)
                let afterwards = try await gavel.sql { try await Self.placeWithoutWaiting($0, lot: lotId, bidder: second, amount: 9_000_000) }
                #expect(afterwards.answer == "lot-not-open")
            }
        }
    }

    @Test("a bid writes its lot row once, soft close or not, and its events are what record_lot_event writes")
    func oneWrite() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let lotId = UUID(uuidString: lot.lotId)!
            let first = UUID(uuidString: lot.bidders[0].id)!, second = UUID(uuidString: lot.bidders[1].id)!
            let plain = try await gavel.sql { try await Self.placeCountingWrites($0, lot: lotId, bidder: first, amount: 6_500_000) }
            #expect(plain.lotWrites == 1)
            #expect(plain.events?.split(separator: "\n").count == 1)
            // In the soft-close window: a price and an extended event, still one write.
            _ = try await gavel.sql { connection in
                try await connection.query(
                    "UPDATE lots SET ends_at = clock_timestamp() + interval '30 seconds', extension_window_seconds = 120 WHERE id = \(lotId)",
                    logger: quietLogger)
            }
            let extended = try await gavel.sql { try await Self.placeCountingWrites($0, lot: lotId, bidder: second, amount: 6_200_000) }
            #expect(extended.lotWrites == 1)
            let payloads = extended.events?.split(separator: "\n").map(String.init) ?? []
            #expect(payloads.compactMap(LotEventRepository.decodeNotification).map(\.kind) == [.price, .extended])
            #expect(payloads.compactMap(LotEventRepository.decodeNotification).map(\.seq) == [2, 3])

            // The stored events and the lot's count agree, and the last equals what
            // record_lot_event reads back from the lot now (in a transaction rolled back).
            let (stored, recorded) = try await gavel.sql { connection in
                var stored: [String] = []
                let columns = "kind, status, current_price, bid_count, reserve_met, minimum_next_bid, ends_at, hammer_price"
                for try await row in try await connection.query(
                    "SELECT row(\(unescaped: columns))::text FROM lot_events WHERE lot_id = \(lotId) ORDER BY seq", logger: quietLogger
                ).decode(String.self) { stored.append(row) }
                try await connection.query("BEGIN", logger: quietLogger)
                try await connection.query("SELECT record_lot_event(\(lotId), 'extended')", logger: quietLogger)
                var recorded = ""
                for try await row in try await connection.query(
                    "SELECT row(\(unescaped: columns))::text FROM lot_events WHERE lot_id = \(lotId) ORDER BY seq DESC LIMIT 1", logger: quietLogger
                ).decode(String.self) { recorded = row }
                try await connection.query("ROLLBACK", logger: quietLogger)
                return (stored, recorded)
            }
            #expect(stored.count == 3 && stored.last == recorded, "\(stored) vs \(recorded)")
            let count = try await gavel.sql { connection in
                var count = 0
                for try await value in try await connection.query("SELECT event_count FROM lots WHERE id = \(lotId)", logger: quietLogger)
                    .decode(Int.self) { count = value }
                return count
            }
            #expect(count == 3)
        }
    }

    @Test("place_bid sends no NOTIFY from the bid's transaction; the instance announces the bid after commit, marked as its own")
    func noNotifyInTheBid() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let lotId = UUID(uuidString: lot.lotId)!
            let heard = try await gavel.sql { listener in
                try await listener.listen(on: LotEventRepository.channel) { notifications in
                    try await listener.query("SELECT 1", logger: quietLogger)
                    // Straight in SQL: committed, and nobody told.
                    _ = try await gavel.sql { connection in
                        try await connection.query(
                            "SELECT * FROM place_bid(gen_random_uuid(), \(lotId), \(UUID(uuidString: lot.bidders[0].id)!), 6500000)",
                            logger: quietLogger)
                    }
                    // Through the API: told, after the commit, by the instance.
                    #expect(try await lot.bid(1, 6_200_000).status == .created)
                    for try await notification in notifications { return notification.payload }
                    return ""
                }
            }
            let (sender, payload) = LotEventNotifier.split(heard)
            #expect(sender != nil)
            // The first notification heard is the API bid's (seq 2), not the SQL one's (seq 1).
            #expect(LotEventRepository.decodeNotification(payload)?.seq == 2, "\(heard)")
        }
    }

    @Test("record_lot_events (the closer's) writes for several lots what record_lot_event writes for each, and notifies each")
    func eventsTogether() async throws {
        try await withGavel { gavel in
            let first = try await OpenLot.start(gavel, bidders: 1)
            let second = try await OpenLot.start(gavel, bidders: 1, vin: "JH4KA7561PC008269")
            #expect(try await first.bid(0, 6_500_000).status == .created)
            let lotIds = [first.lotId, second.lotId].map { UUID(uuidString: $0)! }
            let columns = "lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid, ends_at, hammer_price"
            @Sendable func latest(_ connection: PostgresConnection) async throws -> [String] {
                var rows: [String] = []
                for try await row in try await connection.query(
                    "SELECT row(\(unescaped: columns))::text FROM lot_events e WHERE e.lot_id = ANY(\(lotIds)::uuid[]) AND e.seq = (SELECT event_count FROM lots WHERE id = e.lot_id) ORDER BY lot_id",
                    logger: quietLogger
                ).decode(String.self) { rows.append(row) }
                return rows
            }
            let oneByOne = try await gavel.sql { connection in
                try await connection.query("BEGIN", logger: quietLogger)
                for lotId in lotIds { try await connection.query("SELECT record_lot_event(\(lotId), 'closed')", logger: quietLogger) }
                let rows = try await latest(connection)
                try await connection.query("ROLLBACK", logger: quietLogger)
                return rows
            }
            let (together, heard) = try await gavel.sql { listener in
                try await listener.listen(on: LotEventRepository.channel) { notifications in
                    try await listener.query("SELECT 1", logger: quietLogger)
                    let rows = try await gavel.sql { connection in
                        try await connection.query("BEGIN", logger: quietLogger)
                        try await connection.query("SELECT record_lot_events(\(lotIds)::uuid[], 'closed')", logger: quietLogger)
                        let rows = try await latest(connection)
                        try await connection.query("COMMIT", logger: quietLogger)
                        return rows
                    }
                    var heard: [LotEvent] = []
                    for try await notification in notifications {
                        if let event = LotEventRepository.decodeNotification(notification.payload) { heard.append(event) }
                        if heard.count == 2 { break }
                    }
                    return (rows, heard)
                }
            }
            #expect(together.count == 2 && together == oneByOne, "\(together) vs \(oneByOne)")
            #expect(Set(heard.map(\.lotId)) == Set(lotIds))
            #expect(heard.allSatisfy { $0.kind == .closed })
            #expect(heard.first { $0.lotId == lotIds[0] }?.seq == 2)
            #expect(heard.first { $0.lotId == lotIds[1] }?.seq == 1)
        }
    }
}
