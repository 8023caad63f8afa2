/// Who a caller is to Gavel. A manager always acts for exactly one consignor.
public enum Role: String, CaseIterable, Codable, Sendable, Hashable {
    case admin
    case manager
    case appraiser
    case finance
    case bidder

    /// Staff roles see internal fields (reserves, appraisals); bidders never do.
    public var isStaff: Bool { self != .bidder }
}
