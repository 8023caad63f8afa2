import Foundation

/// The settlement waterfall (domain rules section 8): what the sale of a case's
/// collateral raised, applied to expenses, the secured obligation in the policy's
/// order, eligible junior lienholders by priority, and the rest to the borrower; or
/// the deficiency left unpaid. Pure integer arithmetic.
public enum Waterfall {
    public struct Input: Equatable, Sendable {
        public var balances: LoanCase.Balances
        public var settlementDate: CalendarDate
        /// Hammer prices of the case's paid invoices.
        public var hammer: Int64
        /// Deposits forfeited by defaulting winners of the case's lots.
        public var forfeitedDeposits: Int64
        public var expenses: [(kind: String, amount: Int64)]
        public var allocationOrder: [Policy.ObligationBucket]
        public var lienholders: [LoanCase.Lienholder]
        public var credits: [LoanCase.Credit]
        /// The day the case's last cash proceeds were received (the payment that paid its
        /// last invoice in full, or the redemption); nil when there were none. Interest
        /// stops there, or at the settlement date if that is earlier.
        public var proceedsReceivedOn: CalendarDate?
        /// What the borrower paid on the loan before the sale: it reduces the obligation
        /// in the allocation order.
        public var borrowerPayments: Int64
        /// A redemption payment (UCC §9-623): proceeds like a sale's.
        public var redemption: Int64

        public init(
            balances: LoanCase.Balances, settlementDate: CalendarDate, hammer: Int64, forfeitedDeposits: Int64,
            expenses: [(kind: String, amount: Int64)], allocationOrder: [Policy.ObligationBucket],
            lienholders: [LoanCase.Lienholder], credits: [LoanCase.Credit], proceedsReceivedOn: CalendarDate? = nil,
            borrowerPayments: Int64 = 0, redemption: Int64 = 0
        ) {
            self.balances = balances
            self.settlementDate = settlementDate
            self.hammer = hammer
            self.forfeitedDeposits = forfeitedDeposits
            self.expenses = expenses
            self.allocationOrder = allocationOrder
            self.lienholders = lienholders
            self.credits = credits
            self.proceedsReceivedOn = proceedsReceivedOn
            self.borrowerPayments = borrowerPayments
            self.redemption = redemption
        }

        /// Where interest stops (domain rules section 8).
        public var interestTo: CalendarDate {
            guard let received = proceedsReceivedOn, received < settlementDate else { return settlementDate }
            return max(received, balances.asOf)
        }

        public static func == (a: Input, b: Input) -> Bool {
            a.balances == b.balances && a.settlementDate == b.settlementDate && a.hammer == b.hammer
                && a.forfeitedDeposits == b.forfeitedDeposits && a.expenses.map(\.kind) == b.expenses.map(\.kind)
                && a.expenses.map(\.amount) == b.expenses.map(\.amount) && a.allocationOrder == b.allocationOrder
                && a.lienholders == b.lienholders && a.credits == b.credits
                && a.proceedsReceivedOn == b.proceedsReceivedOn && a.borrowerPayments == b.borrowerPayments
                && a.redemption == b.redemption
        }
    }

    public enum Bucket: String, Sendable, CaseIterable {
        case expenses, fees, interest, principal, junior, surplus
    }

    public struct Obligation: Equatable, Sendable {
        public var fees: Int64
        public var interest: Int64
        public var principal: Int64
        public var total: Int64 { fees + interest + principal }

        public func amount(_ bucket: Policy.ObligationBucket) -> Int64 {
            switch bucket {
            case .fees: fees
            case .interest: interest
            case .principal: principal
            }
        }
    }

    /// A line of the UCC §9-616(c) explanation. `key` names what the line is, whatever
    /// the language it is printed in.
    public struct ExplanationLine: Equatable, Sendable {
        public enum Key: String, Sendable, CaseIterable {
            case obligation
            case interestAccrued = "interest-accrued"
            case borrowerPayments = "borrower-payments"
            case proceeds
            case afterProceeds = "after-proceeds"
            case expenses, credits
            case juniorsPaid = "juniors-paid"
            case surplus, deficiency
        }

        public var line: Int
        public var key: Key
        public var label: String
        public var amount: Int64
    }

    public struct Statement: Equatable, Sendable {
        public var settlementDate: CalendarDate
        /// The day interest stopped: the last proceeds' arrival, or the settlement date.
        public var interestTo: CalendarDate
        /// The obligation as of the balances' date, before interest accrued after it.
        public var obligationAsOf: Int64
        /// Interest accrued from the balances' date to `interestTo`.
        public var accruedInterest: Int64
        /// Payments the borrower made before the sale, taken off the obligation.
        public var borrowerPayments: Int64
        /// The obligation at `interestTo`, less the borrower's payments: what the proceeds
        /// were applied to.
        public var obligation: Obligation
        public var hammer: Int64
        public var forfeitedDeposits: Int64
        public var redemption: Int64
        public var proceeds: Int64 { hammer + forfeitedDeposits + redemption }
        public var expenses: [Expense]
        public var expensesTotal: Int64
        public var credits: [LoanCase.Credit]
        public var creditsTotal: Int64
        /// What each bucket received, in the order paid: expenses, the obligation's
        /// buckets in the policy's order, junior, surplus.
        public var allocation: [(bucket: Bucket, amount: Int64)]
        public var juniorDistributions: [(name: String, amount: Int64)]
        /// The borrower's, cash left after everyone plus credits beyond the deficiency.
        public var surplus: Int64
        /// What stays unpaid of expenses and obligation, less credits.
        public var deficiency: Int64
        /// Credits that turned into surplus (the lender owes them to the borrower).
        public var creditsToSurplus: Int64
        /// Borrower payments beyond the obligation, owed back with the surplus. Like
        /// credits turned surplus, the lender, who holds them, funds them.
        public var paymentsToSurplus: Int64
        /// What the lender receives of this statement: the obligation's share of the
        /// proceeds, less the surplus it funds (credits, payments beyond the obligation).
        /// Negative when the lender owes the case more than it receives.
        public var lenderShare: Int64 {
            allocation.filter { [.fees, .interest, .principal].contains($0.bucket) }.reduce(0) { $0 + $1.amount }
                - creditsToSurplus - paymentsToSurplus
        }
        /// Expenses the proceeds did not cover: the consignor owes them to the case.
        public var expensesUnpaid: Int64 { expensesTotal - amount(.expenses) }
        public var explanation: [ExplanationLine]

        public struct Expense: Equatable, Sendable {
            public var kind: String
            public var amount: Int64
        }

        public func amount(_ bucket: Bucket) -> Int64 { allocation.first { $0.bucket == bucket }?.amount ?? 0 }

        public static func == (a: Statement, b: Statement) -> Bool {
            a.settlementDate == b.settlementDate && a.interestTo == b.interestTo && a.borrowerPayments == b.borrowerPayments
                && a.obligation == b.obligation && a.hammer == b.hammer
                && a.forfeitedDeposits == b.forfeitedDeposits && a.redemption == b.redemption && a.expenses == b.expenses && a.credits == b.credits
                && a.allocation.map(\.bucket) == b.allocation.map(\.bucket) && a.allocation.map(\.amount) == b.allocation.map(\.amount)
                && a.juniorDistributions.map(\.name) == b.juniorDistributions.map(\.name)
                && a.juniorDistributions.map(\.amount) == b.juniorDistributions.map(\.amount)
                && a.surplus == b.surplus && a.deficiency == b.deficiency && a.explanation == b.explanation
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        /// The settlement date is before the balances' as-of date.
        case settlementBeforeAsOf
        /// An amount on the way would leave the bounds of section 1; which one.
        case outOfRange(Total)
    }

    /// The totals of a settlement that section 1 bounds.
    public enum Total: String, Sendable, Equatable {
        case interest, expenses, credits, proceeds, deficiency, surplus
    }

    /// Interest accrues per diem from the balances' as-of date to the settlement date.
    public static func obligation(_ balances: LoanCase.Balances, on date: CalendarDate) -> Result<Obligation, Failure> {
        let days = balances.asOf.days(until: date)
        guard days >= 0 else { return .failure(.settlementBeforeAsOf) }
        let (accrued, overflow) = balances.perDiemInterest.multipliedReportingOverflow(by: Int64(days))
        guard !overflow, Money.isInRange(accrued), let interest = Money.total([balances.interest, accrued]),
              Money.total([balances.fees, interest, balances.principal]) != nil
        else { return .failure(.outOfRange(.interest)) }
        return .success(Obligation(fees: balances.fees, interest: interest, principal: balances.principal))
    }

    /// The obligation with interest to `interestTo`, less the borrower's payments in the
    /// allocation order; and what of the payments exceeds it.
    static func reduced(
        _ obligation: Obligation, by payments: Int64, order: [Policy.ObligationBucket]
    ) -> (obligation: Obligation, excess: Int64) {
        var reduced = obligation
        var left = payments
        for bucket in order {
            let taken = min(left, reduced.amount(bucket))
            left -= taken
            switch bucket {
            case .fees: reduced.fees -= taken
            case .interest: reduced.interest -= taken
            case .principal: reduced.principal -= taken
            }
        }
        return (reduced, left)
    }

    public static func settle(_ input: Input) -> Result<Statement, Failure> {
        guard input.balances.asOf <= input.settlementDate else { return .failure(.settlementBeforeAsOf) }
        let interestTo = input.interestTo
        let full: Obligation
        switch Self.obligation(input.balances, on: interestTo) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): full = value
        }
        guard Money.isInRange(input.borrowerPayments) else { return .failure(.outOfRange(.proceeds)) }
        let (obligation, paymentsToSurplus) = reduced(full, by: input.borrowerPayments, order: input.allocationOrder)
        guard let expensesTotal = Money.total(input.expenses.map(\.amount)) else { return .failure(.outOfRange(.expenses)) }
        guard let creditsTotal = Money.total(input.credits.map(\.amount)) else { return .failure(.outOfRange(.credits)) }
        guard let proceeds = Money.total([input.hammer, input.forfeitedDeposits, input.redemption]) else { return .failure(.outOfRange(.proceeds)) }

        var remaining = proceeds
        func take(_ owed: Int64) -> Int64 {
            let paid = min(owed, remaining)
            remaining -= paid
            return paid
        }
        var allocation: [(bucket: Bucket, amount: Int64)] = [(.expenses, take(expensesTotal))]
        var unpaid = expensesTotal - allocation[0].amount
        for bucket in input.allocationOrder {
            let owed = obligation.amount(bucket)
            let paid = take(owed)
            unpaid += owed - paid
            allocation.append((Bucket(rawValue: bucket.rawValue)!, paid))
        }
        // Juniors only once the obligation is paid in full, by priority, each up to its claim.
        var juniors: [(name: String, amount: Int64)] = []
        let eligible = input.lienholders.enumerated().filter(\.element.eligible)
            .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
        for lien in eligible { juniors.append((lien.name, unpaid > 0 ? 0 : take(lien.amount))) }
        let juniorsPaid = juniors.reduce(0) { $0 + $1.amount }
        allocation.append((.junior, juniorsPaid))
        // Credits are not cash: they reduce a deficiency first, the rest is the borrower's.
        let creditsToDeficiency = min(creditsTotal, unpaid)
        let creditsToSurplus = creditsTotal - creditsToDeficiency
        let deficiency = unpaid - creditsToDeficiency
        let surplus = remaining + creditsToSurplus + paymentsToSurplus
        // Expenses and the obligation are each bounded, but what stays unpaid of both may not be.
        guard Money.isInRange(deficiency) else { return .failure(.outOfRange(.deficiency)) }
        guard Money.isInRange(surplus) else { return .failure(.outOfRange(.surplus)) }
        allocation.append((.surplus, surplus))

        let obligationAsOf = input.balances.fees + input.balances.interest + input.balances.principal
        let accrued = full.interest - input.balances.interest
        let asOf = input.balances.asOf
        // The lines add up: obligation + accrued - payments - proceeds + expenses - credits
        // + juniors = deficiency - surplus.
        var lines: [(ExplanationLine.Key, String, Int64)] = [
            (.obligation, "Aggregate amount of obligations secured, as of \(asOf)", obligationAsOf),
        ]
        if accrued > 0 { lines.append((.interestAccrued, "Interest accrued from \(asOf) to \(interestTo)", accrued)) }
        if input.borrowerPayments > 0 {
            lines.append((.borrowerPayments, "Payments received from the obligor before the disposition", input.borrowerPayments))
        }
        lines += [
            (.proceeds, "Amount of proceeds of the disposition", proceeds),
            (.afterProceeds, "Aggregate amount of the obligations after deducting the proceeds",
             obligationAsOf + accrued - input.borrowerPayments - proceeds),
            (.expenses, "Expenses of taking, holding, preparing and disposing of the collateral", expensesTotal),
            (.credits, "Credits to which the obligor is entitled", creditsTotal),
        ]
        if juniorsPaid > 0 { lines.append((.juniorsPaid, "Amount paid to subordinate lienholders", juniorsPaid)) }
        lines.append(deficiency > 0 ? (.deficiency, "Deficiency", deficiency) : (.surplus, "Surplus", surplus))
        let explanation = lines.enumerated().map { index, line in
            ExplanationLine(line: index + 1, key: line.0, label: line.1, amount: line.2)
        }
        return .success(Statement(
            settlementDate: input.settlementDate, interestTo: interestTo, obligationAsOf: obligationAsOf,
            accruedInterest: accrued, borrowerPayments: input.borrowerPayments, obligation: obligation, hammer: input.hammer,
            forfeitedDeposits: input.forfeitedDeposits, redemption: input.redemption,
            expenses: input.expenses.map { Statement.Expense(kind: $0.kind, amount: $0.amount) },
            expensesTotal: expensesTotal, credits: input.credits, creditsTotal: creditsTotal, allocation: allocation,
            juniorDistributions: juniors, surplus: surplus, deficiency: deficiency, creditsToSurplus: creditsToSurplus,
            paymentsToSurplus: paymentsToSurplus, explanation: explanation))
    }

    /// A payoff quote (domain rules section 10, UCC §9-623): what the borrower pays to
    /// redeem the collateral on `date`.
    public struct Payoff: Equatable, Sendable {
        public var asOf: CalendarDate
        /// The obligation with interest to `asOf`, less the borrower's earlier payments.
        public var obligation: Obligation
        public var expensesTotal: Int64
        /// Proceeds already received (forfeited deposits included).
        public var proceeds: Int64
        public var payoff: Int64
    }

    /// obligation (interest to `date`) + expenses recorded so far - proceeds already
    /// received - the borrower's earlier payments; never below zero.
    public static func payoff(
        _ balances: LoanCase.Balances, on date: CalendarDate, expensesTotal: Int64, proceeds: Int64, borrowerPayments: Int64,
        allocationOrder: [Policy.ObligationBucket]
    ) -> Result<Payoff, Failure> {
        let full: Obligation
        switch obligation(balances, on: date) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): full = value
        }
        let (owed, _) = reduced(full, by: borrowerPayments, order: allocationOrder)
        guard let gross = Money.total([owed.total, expensesTotal]) else { return .failure(.outOfRange(.expenses)) }
        return .success(Payoff(
            asOf: date, obligation: owed, expensesTotal: expensesTotal, proceeds: proceeds, payoff: max(0, gross - proceeds)))
    }
}
