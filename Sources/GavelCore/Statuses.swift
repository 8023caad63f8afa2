/// Statuses and kinds that PostgreSQL stores as text. Each is the one list of its values:
/// `StoredValuesTests` checks every one against its column's CHECK constraint, so Swift
/// and SQL cannot drift apart.

/// A bidder's deposit for a lot (domain rules section 6).
public enum DepositStatus: String, Sendable, CaseIterable {
    case held, refundDue = "refund-due", refunded, applied, forfeited
}

/// A defaulted loan handed over for disposal.
/// A defaulted loan handed over for disposal (domain rules section 10): `open` until
/// every vehicle is disposed of, `ready` to settle, `settled` by its final statement (or
/// `redeemed` by the borrower), `closed` once every payable is paid out and every
/// receivable collected; `withdrawn` when every vehicle went back to the consignor.
public enum CaseStatus: String, Sendable, CaseIterable {
    case open, ready, settled, redeemed, closed, withdrawn

    /// The case takes no more vehicles, expenses or lots.
    public var isFinished: Bool { self != .open && self != .ready }
}

/// What a payout pays (domain rules section 10).
public enum PayoutKind: String, Sendable, CaseIterable {
    case consignor, lienholder, vendor
    case buyerRefund = "buyer-refund"
}

/// A disposal expense of a case. The seller fee is Gavel's to record, when a buyer's
/// invoice is paid in full; the others are what a caller records.
public enum ExpenseKind: String, Sendable, CaseIterable {
    case repossession, transport, storage, reconditioning, appraisal, sellerFee = "seller-fee", legal, other

    /// What `POST /v1/cases/{id}/expenses` takes.
    public static let recordable = allCases.filter { $0 != .sellerFee }
}

/// What a lot's event stream tells (domain rules section 5).
public enum LotEventKind: String, Sendable, CaseIterable {
    case price, extended, closed
}

/// A settlement statement: final until a correction supersedes it.
public enum StatementStatus: String, Sendable, CaseIterable {
    case final, superseded
    /// Its case was reopened before money moved on it.
    case reversed
}

/// How a statement came about: the collateral sold, or the borrower redeemed it.
public enum StatementKind: String, Sendable, CaseIterable {
    case sale, redemption
}

/// Money a case receives other than a buyer's payment (domain rules section 10).
public enum CaseReceiptKind: String, Sendable, CaseIterable {
    /// The borrower paid on the loan before the sale.
    case borrowerPayment = "borrower-payment"
    /// The borrower paid the payoff and took the collateral back.
    case redemption
    /// The consignor paid what it owed its case.
    case consignorPayment = "consignor-payment"
}

/// A surplus owed to the borrower.
public enum SurplusRefundStatus: String, Sendable, CaseIterable {
    case pending, paid, cancelled
}

/// A deficiency claim against the borrower and guarantors.
public enum DeficiencyClaimStatus: String, Sendable, CaseIterable {
    case open, settled, writtenOff = "written-off", cancelled
}
