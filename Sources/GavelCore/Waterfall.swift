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

        public init(
            balances: LoanCase.Balances, settlementDate: CalendarDate, hammer: Int64, forfeitedDeposits: Int64,
            expenses: [(kind: String, amount: Int64)], allocationOrder: [Policy.ObligationBucket],
            lienholders: [LoanCase.Lienholder], credits: [LoanCase.Credit]
        ) {
            self.balances = balances
            self.settlementDate = settlementDate
            self.hammer = hammer
            self.forfeitedDeposits = forfeitedDeposits
            self.expenses = expenses
            self.allocationOrder = allocationOrder
            self.lienholders = lienholders
            self.credits = credits
        }

        public static func == (a: Input, b: Input) -> Bool {
            a.balances == b.balances && a.settlementDate == b.settlementDate && a.hammer == b.hammer
                && a.forfeitedDeposits == b.forfeitedDeposits && a.expenses.map(\.kind) == b.expenses.map(\.kind)
                && a.expenses.map(\.amount) == b.expenses.map(\.amount) && a.allocationOrder == b.allocationOrder
                && a.lienholders == b.lienholders && a.credits == b.credits
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

    public struct ExplanationLine: Equatable, Sendable {
        public var line: Int
        public var label: String
        public var amount: Int64
    }

    public struct Statement: Equatable, Sendable {
        public var settlementDate: CalendarDate
        public var obligation: Obligation
        public var hammer: Int64
        public var forfeitedDeposits: Int64
        public var proceeds: Int64 { hammer + forfeitedDeposits }
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
        public var explanation: [ExplanationLine]

        public struct Expense: Equatable, Sendable {
            public var kind: String
            public var amount: Int64
        }

        public func amount(_ bucket: Bucket) -> Int64 { allocation.first { $0.bucket == bucket }?.amount ?? 0 }

        public static func == (a: Statement, b: Statement) -> Bool {
            a.settlementDate == b.settlementDate && a.obligation == b.obligation && a.hammer == b.hammer
                && a.forfeitedDeposits == b.forfeitedDeposits && a.expenses == b.expenses && a.credits == b.credits
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

    public static func settle(_ input: Input) -> Result<Statement, Failure> {
        let obligation: Obligation
        switch Self.obligation(input.balances, on: input.settlementDate) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): obligation = value
        }
        guard let expensesTotal = Money.total(input.expenses.map(\.amount)) else { return .failure(.outOfRange(.expenses)) }
        guard let creditsTotal = Money.total(input.credits.map(\.amount)) else { return .failure(.outOfRange(.credits)) }
        guard let proceeds = Money.total([input.hammer, input.forfeitedDeposits]) else { return .failure(.outOfRange(.proceeds)) }

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
        allocation.append((.junior, juniors.reduce(0) { $0 + $1.amount }))
        // Credits are not cash: they reduce a deficiency first, the rest is the borrower's.
        let creditsToDeficiency = min(creditsTotal, unpaid)
        let creditsToSurplus = creditsTotal - creditsToDeficiency
        let deficiency = unpaid - creditsToDeficiency
        let surplus = remaining + creditsToSurplus
        // Expenses and the obligation are each bounded, but what stays unpaid of both may not be.
        guard Money.isInRange(deficiency) else { return .failure(.outOfRange(.deficiency)) }
        guard Money.isInRange(surplus) else { return .failure(.outOfRange(.surplus)) }
        allocation.append((.surplus, surplus))

        let afterProceeds = obligation.total - proceeds
        let explanation = [
            ExplanationLine(line: 1, label: "Aggregate amount of obligations secured, as of \(input.settlementDate)", amount: obligation.total),
            ExplanationLine(line: 2, label: "Amount of proceeds of the disposition", amount: proceeds),
            ExplanationLine(line: 3, label: "Aggregate amount of the obligations after deducting the proceeds", amount: afterProceeds),
            ExplanationLine(line: 4, label: "Expenses of taking, holding, preparing and disposing of the collateral", amount: expensesTotal),
            ExplanationLine(line: 5, label: "Credits to which the obligor is entitled", amount: creditsTotal),
            deficiency > 0
                ? ExplanationLine(line: 6, label: "Deficiency", amount: deficiency)
                : ExplanationLine(line: 6, label: "Surplus", amount: surplus),
        ]
        return .success(Statement(
            settlementDate: input.settlementDate, obligation: obligation, hammer: input.hammer,
            forfeitedDeposits: input.forfeitedDeposits,
            expenses: input.expenses.map { Statement.Expense(kind: $0.kind, amount: $0.amount) },
            expensesTotal: expensesTotal, credits: input.credits, creditsTotal: creditsTotal, allocation: allocation,
            juniorDistributions: juniors, surplus: surplus, deficiency: deficiency, creditsToSurplus: creditsToSurplus,
            explanation: explanation))
    }
}
