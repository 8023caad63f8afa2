import Foundation

/// Notices of disposition and the periods before a sale (domain rules section 11): who is
/// told, and the earliest a lot may start. Pure: the clock and the last notice come in.
public enum NoticeRules {
    /// Who a notice goes to.
    public enum Party: String, Sendable, CaseIterable {
        case borrower, guarantor, lienholder, owner
    }

    /// One party to be told, with what its notice says about it.
    public struct Recipient: Equatable, Sendable {
        public var party: Party
        public var name: String
        public var address: String?
        /// A guarantor's guarantee (a notice names it, never every one as joint).
        public var guaranteeType: LoanCase.GuaranteeType?
        /// The borrower and guarantors answer for a deficiency (UCC §9-614(1)(B)).
        public var liableForDeficiency: Bool
    }

    /// Every party of a case: the borrower, each guarantor, each junior lienholder, and
    /// the collateral's owner where it is not the borrower (UCC §9-611(c)).
    public static func recipients(of loanCase: LoanCase) -> [Recipient] {
        var recipients = [Recipient(
            party: .borrower, name: loanCase.borrower.name, address: loanCase.borrower.address, guaranteeType: nil,
            liableForDeficiency: true)]
        recipients += loanCase.guarantors.map {
            Recipient(party: .guarantor, name: $0.name, address: $0.address, guaranteeType: $0.guaranteeType, liableForDeficiency: true)
        }
        recipients += loanCase.lienholders.sorted { $0.priority < $1.priority }.map {
            Recipient(party: .lienholder, name: $0.name, address: $0.address, guaranteeType: nil, liableForDeficiency: false)
        }
        if let owner = loanCase.collateralOwner {
            recipients.append(Recipient(party: .owner, name: owner.name, address: owner.address, guaranteeType: nil, liableForDeficiency: false))
        }
        return recipients
    }

    /// Under `prc-judicial` each round's lot is its own public announcement: 15 days
    /// before a first auction, 7 before a later one, a later one within 30 days of the
    /// failure of the one before (SPC 2016 rules arts. 12, 26).
    public static let judicialFirstDays: Int64 = 15
    public static let judicialLaterDays: Int64 = 7
    public static let judicialWindowDays: Int64 = 30

    /// Days a notice must precede the sale it announces.
    public static func periodDays(policy: Policy, firstRound: Bool) -> Int64 {
        guard policy.ruleset == .prcJudicial else { return policy.notice.minDays }
        return firstRound ? judicialFirstDays : judicialLaterDays
    }

    /// The first day a notice sent at `sentAt` lets the collateral be sold: the day its
    /// period has run.
    public static func disposeAfter(sentAt: Date, policy: Policy) -> CalendarDate {
        let days = periodDays(policy: policy, firstRound: true)
        return CalendarDate(dayNumber: Int((sentAt.timeIntervalSince1970 / 86_400).rounded(.down)) + Int(days))
    }

    /// Why a lot may not start when asked.
    public struct PeriodRefusal: Error, Equatable, Sendable {
        public var earliestStartsAt: Date
        /// A later judicial round starts within 30 days of the failure of the one before.
        public var latestStartsAt: Date?
        public var reason: String
    }

    /// Checks a new lot's start against the notice period: the commercial ruleset counts
    /// `notice.minDays` from the last notice sent (none sent: from now), and never before
    /// the first day of sale a notice stated; `prc-judicial`
    /// counts its announcement period from the lot's creation and from the last notice,
    /// and keeps a later round within 30 days of the failed one.
    public static func check(
        startsAt: Date, now: Date, lastNoticeSentAt: Date?, disposeAfter: CalendarDate? = nil, policy: Policy, firstRound: Bool,
        previousFailedAt: Date?
    ) -> PeriodRefusal? {
        let days = periodDays(policy: policy, firstRound: firstRound)
        let period = TimeInterval(days) * 86_400
        let judicial = policy.ruleset == .prcJudicial
        guard days > 0 else { return nil }
        var earliest = (lastNoticeSentAt ?? now).addingTimeInterval(period)
        // Nor before the first day of sale a notice stated, where it named a later one.
        if let disposeAfter { earliest = max(earliest, Date(timeIntervalSince1970: TimeInterval(disposeAfter.dayNumber) * 86_400)) }
        if judicial { earliest = max(earliest, now.addingTimeInterval(period)) }
        var latest: Date?
        if judicial, !firstRound, let previousFailedAt {
            latest = previousFailedAt.addingTimeInterval(TimeInterval(judicialWindowDays) * 86_400)
        }
        if lastNoticeSentAt == nil {
            return PeriodRefusal(
                earliestStartsAt: earliest, latestStartsAt: latest,
                reason: "no notice of disposition was sent for this case; send them (POST /v1/cases/{id}/notices) and start the lot \(days) days later")
        }
        if startsAt < earliest {
            let what = judicial
                ? "prc-judicial: a \(firstRound ? "first" : "later") auction is announced at least \(days) days before it starts, and the parties are told as long before"
                : "the notice of disposition gives the parties \(days) days before the sale"
            return PeriodRefusal(earliestStartsAt: earliest, latestStartsAt: latest, reason: what)
        }
        if let latest, startsAt > latest {
            return PeriodRefusal(
                earliestStartsAt: earliest, latestStartsAt: latest,
                reason: "prc-judicial: a later auction starts within \(judicialWindowDays) days of the failure of the one before")
        }
        return nil
    }
}

/// A notice of disposition as it was sent: the facts it states, frozen when it was
/// rendered, so that the page printed later says what the party was told (UCC §9-613,
/// §9-614; domain rules section 11).
public struct NoticeOfDisposition: Codable, Equatable, Sendable {
    public struct Collateral: Codable, Equatable, Sendable {
        public var vin: String
        public var description: String
        public init(vin: String, description: String) {
            self.vin = vin
            self.description = description
        }
    }

    public var party: String
    public var name: String
    public var address: String?
    /// A guarantor's guarantee, `joint` or `general`.
    public var guaranteeType: String?
    public var liableForDeficiency: Bool
    /// The secured party (the lender) and the debtor.
    public var lender: String
    public var borrower: String
    public var loanNumber: String
    public var collateral: [Collateral]
    public var ruleset: String
    /// The first day the collateral may be sold.
    public var disposeAfter: String
    /// Days of the notice period the notice gives.
    public var periodDays: Int64
    /// Where to ask for the redemption amount and an accounting (free of charge).
    public var contact: String

    public init(
        recipient: NoticeRules.Recipient, lender: String, loanCase: LoanCase, collateral: [Collateral], policy: Policy,
        disposeAfter: CalendarDate
    ) {
        party = recipient.party.rawValue
        name = recipient.name
        address = recipient.address
        guaranteeType = recipient.guaranteeType?.rawValue
        liableForDeficiency = recipient.liableForDeficiency
        self.lender = lender
        borrower = loanCase.borrower.name
        loanNumber = loanCase.loanNumber
        self.collateral = collateral
        ruleset = policy.ruleset.rawValue
        self.disposeAfter = disposeAfter.description
        periodDays = NoticeRules.periodDays(policy: policy, firstRound: true)
        contact = policy.settlement.contact
    }
}
