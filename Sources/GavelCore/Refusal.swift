import Foundation

/// Why Gavel refuses a well-formed request: each case is one problem code of the contract
/// (api-contract.md, domain-rules.md, and those of Docs/decisions.md D2). The HTTP status,
/// code and title of each are given in one place, `ErrorMapping` in GavelAPI; here is
/// only what the refusal says. A case with a `String` carries the detail for the person
/// reading it ("the invoice is paid"); the others carry the numbers a client acts on.
public enum Refusal: Error, Sendable, Equatable {
    case notFound(String)
    case forbidden(String)
    /// A change that conflicts with the record's state, where no more specific code applies.
    case conflict(String)

    // Bidding, in the order the checks run (domain-rules section 5).
    case lotNotOpen
    case bidderBarred(String)
    case bidderNotVerified(String)
    case bidderRelatedParty(String)
    case depositRequired(amount: Int64)
    case bidTooLow(minimumNextBid: Int64)
    case bidNotHigher(myMaxAmount: Int64)
    case notTheFixedPrice(price: Int64)
    case rateLimited(String, retryAfterSeconds: Int)

    // Disposal and money.
    case appraisalNotApproved(String)
    /// A lot asked to start before the notice (or judicial announcement) period has run.
    case noticePeriod(String, earliestStartsAt: Date, latestStartsAt: Date?)
    case caseSettled(String)
    case caseNotReady(String, undisposedVehicles: [String], openInvoices: Int)
    case settlementLocked(String)
    /// Every vehicle of the case is sold: there is nothing left to redeem.
    case collateralDisposed(String)
    case invoiceNotOpen(String)
    case invoiceNotDue(String)
    case depositNotRefundable(String)
    case refundNotPending(String)
    case claimNotOpen(String)
    case overpayment(String, outstanding: Int64)
    case currencyMismatch(expected: String, sent: String)
    /// The same Idempotency-Key with another request.
    case idempotencyKeyReused
}

extension Refusal {
    /// The engine's answer to a bid, as the caller is told it.
    public init(_ rejection: Auction.Rejection) {
        switch rejection {
        case .lotNotOpen: self = .lotNotOpen
        case .bidTooLow(let minimum): self = .bidTooLow(minimumNextBid: minimum)
        case .bidNotHigher(let current): self = .bidNotHigher(myMaxAmount: current)
        case .notTheFixedPrice(let price): self = .notTheFixedPrice(price: price)
        }
    }
}
