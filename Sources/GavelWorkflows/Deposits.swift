import Foundation
import GavelCore
import GavelStore
import PostgresNIO

/// Bidders' deposits: received by finance before or during bidding, held per lot,
/// applied to the winner's invoice, owed back to the others and refunded.
public struct Deposits: Sendable {
    public init() {}

    /// A deposit finance received for a bidder on a lot.
    public struct Receipt: Sendable {
        public var lotId: UUID
        public var bidderId: UUID
        public var amount: Int64
        public var reference: String
        /// The currency the client says it means, if it says.
        public var currency: String?

        public init(lotId: UUID, bidderId: UUID, amount: Int64, reference: String, currency: String?) {
            self.lotId = lotId
            self.bidderId = bidderId
            self.amount = amount
            self.reference = reference
            self.currency = currency
        }
    }

    /// Holds a deposit, posts it and audits it. Taken while the lot is scheduled or open
    /// (a fixed-price lot until it is bought), from the lot's deposit up to its starting
    /// price, one held per bidder and lot, never from a bidder barred from the vehicle.
    public func receive(_ receipt: Receipt, by caller: Caller, in session: Session) async throws -> Deposit {
        let id = Seam.newID()
        let connection = session.connection
        let logger = session.logger
        guard let lot = try await LotRepository.find(id: receipt.lotId, forUpdate: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(receipt.lotId.uuidString.lowercased())")
        }
        guard [.scheduled, .open].contains(lot.status), !(lot.format == .fixed && lot.bidCount > 0) else {
            throw Refusal.conflict("the lot is \(lot.status.rawValue); deposits are taken before and during bidding")
        }
        try MoneyRules.ensureCurrency(receipt.currency, is: lot.currency)
        // At most the starting price: a deposit then never exceeds the invoice it pays into.
        guard (lot.prices.deposit...lot.prices.start).contains(receipt.amount) else {
            throw ValidationFailure([FieldError(
                field: "amount",
                message: "must be from the lot's deposit, \(lot.prices.deposit), to its starting price, \(lot.prices.start)")])
        }
        guard try await UserRepository.role(of: receipt.bidderId, on: connection, logger: logger) == .bidder else {
            throw ValidationFailure([FieldError(field: "bidderId", message: "no bidder has this ID")])
        }
        // A bidder who defaulted on this vehicle may not bid on it again: its money is not taken either.
        if try await BidRepository.isBarred(bidderId: receipt.bidderId, vehicleId: lot.vehicleId, on: connection, logger: logger) {
            throw Refusal.bidderBarred("this bidder defaulted on this vehicle before and may not bid on it; no deposit is taken")
        }
        let deposit = Deposit(
            id: id, lotId: receipt.lotId, bidderId: receipt.bidderId, amount: receipt.amount, reference: receipt.reference,
            status: .held, currency: lot.currency)
        do {
            try await DepositRepository.insert(deposit, recordedBy: caller.user.id, on: connection, logger: logger)
        } catch let error as PSQLError where error.isUniqueViolation {
            throw Refusal.conflict("this bidder already has a deposit held for this lot")
        }
        try await LedgerRepository.post(
            Postings.depositReceived(depositId: id, amount: receipt.amount, currency: lot.currency), on: connection, logger: logger)
        try await session.audit(caller, "deposit.receive", "deposit", id, before: nil, after: deposit.record)
        return deposit
    }

    /// Deposits oldest first, with the sequence a page's cursor continues from. Finance
    /// and admins see all; a bidder its own only (asking for another's shows none).
    public func list(
        lotId: UUID?, bidderId: UUID?, afterSeq: Int64, limit: Int, for caller: Caller, in session: Session
    ) async throws -> [(Deposit, Int64)] {
        var bidderId = bidderId
        if caller.role == .bidder {
            if let asked = bidderId, asked != caller.user.id { return [] }
            bidderId = caller.user.id
        }
        return try await DepositRepository.list(
            lotId: lotId, bidderId: bidderId, afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
    }

    /// Pays back a deposit owed back (`refund-due`), with the payout's reference.
    public func refund(depositId: UUID, payoutReference: String, by caller: Caller, in session: Session) async throws -> Deposit {
        let connection = session.connection
        let logger = session.logger
        guard let deposit = try await DepositRepository.find(id: depositId, forUpdate: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no deposit \(depositId.uuidString.lowercased())")
        }
        guard deposit.status == .refundDue else {
            throw Refusal.depositNotRefundable("the deposit is \(deposit.status.rawValue); only a deposit owed back (refund-due) is refunded")
        }
        try await DepositRepository.markRefunded(id: depositId, payoutReference: payoutReference, on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.depositRefunded(depositId: depositId, amount: deposit.amount, currency: deposit.currency),
            on: connection, logger: logger)
        var refunded = deposit
        refunded.status = .refunded
        refunded.payoutReference = payoutReference
        refunded.refundedOn = try await session.today()
        try await session.audit(caller, "deposit.refund", "deposit", depositId, before: deposit.record, after: refunded.record)
        return refunded
    }
}
