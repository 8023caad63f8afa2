import Foundation
import GavelCore
import Logging
import PostgresNIO

/// One entry of a lot's public event stream (`price`, `extended`, `closed`), numbered
/// per lot from 1 without gaps. It holds what anyone watching may see, nothing more:
/// no bidder, no maximum. The stream still hides a sealed lot's price while it runs.
public struct LotEvent: Sendable, Equatable {
    public var lotId: UUID
    public var seq: Int
    public var kind: LotEventKind
    public var status: String
    public var currentPrice: Int64?
    public var bidCount: Int
    public var reserveMet: Bool
    public var minimumNextBid: Int64
    public var endsAt: Date
    public var hammerPrice: Int64?
}

public enum LotEventRepository {
    /// The channel `record_lot_event` (SQL/0005) notifies on commit.
    public static let channel = "lot_events"

    /// Events of a lot after `seq`, oldest first.
    public static func after(
        lotId: UUID, seq: Int, limit: Int = 1000, on connection: PostgresConnection, logger: Logger
    ) async throws -> [LotEvent] {
        try await connection.query(
            """
            SELECT lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid, ends_at, hammer_price
            FROM lot_events WHERE lot_id = \(lotId) AND seq > \(seq) ORDER BY seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in
            LotEvent(
                lotId: try row.value("lot_id"), seq: try row.value("seq"), kind: try row.enumValue("kind"),
                status: try row.value("status"), currentPrice: try row.value("current_price"),
                bidCount: try row.value("bid_count"), reserveMet: try row.value("reserve_met"),
                minimumNextBid: try row.value("minimum_next_bid"), endsAt: try row.value("ends_at"),
                hammerPrice: try row.value("hammer_price"))
        }
    }

    /// How many events the lot has had (its latest event's number).
    /// The event counts of several lots, in one statement.
    public static func counts(lotIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [UUID: Int] {
        let rows = try await connection.query(
            "SELECT id, event_count FROM lots WHERE id = ANY(\(lotIds)::uuid[])", logger: logger)
        var counts: [UUID: Int] = [:]
        for try await (id, count) in rows.decode((UUID, Int).self) { counts[id] = count }
        return counts
    }

    public static func count(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("SELECT event_count FROM lots WHERE id = \(lotId)", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// Appends an event with the lot's current public state (the caller holds its lock).
    public static func record(lotId: UUID, kind: LotEventKind, on connection: PostgresConnection, logger: Logger) async throws {
        try await record(lotIds: [lotId], kind: kind, on: connection, logger: logger)
    }

    /// The same event for several lots (the caller holds their locks), set-based
    /// (`record_lot_events`, SQL/0018).
    public static func record(lotIds: [UUID], kind: LotEventKind, on connection: PostgresConnection, logger: Logger) async throws {
        guard !lotIds.isEmpty else { return }
        try await connection.query("SELECT record_lot_events(\(lotIds)::uuid[], \(kind.rawValue))", logger: logger)
    }

    /// The payloads a batch's function answers, one JSON document per line
    /// (`lot_events_counted_to_announce`, SQL/0024: json_build_object escapes any newline).
    public static func payloads(joined: String?) -> [String] {
        joined.map { $0.split(separator: "\n").map(String.init) } ?? []
    }

    /// The lot a notification is about, read from the front of the payload without
    /// decoding it (an instance hears every bid on every lot and most have no watcher
    /// here); nil when the payload does not start as `record_lot_event` writes it.
    public static func lotId(inNotification payload: String) -> UUID? {
        let prefix = #"{"lotId" : ""#
        guard payload.hasPrefix(prefix) else { return nil }
        let start = payload.utf8.index(payload.utf8.startIndex, offsetBy: prefix.utf8.count)
        guard let end = payload.utf8.index(start, offsetBy: 36, limitedBy: payload.utf8.endIndex) else { return nil }
        return UUID(uuidString: String(decoding: payload.utf8[start..<end], as: UTF8.self))
    }

    /// The event a notification carries, or nil for a payload this version cannot read
    /// (the watcher then reads the gap from the table).
    public static func decodeNotification(_ payload: String) -> LotEvent? {
        struct Payload: Decodable {
            var lotId: UUID
            var seq: Int
            var kind: String
            var status: String
            var currentPrice: Int64?
            var bidCount: Int
            var reserveMet: Bool
            var minimumNextBid: Int64
            var endsAtMicros: Int64
            var hammerPrice: Int64?
        }
        guard let p = try? JSONDecoder().decode(Payload.self, from: Data(payload.utf8)), let kind = LotEventKind(rawValue: p.kind) else {
            return nil
        }
        return LotEvent(
            lotId: p.lotId, seq: p.seq, kind: kind, status: p.status, currentPrice: p.currentPrice, bidCount: p.bidCount,
            reserveMet: p.reserveMet, minimumNextBid: p.minimumNextBid,
            endsAt: Date(timeIntervalSince1970: Double(p.endsAtMicros) / 1_000_000), hammerPrice: p.hammerPrice)
    }
}
