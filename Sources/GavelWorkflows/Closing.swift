import Foundation
import GavelCore
import GavelStore

/// What the closer did to one lot.
public struct ClosedLot: Sendable, Equatable {
    public var lotId: UUID
    public var outcome: Auction.Outcome
}

/// A lot the closer could not close and set aside as `close-failed`, with why.
public struct SetAsideLot: Sendable, Equatable {
    public var lotId: UUID
    public var reason: String
}

/// What one closing batch did.
public struct ClosingBatch: Sendable {
    public var closed: [ClosedLot] = []
    public var setAside: [SetAsideLot] = []
    /// The closed lots' events' notification payloads, for the caller to send once the
    /// batch's transaction has committed (D36, SQL/0022).
    public var announcements: [String] = []
    /// The latest end among the lots taken: where the next batch of the same sweep may
    /// start its scan (`closeDue(after:)`).
    public var lastEndsAt: Date?
    /// Lots taken from the queue (closed or set aside): a full batch means more may be due.
    public var taken: Int { closed.count + setAside.count }
}

/// A sale whose invoice would pass the bound of an amount (domain rules section 1):
/// only a lot made or changed outside the API can come to this, since every input is
/// bounded so that no invoice can.
public struct InvoiceOutOfRange: Error, Sendable {
    public var lotId: UUID
}

/// The closer's work, which no user asks for: lots closed when their end has passed,
/// below-reserve decisions expired, invoices unpaid when due declared in default. Each
/// call is one batch in the caller's transaction; every instance runs them, and row
/// locks taken with `SKIP LOCKED` give each lot or invoice to exactly one.
public struct Closing: Sendable {
    public init() {}

    static let closer = AuditActor.system("closer")
    /// How often a lot may fail to close for a reason that might pass before it is set aside.
    static let closeAttempts = 5

    /// Closes up to `limit` lots whose end has passed.
    ///
    /// The batch is closed with a few set-based statements (when ten thousand lots end
    /// in the same second, statements per lot are what the closer spends its time on).
    /// Should the batch fail, each lot is closed again on its own behind a savepoint.
    /// A lot that fails on its own for a reason that will not pass (its sale breaks a
    /// bound, its row no longer reads) is set aside as `close-failed`: retried, it would
    /// fail for ever and, at the head of the queue, hold back every lot behind it.
    ///
    /// `after`: the previous batch's `lastEndsAt` in the same sweep; lots that never failed
    /// and ended before it are left to the next sweep (another worker holds them, or a
    /// bid did a moment ago).
    public func closeDue(limit: Int, after: Date? = nil, in session: Session) async throws -> ClosingBatch {
        var batch = ClosingBatch()
        var due: [Lot] = []
        for row in try await LotRepository.dueForClosing(
            limit: limit, endingFrom: after, on: session.connection, logger: session.logger)
        {
            switch row.lot {
            case .success(let lot): due.append(lot)
            case .failure(let error): batch.setAside.append(try await setAside(lotId: row.id, because: error, in: session))
            }
        }
        batch.lastEndsAt = due.map(\.endsAt).max()
        guard !due.isEmpty else { return batch }
        switch try await session.attempt("close_batch", { try await close(due, in: session) }) {
        case .success(let (closed, announcements)):
            batch.closed = closed
            batch.announcements = announcements
            return batch
        case .failure(let error):
            session.logger.warning("closing lot by lot after a batch failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        for lot in due {
            switch try await session.attempt("close_lot", { try await close([lot], in: session) }) {
            case .success(let (closed, announcements)):
                batch.closed += closed
                batch.announcements += announcements
            case .failure(let error):
                if let setAside = try await failed(lotId: lot.id, because: error, in: session) {
                    batch.setAside.append(setAside)
                }
            }
        }
        return batch
    }

    /// A lot failed to close on its own. One that can never close is set aside now;
    /// another is retried by later sweeps (behind the lots that never failed, so it
    /// holds none back) until it has failed `closeAttempts` times.
    func failed(lotId: UUID, because error: any Error, in session: Session) async throws -> SetAsideLot? {
        if !Self.isPermanent(error) {
            let attempts = try await LotRepository.countCloseAttempt(lotId: lotId, on: session.connection, logger: session.logger)
            guard attempts >= Self.closeAttempts else {
                session.logger.warning("cannot close lot yet", metadata: [
                    "lot": "\(lotId)", "attempt": "\(attempts)", "error": "\(String(reflecting: error))"])
                return nil
            }
        }
        return try await setAside(lotId: lotId, because: error, in: session)
    }

    /// Errors that closing the same lot again would meet again.
    static func isPermanent(_ error: any Error) -> Bool {
        switch error {
        case is InvoiceOutOfRange, is StoredDataCorrupt, is ValidationFailure: true
        default: DatabaseRefusal.isPermanent(error)
        }
    }

    /// Takes a lot out of the closer's queue for good, with the reason kept on the row, in
    /// the audit trail and on the lot's event stream.
    func setAside(lotId: UUID, because error: any Error, in session: Session) async throws -> SetAsideLot {
        let reason = switch error {
        case let error as InvoiceOutOfRange:
            "its invoice would pass \(Money.maximum) minor units (lot \(error.lotId.uuidString.lowercased()))"
        default:
            DatabaseRefusal.explanation(error, of: "its close") ?? String(describing: error)
        }
        try await LotRepository.setCloseFailed(lotId: lotId, reason: reason, on: session.connection, logger: session.logger)
        try await LotEventRepository.record(lotId: lotId, kind: .closed, on: session.connection, logger: session.logger)
        try await session.audit(
            Self.closer, "lot.close-failed", "lot", lotId, before: .object(["status": .string("scheduled")]),
            after: .object(["status": .string("close-failed"), "reason": .string(reason)]))
        return SetAsideLot(lotId: lotId, reason: reason)
    }

    /// Closes lots the caller holds locked, each by `Auction` over its two highest maxima;
    /// answers them with their events' notification payloads, not yet sent.
    func close(_ lots: [Lot], in session: Session) async throws -> ([ClosedLot], [String]) {
        let connection = session.connection
        let logger = session.logger
        let lotIds = lots.map(\.id)
        let maxima = try await LotRepository.topMaxima(lotIds: lotIds, on: connection, logger: logger)
        var approvalHours: [UUID: Int] = [:]
        var closed: [ClosedLot] = []
        var closes: [LotRepository.Close] = []
        for lot in lots {
            let outcome = lot.auction(maxima: maxima[lot.id] ?? []).outcome
            closed.append(ClosedLot(lotId: lot.id, outcome: outcome))
            switch outcome {
            case .unsold:
                closes.append(.init(lotId: lot.id, status: .unsold, winner: nil, hammerPrice: nil, decisionHours: nil))
            case .sold(let price, let winner):
                closes.append(.init(lotId: lot.id, status: .sold, winner: winner, hammerPrice: price, decisionHours: nil))
            case .pendingApproval(let price, let leader):
                if approvalHours[lot.consignorId] == nil {
                    approvalHours[lot.consignorId] = Int(
                        try await ConsignorRepository.policy(of: lot.consignorId, on: connection, logger: logger).bidding.approvalHours)
                }
                closes.append(.init(
                    lotId: lot.id, status: .pendingApproval, winner: leader, hammerPrice: price,
                    decisionHours: approvalHours[lot.consignorId] ?? 0))
            }
        }
        let announcements = try await LotRepository.writeCloses(closes, on: connection, logger: logger)
        // Everyone but the winner (or the leader awaiting a decision) is owed their deposit back.
        try await DepositRepository.releaseHeld(lotIds: lotIds, keepers: closes.map(\.winner), on: connection, logger: logger)
        let sold = closes.filter { $0.status == .sold }.map(\.lotId)
        if !sold.isEmpty {
            try await Invoices().issue(lotIds: sold, in: session)
        }
        try await session.audit(zip(lots, closed).map { lot, result in
            AuditRecord(actor: Self.closer, action: "lot.close", entityType: "lot", entityId: lot.id,
                        before: .object(["status": .string(lot.status.rawValue)]),
                        after: Self.outcomeRecord(result.outcome), requestId: nil)
        })
        return (closed, announcements)
    }

    /// Rejects below-reserve lots whose approval period ran out.
    public func expireDecisions(limit: Int, in session: Session) async throws -> [UUID] {
        let expired = try await LotRepository.overdueDecisions(limit: limit, on: session.connection, logger: session.logger)
        for lotId in expired {
            try await decide(lotId: lotId, accept: false, in: session)
            try await session.audit(
                Self.closer, "lot.decision.expire", "lot", lotId, before: .object(["status": .string("pending-approval")]),
                after: .object(["status": .string("unsold")]))
        }
        return expired
    }

    /// The decision on a below-reserve lot the caller holds locked: accepted, the leader
    /// is invoiced; rejected, every deposit on it is owed back.
    func decide(lotId: UUID, accept: Bool, in session: Session) async throws {
        if accept {
            try await LotRepository.markAccepted(lotId: lotId, on: session.connection, logger: session.logger)
            try await Invoices().issue(lotIds: [lotId], in: session)
        } else {
            try await LotRepository.markRejected(lotId: lotId, on: session.connection, logger: session.logger)
            try await DepositRepository.releaseHeld(lotIds: [lotId], keepers: [nil], on: session.connection, logger: session.logger)
        }
        // Watchers saw `closed` with pending-approval; this one carries the final status.
        try await LotEventRepository.record(lotId: lotId, kind: .closed, on: session.connection, logger: session.logger)
    }

    /// Declares in default the open invoices whose due time has passed.
    public func defaultOverdue(limit: Int, in session: Session) async throws -> [UUID] {
        let overdue = try await InvoiceRepository.overdue(limit: limit, on: session.connection, logger: session.logger)
        for invoice in overdue {
            _ = try await Invoices().markDefaulted(invoice, in: session)
            try await session.audit(
                Self.closer, "invoice.default", "invoice", invoice.id, before: .object(["status": .string("open")]),
                after: .object(["status": .string("defaulted")]))
        }
        return overdue.map(\.id)
    }

    /// A close as the audit trail keeps it.
    static func outcomeRecord(_ outcome: Auction.Outcome) -> JSONValue {
        switch outcome {
        case .unsold: .object(["status": .string("unsold")])
        case .sold(let price, let winner):
            .object(["status": .string("sold"), "hammerPrice": .integer(price), "winnerId": .string(winner.uuidString.lowercased())])
        case .pendingApproval(let price, let leader):
            .object(["status": .string("pending-approval"), "hammerPrice": .integer(price), "leaderId": .string(leader.uuidString.lowercased())])
        }
    }
}
