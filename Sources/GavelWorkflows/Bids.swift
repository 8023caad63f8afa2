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
        case .rejected(let rejection): Refusal(rejection)
        }
    }

    /// The price steps with per-lot aliases, never a maximum. A sealed lot shows nothing
    /// but its count until it closes, then only the winning bid.
    public func history(lotId: UUID, for caller: Caller, in session: Session) async throws -> (entries: [BidHistoryEntry], bidCount: Int64) {
        let connection = session.connection
        let logger = session.logger
        guard let lot = try await LotRepository.find(id: lotId, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(lotId.uuidString.lowercased())")
        try await Scope.ensureBidderMayView(lot, caller: caller, in: session)
        let entries: [BidHistoryEntry]
        switch (lot.format, lot.status) {
        case (.sealed, .scheduled), (.sealed, .open): entries = []
        case (.sealed, _): entries = try await BidRepository.sealedResult(lotId: lotId, on: connection, logger: logger)
        default: entries = try await BidRepository.history(lotId: lotId, on: connection, logger: logger)
        }
        return (entries, lot.bidCount)
    }
}
