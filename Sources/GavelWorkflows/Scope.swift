import Foundation
import GavelCore
import GavelStore

/// Consignor scoping: a manager acts only for its own consignor. Reading another's
/// records answers 404, so the answer does not reveal that they exist.
public enum Scope {
    public static func ensureVisible(consignorId: UUID, to caller: Caller, what: String) throws {
        if caller.role == .manager && caller.user.consignorId != consignorId {
            throw Refusal.notFound("no \(what)")
        }
    }

    /// A settled case takes no more vehicles or expenses (domain rules section 10): they
    /// could never be disposed of or cleared. Read the case with `forChange` first.
    public static func ensureTakesChanges(_ stored: StoredCase) throws {
        guard !stored.loanCase.status.isFinished else {
            throw Refusal.caseSettled("the case is \(stored.loanCase.status.rawValue); it takes no more vehicles, expenses or lots")
        }
    }

    /// The calendar day (UTC) of a database timestamp.
    public static func day(of date: Date) -> CalendarDate {
        CalendarDate(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
    }

    /// Bidders see a lot once public (seven days before it opens; a judicial announcement
    /// from its creation), and its result after it closes
    /// (the winner needs it; results are public as at any auction house). A cancelled
    /// lot, or one not yet announced, does not exist for them (404, as a missing one),
    /// unless they bid on it: they are told how it ended.
    static func ensureBidderMayView(_ lot: Lot, caller: Caller, in session: Session) async throws {
        guard caller.role == .bidder else { return }
        let now = try await session.now()
        if lot.status != .cancelled, now >= lot.publicFrom { return }
        if lot.status == .cancelled,
           try await BidRepository.maximum(lotId: lot.id, bidderId: caller.user.id, on: session.connection, logger: session.logger) != nil {
            return
        }
        throw Refusal.notFound("no lot \(lot.id.uuidString.lowercased())")
    }

    /// A lot the caller may see: not another consignor's (for a manager), and for a
    /// bidder one announced and not cancelled. Any other is "no lot" (404).
    static func visibleLot(_ id: UUID, to caller: Caller, in session: Session) async throws -> Lot {
        guard let lot = try await LotRepository.find(id: id, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
        }
        try ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(id.uuidString.lowercased())")
        try await ensureBidderMayView(lot, caller: caller, in: session)
        return lot
    }
}
