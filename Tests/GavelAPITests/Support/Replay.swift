import Foundation
import GavelCore
import PostgresNIO
import Testing

/// A bid as stored, with the lot's public state right after it.
struct StoredBid: Sendable {
    var id: UUID
    var bidder: UUID
    var maxAmount: Int64
    var sequence: Int64
    var priceAfter: Int64
    var leaderAfter: UUID
    var endsAtAfter: Date
    var placedAt: Date
}

/// The check every concurrency test ends with: the stored bids, replayed in sequence
/// order through the pure engine at their stored instants, are each accepted and give
/// exactly the stored price, leader and end after each step.
enum Replay {
    static func storedBids(lotId: UUID, on connection: PostgresConnection) async throws -> [StoredBid] {
        let rows = try await connection.query(
            """
            SELECT id, bidder_id, max_amount, sequence, price_after, leader_after, ends_at_after, placed_at
            FROM bids WHERE lot_id = \(lotId) ORDER BY sequence
            """, logger: quietLogger)
        var bids: [StoredBid] = []
        for try await (id, bidder, amount, sequence, price, leader, endsAt, at)
            in rows.decode((UUID, UUID, Int64, Int64, Int64, UUID, Date, Date).self)
        {
            bids.append(StoredBid(
                id: id, bidder: bidder, maxAmount: amount, sequence: sequence, priceAfter: price, leaderAfter: leader,
                endsAtAfter: endsAt, placedAt: at))
        }
        return bids
    }

    /// Replays `bids` from `opening` (the lot before its first bid); records an issue at
    /// the first step that differs and returns the engine's state after the replay.
    @discardableResult
    static func check(_ bids: [StoredBid], from opening: Auction) -> Auction {
        var engine = opening
        for bid in bids {
            switch engine.place(bidder: bid.bidder, amount: bid.maxAmount, sequence: bid.sequence, now: bid.placedAt) {
            case .failure(let refusal):
                Issue.record("stored bid \(bid.sequence) is refused on replay: \(refusal)")
                return engine
            case .success(let step):
                let end = step.closesLot ? bid.placedAt : step.endsAt
                guard step.price == bid.priceAfter, step.leader == bid.leaderAfter,
                      abs(end.timeIntervalSince(bid.endsAtAfter)) < 0.000_5
                else {
                    Issue.record("""
                        stored bid \(bid.sequence) differs from the replay: stored \(bid.priceAfter) \(bid.leaderAfter) \
                        \(bid.endsAtAfter), replay \(step.price) \(step.leader) \(end)
                        """)
                    return engine
                }
            }
        }
        return engine
    }
}
