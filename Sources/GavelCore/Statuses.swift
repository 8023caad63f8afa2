/// Statuses and kinds that PostgreSQL stores as text. Each is the one list of its values:
/// `StoredValuesTests` checks every one against its column's CHECK constraint, so Swift
/// and SQL cannot drift apart.

/// A bidder's deposit for a lot (domain rules section 6).
public enum DepositStatus: String, Sendable, CaseIterable {
    case held, refundDue = "refund-due", refunded, applied, forfeited
}

/// A defaulted loan handed over for disposal.
public enum CaseStatus: String, Sendable, CaseIterable {
    case open, settled
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
}

/// A surplus owed to the borrower.
public enum SurplusRefundStatus: String, Sendable, CaseIterable {
    case pending, paid, cancelled
}

/// A deficiency claim against the borrower and guarantors.
public enum DeficiencyClaimStatus: String, Sendable, CaseIterable {
    case open, settled, writtenOff = "written-off", cancelled
}
