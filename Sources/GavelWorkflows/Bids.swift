import Foundation
import GavelCore
import GavelStore

/// Bids: placed by one statement under the lot's row lock (`place_bid`, SQL/0005), and
/// the price history as each party may see it.
public struct Bids: Sendable {
    public init() {}

    /// Places a bid. A lot a bidder may not see yet (or any more) does not exist for it:
    /// the same 404 as a lot that does not exist, not a 409 that says it does.
    public func place(
        bidId: UUID, lotId: UUID, maxAmount: Int64, by caller: Caller, in session: Session
    ) async throws -> PlacedBid {
        switch try await BidRepository.place(
            bidId: bidId, lotId: lotId, bidderId: caller.user.id, amount: maxAmount, on: session.connection, logger: session.logger)
        {
        case .success(let placed):
            return placed
        case .failure(let refusal):
            if case .rejected(.lotNotOpen) = refusal,
               let lot = try await LotRepository.find(id: lotId, on: session.connection, logger: session.logger) {
                try await Scope.ensureBidderMayView(lot, caller: caller, in: session)
            }
            throw Self.refusal(refusal, lotId: lotId)
        }
    }

    static func refusal(_ refusal: BidRefusal, lotId: UUID) -> Refusal {
        switch refusal {
        case .lotNotFound: .notFound("no lot \(lotId.uuidString.lowercased())")
        case .depositRequired(let amount): .depositRequired(amount: amount)
        case .bidderBarred: .bidderBarred("you defaulted on this vehicle before and may not bid on it again")
        case .bidderNotVerified:
            .bidderNotVerified("this lot takes bids from verified bidders only: ask finance to record your identity and dealer licence")
        case .bidderRelatedParty:
            .bidderRelatedParty("you are related to the lender selling this vehicle and may not bid on it (UCC 9-615(f))")
        case .rejected(let rejection): Refusal(rejection)
        }
    }

    /// The price steps with per-lot aliases, never a maximum. A sealed lot shows nothing
    /// but its count until it closes, then only the winning bid.
    public func history(lotId: UUID, for caller: Caller, in session: Session) async throws -> (entries: [BidHistoryEntry], bidCount: Int64) {
        let connection = session.connection
        let logger = session.logger
        let lot = try await Scope.visibleLot(lotId, to: caller, in: session)
        let entries: [BidHistoryEntry] = if lot.amountsHidden {
            []
        } else if lot.format == .sealed {
            try await BidRepository.sealedResult(lotId: lotId, on: connection, logger: logger)
        } else {
            try await BidRepository.history(lotId: lotId, on: connection, logger: logger)
        }
        return (entries, lot.bidCount)
    }
}

/// A lot's public events (`lot_events`, numbered from 1 without gaps), as its watchers
/// read them from the table.
public struct LotEvents: Sendable {
    public init() {}

    /// The lot, once the caller may watch it, and the number of the last event the
    /// caller has seen: the one it resumes after, or (without one) all but the latest,
    /// so that a new watcher starts with the lot's state now.
    public func watch(lotId: UUID, resumingAfter: Int?, for caller: Caller, in session: Session) async throws -> (lot: Lot, seen: Int) {
        let lot = try await Scope.visibleLot(lotId, to: caller, in: session)
        if let resumingAfter { return (lot, resumingAfter) }
        let count = try await LotEventRepository.count(lotId: lotId, on: session.connection, logger: session.logger)
        return (lot, max(0, count - 1))
    }

    /// Where a board's stream starts on each lot (its latest event), for lots the caller
    /// was just shown by `Lots.list`, whose visibility rule they passed.
    public func latestSeen(lotIds: [UUID], in session: Session) async throws -> [UUID: Int] {
        try await LotEventRepository.counts(lotIds: lotIds, on: session.connection, logger: session.logger)
            .mapValues { max(0, $0 - 1) }
    }

    public func after(lotId: UUID, seq: Int, in session: Session) async throws -> [LotEvent] {
        try await LotEventRepository.after(lotId: lotId, seq: seq, on: session.connection, logger: session.logger)
    }
}
