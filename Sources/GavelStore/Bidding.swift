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
    public var status: String
    public var currency: String

    public init(id: UUID, lotId: UUID, bidderId: UUID, amount: Int64, reference: String, status: String, currency: String) {
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

    public static func list(
        lotId: UUID?, bidderId: UUID?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(Deposit, Int64)] {
        try await connection.query(
            """
            SELECT d.id, d.seq, d.lot_id, d.bidder_id, d.amount, d.reference, d.status, l.currency
            FROM deposits d JOIN lots l ON l.id = d.lot_id
            WHERE d.seq > \(afterSeq) AND (\(lotId)::uuid IS NULL OR d.lot_id = \(lotId))
              AND (\(bidderId)::uuid IS NULL OR d.bidder_id = \(bidderId))
            ORDER BY d.seq LIMIT \(limit)
            """, logger: logger
        ).collect { row in
            (Deposit(
                id: try row.value("id"), lotId: try row.value("lot_id"), bidderId: try row.value("bidder_id"),
                amount: try row.value("amount"), reference: try row.value("reference"), status: try row.value("status"),
                currency: try row.value("currency")), try row.value("seq"))
        }
    }
}

/// Why a bid was refused before the engine looked at its amount.
public enum BidRefusal: Error, Equatable, Sendable {
    case lotNotFound
    case depositRequired(amount: Int64)
    case bidderBarred
    case rejected(Auction.Rejection)
}

public struct PlacedBid: Sendable, Equatable {
    public var bidId: UUID
    public var sequence: Int64
    public var acceptance: Auction.Acceptance
    public var lot: Lot
}

public struct BidHistoryEntry: Sendable, Equatable {
    public var price: Int64
    public var at: Date
    public var alias: Int
}

public enum BidRepository {
    /// Decides and records one bid inside the caller's transaction. The lot's row lock
    /// orders bids on a lot; the decision time is read after the lock is granted, so a
    /// bid that waited behind the closer sees the lot closed.
    public static func place(
        bidId: UUID, lotId: UUID, bidderId: UUID, amount: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> Result<PlacedBid, BidRefusal> {
        guard let lot = try await LotRepository.find(id: lotId, forUpdate: true, on: connection, logger: logger) else {
            return .failure(.lotNotFound)
        }
        var now = Date()
        var sequence: Int64 = 0
        for try await (clock, next) in try await connection.query(
            "SELECT clock_timestamp(), nextval('bid_sequence')", logger: logger
        ).decode((Date, Int64).self) {
            (now, sequence) = (clock, next)
        }
        // A closed lot says so before anything about the bidder.
        guard lot.auction(maxima: []).isOpen(at: now) else { return .failure(.rejected(.lotNotOpen)) }
        if lot.prices.deposit > 0 {
            let held = try await connection.query(
                """
                SELECT 1 FROM deposits
                WHERE lot_id = \(lotId) AND bidder_id = \(bidderId) AND status = 'held' AND amount >= \(lot.prices.deposit)
                """, logger: logger)
            var hasDeposit = false
            for try await _ in held { hasDeposit = true }
            guard hasDeposit else { return .failure(.depositRequired(amount: lot.prices.deposit)) }
        }
        let barred = try await connection.query(
            "SELECT 1 FROM bidder_bars WHERE bidder_id = \(bidderId) AND vehicle_id = \(lot.vehicleId)", logger: logger)
        for try await _ in barred { return .failure(.bidderBarred) }

        // The two highest maxima and the bidder's own are all the decision needs.
        let maxima = try await connection.query(
            """
            (SELECT bidder_id, amount, sequence FROM lot_maxima WHERE lot_id = \(lotId)
             ORDER BY amount DESC, sequence ASC LIMIT 2)
            UNION
            SELECT bidder_id, amount, sequence FROM lot_maxima WHERE lot_id = \(lotId) AND bidder_id = \(bidderId)
            """, logger: logger
        ).collect { row in
            Auction.Maximum(bidder: try row.value("bidder_id"), amount: try row.value("amount"), sequence: try row.value("sequence"))
        }
        var auction = lot.auction(maxima: maxima)
        let acceptance: Auction.Acceptance
        switch auction.place(bidder: bidderId, amount: amount, sequence: sequence, now: now) {
        case .failure(let rejection): return .failure(.rejected(rejection))
        case .success(let accepted): acceptance = accepted
        }
        try await connection.query(
            """
            INSERT INTO lot_maxima (lot_id, bidder_id, amount, sequence) VALUES (\(lotId), \(bidderId), \(amount), \(sequence))
            ON CONFLICT (lot_id, bidder_id) DO UPDATE SET amount = EXCLUDED.amount, sequence = EXCLUDED.sequence
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO bids (id, lot_id, bidder_id, sequence, max_amount, price_after, leader_after, ends_at_after, placed_at)
            VALUES (\(bidId), \(lotId), \(bidderId), \(sequence), \(amount), \(acceptance.price), \(acceptance.leader),
                    \(acceptance.endsAt), \(now))
            """, logger: logger)
        // A fixed-price sale ends at its first bid; the closer settles it from there.
        let endsAt = acceptance.closesLot ? now : acceptance.endsAt
        try await connection.query(
            """
            UPDATE lots SET current_price = \(acceptance.price), leader_id = \(acceptance.leader),
                            bid_count = bid_count + 1, ends_at = \(endsAt)
            WHERE id = \(lotId)
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO lot_aliases (lot_id, bidder_id, number)
            SELECT \(lotId), \(bidderId), COALESCE(max(number), 0) + 1 FROM lot_aliases WHERE lot_id = \(lotId)
            ON CONFLICT (lot_id, bidder_id) DO NOTHING
            """, logger: logger)
        var updated = lot
        updated.currentPrice = acceptance.price
        updated.leaderId = acceptance.leader
        updated.bidCount += 1
        updated.endsAt = endsAt
        return .success(PlacedBid(bidId: bidId, sequence: sequence, acceptance: acceptance, lot: updated))
    }

    /// The bidder's own current maximum on a lot, if any.
    public static func maximum(lotId: UUID, bidderId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT amount FROM lot_maxima WHERE lot_id = \(lotId) AND bidder_id = \(bidderId)", logger: logger)
        for try await amount in rows.decode(Int64.self) { return amount }
        return nil
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
