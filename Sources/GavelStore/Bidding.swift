import Foundation
import GavelCore
import Logging
import PostgresNIO

public struct Deposit: Sendable, Equatable {
    public var id: UUID
    public var lotId: UUID
    public var bidderId: UUID
    public var amount: Int64
    public var reference: String
    public var status: DepositStatus
    public var currency: String
    /// Once refunded: the payout's bank reference and its day.
    public var payoutReference: String? = nil
    public var refundedOn: CalendarDate? = nil

    public init(id: UUID, lotId: UUID, bidderId: UUID, amount: Int64, reference: String, status: DepositStatus, currency: String) {
        self.id = id
        self.lotId = lotId
        self.bidderId = bidderId
        self.amount = amount
        self.reference = reference
        self.status = status
        self.currency = currency
    }
}

public enum DepositRepository {
    public static func insert(_ deposit: Deposit, recordedBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO deposits (id, lot_id, bidder_id, amount, reference, status, recorded_by)
            VALUES (\(deposit.id), \(deposit.lotId), \(deposit.bidderId), \(deposit.amount), \(deposit.reference), 'held', \(recordedBy))
            """, logger: logger)
    }

    public static func find(id: UUID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> Deposit? {
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT d.id, d.lot_id, d.bidder_id, d.amount, d.reference, d.status, l.currency::text AS currency,
                           d.payout_reference, (d.refunded_at AT TIME ZONE 'UTC')::date::text AS refunded_on
                    FROM deposits d JOIN lots l ON l.id = d.lot_id WHERE d.id = $1
                    """ + (forUpdate ? " FOR UPDATE OF d" : ""),
                binds: { var b = PostgresBindings(); b.append(id); return b }()),
            logger: logger
        ).collect(decode).first
    }

    /// A deposit owed back has been paid out (the caller checked it was `refund-due`).
    public static func markRefunded(id: UUID, payoutReference: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE deposits SET status = 'refunded', payout_reference = \(payoutReference), refunded_at = now(), updated_at = now()
            WHERE id = \(id) AND status = 'refund-due'
            """, logger: logger)
    }

    /// Every deposit held on these lots becomes owed back, except the one of
    /// `keepers[i]` on `lotIds[i]` (the winner's, or the leader's awaiting a decision).
    public static func releaseHeld(lotIds: [UUID], keepers: [UUID?], on connection: PostgresConnection, logger: Logger) async throws {
        // '' stands for "no keeper" (no arrays of optionals in PostgresNIO).
        try await connection.query(
            """
            UPDATE deposits d SET status = 'refund-due', updated_at = now()
            FROM unnest(\(lotIds)::uuid[], \(keepers.map { $0?.uuidString ?? "" })::text[]) AS t (lot_id, keeper)
            WHERE d.lot_id = t.lot_id AND d.status = 'held' AND d.bidder_id IS DISTINCT FROM NULLIF(t.keeper, '')::uuid
            """, logger: logger)
    }

    /// The deposit each winner holds on the lot it won, locked, by lot.
    public static func heldByWinners(
        lotIds: [UUID], winners: [UUID], on connection: PostgresConnection, logger: Logger
    ) async throws -> [UUID: (id: UUID, amount: Int64)] {
        var deposits: [UUID: (id: UUID, amount: Int64)] = [:]
        let rows = try await connection.query(
            """
            SELECT d.lot_id, d.id, d.amount FROM deposits d
            JOIN unnest(\(lotIds)::uuid[], \(winners)::uuid[]) AS t (lot_id, bidder_id)
              ON d.lot_id = t.lot_id AND d.bidder_id = t.bidder_id
            WHERE d.status = 'held' FOR UPDATE OF d
            """, logger: logger)
        for try await (lotId, id, amount) in rows.decode((UUID, UUID, Int64).self) { deposits[lotId] = (id, amount) }
        return deposits
    }

    /// Deposits applied to their winners' invoices.
    public static func markApplied(ids: [UUID], on connection: PostgresConnection, logger: Logger) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            "UPDATE deposits SET status = 'applied', updated_at = now() WHERE id = ANY(\(ids)::uuid[])", logger: logger)
    }

    /// An applied deposit kept by the case: its bidder did not pay the invoice.
    public static func markForfeited(id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE deposits SET status = 'forfeited', updated_at = now() WHERE id = \(id) AND status = 'applied'",
            logger: logger)
    }

    static func decode(_ row: PostgresRandomAccessRow) throws -> Deposit {
        var deposit = Deposit(
            id: try row.value("id"), lotId: try row.value("lot_id"), bidderId: try row.value("bidder_id"),
            amount: try row.value("amount"), reference: try row.value("reference"), status: try row.enumValue("status"),
            currency: try row.value("currency"))
        deposit.payoutReference = try row.value("payout_reference")
        deposit.refundedOn = (try row.value("refunded_on", as: String?.self)).flatMap(CalendarDate.init(iso:))
        return deposit
    }

    public static func list(
        lotId: UUID?, bidderId: UUID?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(Deposit, Int64)] {
        try await connection.query(
            """
            SELECT d.id, d.seq, d.lot_id, d.bidder_id, d.amount, d.reference, d.status, l.currency::text AS currency,
                   d.payout_reference, (d.refunded_at AT TIME ZONE 'UTC')::date::text AS refunded_on
            FROM deposits d JOIN lots l ON l.id = d.lot_id
            WHERE d.seq > \(afterSeq) AND (\(lotId)::uuid IS NULL OR d.lot_id = \(lotId))
              AND (\(bidderId)::uuid IS NULL OR d.bidder_id = \(bidderId))
            ORDER BY d.seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in (try decode(row), try row.value("seq", as: Int64.self)) }
    }
}

/// Why a bid was refused before the engine looked at its amount.

public struct PlacedBid: Sendable, Equatable {
    public var bidId: UUID
    public var sequence: Int64
    public var acceptance: Auction.Acceptance
    public var format: Lot.Format
    /// The database's clock when the decision was taken, under the lot's lock.
    public var placedAt: Date
    /// The notification payloads of the events the bid wrote, for the instance to send
    /// once it has committed (SQL/0017).
    public var events: [String] = []
}

public struct BidHistoryEntry: Sendable, Equatable {
    public var price: Int64
    public var at: Date
    public var alias: Int
}

public enum BidRepository {
    /// Whether the bidder defaulted on this vehicle before (and so may not bid on it).
    /// Bars a bidder from the vehicle of a lot (once; a second bar changes nothing).
    public static func bar(bidderId: UUID, vehicleOfLot lotId: UUID, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO bidder_bars (bidder_id, vehicle_id, reason)
            SELECT \(bidderId), vehicle_id, \(reason) FROM lots WHERE id = \(lotId)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public static func isBarred(bidderId: UUID, vehicleId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await barred in try await connection.query(
            "SELECT EXISTS (SELECT 1 FROM bidder_bars WHERE bidder_id = \(bidderId) AND vehicle_id = \(vehicleId))", logger: logger
        ).decode(Bool.self) { return barred }
        return false
    }

    /// Decides and records one bid with one statement: `place_bid` (SQL/0005) locks the
    /// lot, reads the clock after the lock, checks deposit and bars, applies the engine's
    /// rules, writes the bid, the maximum, the lot and its events. Run outside a
    /// transaction it is one round trip and commits on its own.
    public static func place(
        bidId: UUID, lotId: UUID, bidderId: UUID, amount: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> Result<PlacedBid, BidRefusal> {
        let rows = try await connection.query(
            "SELECT * FROM place_bid(\(bidId), \(lotId), \(bidderId), \(amount))", logger: logger
        ).collect { row -> Result<PlacedBid, BidRefusal> in
            let answer: String = try row.value("answer")
            let detail: Int64? = try row.value("answer_detail")
            switch answer {
            case "accepted": break
            case "lot-not-found": return .failure(.lotNotFound)
            case "lot-not-open": return .failure(.rejected(.lotNotOpen))
            case "deposit-required": return .failure(.depositRequired(amount: detail ?? 0))
            case "bidder-barred": return .failure(.bidderBarred)
            case "bidder-not-verified": return .failure(.bidderNotVerified)
            case "bidder-related-party": return .failure(.bidderRelatedParty)
            case "bid-too-low": return .failure(.rejected(.bidTooLow(minimumNextBid: detail ?? 0)))
            case "bid-not-higher": return .failure(.rejected(.bidNotHigher(currentMaximum: detail ?? 0)))
            case "not-the-fixed-price": return .failure(.rejected(.notTheFixedPrice(price: detail ?? 0)))
            default: throw StoredDataCorrupt(description: "place_bid answered \(answer)")
            }
            guard let format = Lot.Format(rawValue: try row.value("lot_format")) else {
                throw StoredDataCorrupt(description: "place_bid answered an unknown lot format")
            }
            let acceptance = Auction.Acceptance(
                price: try row.value("new_price"), leader: try row.value("new_leader"), endsAt: try row.value("new_ends_at"),
                extended: try row.value("was_extended"), minimumNextBid: try row.value("next_minimum"),
                closesLot: format == .fixed)
            let events: String? = try row.value("events")
            return .success(PlacedBid(
                bidId: bidId, sequence: try row.value("placed_sequence"), acceptance: acceptance, format: format,
                placedAt: try row.value("placed_at"), events: events.map { $0.split(separator: "\n").map(String.init) } ?? []))
        }
        guard let result = rows.first else { throw StoredDataCorrupt(description: "place_bid answered no row") }
        return result
    }

    /// The bidder's own current maximum on a lot, if any.
    public static func maximum(lotId: UUID, bidderId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT amount FROM lot_maxima WHERE lot_id = \(lotId) AND bidder_id = \(bidderId)", logger: logger)
        for try await amount in rows.decode(Int64.self) { return amount }
        return nil
    }

    /// A closed sealed lot's whole public history: the winning amount, when it was bid,
    /// and the winner's alias. The order in which the lead changed would tell losers
    /// how their amounts ranked, so it is never shown.
    public static func sealedResult(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [BidHistoryEntry] {
        try await connection.query(
            """
            SELECT l.hammer_price, b.placed_at, a.number
            FROM lots l
            JOIN lot_maxima m ON m.lot_id = l.id AND m.bidder_id = l.winner_id
            JOIN bids b ON b.sequence = m.sequence
            JOIN lot_aliases a ON a.lot_id = l.id AND a.bidder_id = l.winner_id
            WHERE l.id = \(lotId) AND l.hammer_price IS NOT NULL
            """, logger: logger
        ).collect { row in
            BidHistoryEntry(price: try row.value("hammer_price"), at: try row.value("placed_at"), alias: try row.value("number"))
        }
    }

    /// The public history: price steps with per-lot aliases, never a maximum.
    public static func history(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [BidHistoryEntry] {
        try await connection.query(
            """
            SELECT b.price_after, b.placed_at, a.number
            FROM bids b JOIN lot_aliases a ON a.lot_id = b.lot_id AND a.bidder_id = b.leader_after
            WHERE b.lot_id = \(lotId) ORDER BY b.sequence
            """, logger: logger
        ).collect { row in
            BidHistoryEntry(price: try row.value("price_after"), at: try row.value("placed_at"), alias: try row.value("number"))
        }
    }
}
