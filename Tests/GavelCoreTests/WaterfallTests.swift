import Foundation
import GavelCore
import Testing

@Suite("Settlement waterfall (domain rules section 8)")
struct WaterfallTests {
    static let balances = LoanCase.Balances(
        principal: 6_000_000, interest: 350_000, fees: 20_000, perDiemInterest: 1_500, asOf: CalendarDate(iso: "2026-10-01")!)
    static let junior = LoanCase.Lienholder(name: "Second Lien Finance", amount: 300_000, priority: 1, eligible: true)

    static func input(hammer: Int64, forfeited: Int64 = 0, expenses: [(String, Int64)], credits: [LoanCase.Credit] = [],
                      lienholders: [LoanCase.Lienholder] = [junior], order: [Policy.ObligationBucket] = [.fees, .interest, .principal],
                      balances: LoanCase.Balances = balances, date: String = "2026-11-20", received: String? = nil,
                      borrowerPayments: Int64 = 0) -> Waterfall.Input {
        Waterfall.Input(
            balances: balances, settlementDate: CalendarDate(iso: date)!, hammer: hammer, forfeitedDeposits: forfeited,
            expenses: expenses.map { (kind: $0.0, amount: $0.1) }, allocationOrder: order, lienholders: lienholders, credits: credits,
            proceedsReceivedOn: received.flatMap(CalendarDate.init(iso:)), borrowerPayments: borrowerPayments)
    }

    /// The explanation's lines add up (domain rules section 8): obligation + accrued -
    /// payments - proceeds + expenses - credits + juniors = deficiency - surplus.
    static func addsUp(_ statement: Waterfall.Statement) -> Bool {
        func amount(_ key: Waterfall.ExplanationLine.Key) -> Int64 { statement.explanation.first { $0.key == key }?.amount ?? 0 }
        let left = amount(.afterProceeds) + amount(.expenses) - amount(.credits) + amount(.juniorsPaid)
        let afterProceeds = amount(.obligation) + amount(.interestAccrued) - amount(.borrowerPayments) - amount(.proceeds)
        return afterProceeds == amount(.afterProceeds) && left == amount(.deficiency) - amount(.surplus)
    }

    @Test("test vector E (surplus)")
    func vectorE() throws {
        let statement = try Waterfall.settle(Self.input(hammer: 8_000_000, expenses: [("repossession", 450_000), ("storage", 280_000)])).get()
        #expect(statement.obligation.interest == 425_000)
        #expect(statement.obligation.total == 6_445_000)
        #expect(statement.allocation.map(\.bucket) == [.expenses, .fees, .interest, .principal, .junior, .surplus])
        #expect(statement.allocation.map(\.amount) == [730_000, 20_000, 425_000, 6_000_000, 300_000, 525_000])
        #expect(statement.juniorDistributions.map(\.amount) == [300_000])
        #expect(statement.surplus == 525_000)
        #expect(statement.deficiency == 0)
        // The junior's 300 000 has a line of its own, so that the lines add up.
        #expect(statement.explanation.map(\.key) == [
            .obligation, .interestAccrued, .proceeds, .afterProceeds, .expenses, .credits, .juniorsPaid, .surplus])
        #expect(statement.explanation.map(\.amount) == [6_370_000, 75_000, 8_000_000, -1_555_000, 730_000, 0, 300_000, 525_000])
        #expect(statement.explanation.map(\.line) == Array(1...8))
        #expect(statement.explanation.last?.label == "Surplus")
        #expect(statement.interestTo == CalendarDate(iso: "2026-11-20"))
        #expect(Self.addsUp(statement))
    }

    @Test("test vector G (interest stops when the money arrives)")
    func vectorG() throws {
        let statement = try Waterfall.settle(Self.input(
            hammer: 8_000_000, expenses: [("repossession", 450_000), ("storage", 280_000)], received: "2026-11-10")).get()
        #expect(statement.interestTo == CalendarDate(iso: "2026-11-10"))
        #expect(statement.settlementDate == CalendarDate(iso: "2026-11-20"))
        #expect(statement.obligation.interest == 410_000)
        #expect(statement.surplus == 540_000)
        #expect(statement.explanation.map(\.key) == [
            .obligation, .interestAccrued, .proceeds, .afterProceeds, .expenses, .credits, .juniorsPaid, .surplus])
        #expect(statement.explanation.map(\.amount) == [6_370_000, 60_000, 8_000_000, -1_570_000, 730_000, 0, 300_000, 540_000])
        #expect(statement.explanation[0].label == "Aggregate amount of obligations secured, as of 2026-10-01")
        #expect(statement.explanation[1].label == "Interest accrued from 2026-10-01 to 2026-11-10")
        #expect(Self.addsUp(statement))
        // A later statement does not enlarge anything: interest stopped on 2026-11-10.
        let later = try Waterfall.settle(Self.input(
            hammer: 8_000_000, expenses: [("repossession", 450_000), ("storage", 280_000)], date: "2026-11-28",
            received: "2026-11-10")).get()
        #expect(later.surplus == 540_000 && later.obligation == statement.obligation)
        // Money that arrived after the statement's date does not move interest past it.
        let early = try Waterfall.settle(Self.input(
            hammer: 8_000_000, expenses: [("repossession", 450_000), ("storage", 280_000)], received: "2026-11-25")).get()
        #expect(early.interestTo == CalendarDate(iso: "2026-11-20") && early.surplus == 525_000)
    }

    @Test("test vector H (payoff quote)")
    func vectorH() throws {
        let quote = try Waterfall.payoff(
            Self.balances, on: CalendarDate(iso: "2026-11-05")!, expensesTotal: 400_000, proceeds: 0, borrowerPayments: 0,
            allocationOrder: [.fees, .interest, .principal]).get()
        #expect(quote.obligation.interest == 402_500)
        #expect(quote.obligation.total == 6_422_500)
        #expect(quote.payoff == 6_822_500)
        let withProceeds = try Waterfall.payoff(
            Self.balances, on: CalendarDate(iso: "2026-11-05")!, expensesTotal: 400_000, proceeds: 590_000, borrowerPayments: 100_000,
            allocationOrder: [.fees, .interest, .principal]).get()
        #expect(withProceeds.payoff == 6_822_500 - 590_000 - 100_000)
        #expect(withProceeds.obligation.fees == 0 && withProceeds.obligation.interest == 322_500)
        #expect(Waterfall.payoff(Self.balances, on: CalendarDate(iso: "2026-09-30")!, expensesTotal: 0, proceeds: 0,
                                 borrowerPayments: 0, allocationOrder: [.fees, .interest, .principal]) == .failure(.settlementBeforeAsOf))
    }

    @Test("borrower payments before the sale reduce the obligation in the allocation order; the excess is the borrower's")
    func borrowerPayments() throws {
        let statement = try Waterfall.settle(Self.input(
            hammer: 5_000_000, expenses: [("repossession", 670_000)], borrowerPayments: 500_000)).get()
        #expect(statement.obligation.fees == 0 && statement.obligation.interest == 0)
        #expect(statement.obligation.principal == 6_000_000 - 55_000)
        #expect(statement.deficiency == 6_445_000 + 670_000 - 5_000_000 - 500_000)
        #expect(statement.explanation.map(\.key).contains(.borrowerPayments))
        #expect(Self.addsUp(statement))
        let overpaid = try Waterfall.settle(Self.input(
            hammer: 100_000, expenses: [("repossession", 100_000)], lienholders: [], borrowerPayments: 6_500_000)).get()
        #expect(overpaid.obligation.total == 0 && overpaid.paymentsToSurplus == 55_000 && overpaid.surplus == 55_000)
        #expect(overpaid.lenderShare == -55_000)
        #expect(Self.addsUp(overpaid))
    }

    @Test("test vector F (deficiency)")
    func vectorF() throws {
        let statement = try Waterfall.settle(Self.input(hammer: 5_000_000, forfeited: 590_000, expenses: [("repossession", 670_000)])).get()
        #expect(statement.proceeds == 5_590_000)
        #expect(statement.allocation.map(\.amount) == [670_000, 20_000, 425_000, 4_475_000, 0, 0])
        #expect(statement.juniorDistributions.map(\.amount) == [0])
        #expect(statement.surplus == 0)
        #expect(statement.deficiency == 1_525_000)
        #expect(statement.explanation.map(\.amount) == [6_370_000, 75_000, 5_590_000, 855_000, 670_000, 0, 1_525_000])
        #expect(statement.explanation.last?.key == .deficiency && statement.explanation.last?.label == "Deficiency")
        #expect(Self.addsUp(statement))
    }

    @Test("credits reduce a deficiency first; the rest becomes surplus")
    func credits() throws {
        let small = try Waterfall.settle(Self.input(
            hammer: 5_000_000, forfeited: 590_000, expenses: [("repossession", 670_000)],
            credits: [.init(label: "unearned interest rebate", amount: 25_000)])).get()
        #expect(small.deficiency == 1_500_000)
        #expect(small.surplus == 0)
        let large = try Waterfall.settle(Self.input(
            hammer: 5_000_000, forfeited: 590_000, expenses: [("repossession", 670_000)],
            credits: [.init(label: "GAP refund", amount: 1_600_000)])).get()
        #expect(large.deficiency == 0)
        #expect(large.surplus == 75_000)
        #expect(large.creditsToSurplus == 75_000)
    }

    @Test("the allocation order follows the policy; ineligible juniors get nothing; juniors by priority")
    func orderAndJuniors() throws {
        let order: [Policy.ObligationBucket] = [.principal, .interest, .fees]
        let statement = try Waterfall.settle(Self.input(
            hammer: 6_100_000, expenses: [], lienholders: [
                .init(name: "C", amount: 100, priority: 3, eligible: true),
                .init(name: "Unregistered", amount: 999, priority: 1, eligible: false),
            ], order: order)).get()
        #expect(statement.allocation.map(\.bucket) == [.expenses, .principal, .interest, .fees, .junior, .surplus])
        #expect(statement.allocation.map(\.amount) == [0, 6_000_000, 100_000, 0, 0, 0])
        #expect(statement.juniorDistributions.map(\.name) == ["C"])
        #expect(statement.deficiency == 345_000)
        #expect(Waterfall.settle(Self.input(hammer: 1, expenses: [], date: "2026-09-30")) == .failure(.settlementBeforeAsOf))
    }

    @Test("invariants: allocation sums to proceeds, surplus or deficiency, juniors after the obligation, order of expenses irrelevant", arguments: 0..<300)
    func properties(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func amount(_ upTo: Int64) -> Int64 { Int64.random(in: 0...upTo, using: &random) }
        let balances = LoanCase.Balances(
            principal: amount(20_000_000), interest: amount(2_000_000), fees: amount(200_000), perDiemInterest: amount(5_000),
            asOf: CalendarDate(iso: "2026-09-01")!)
        let expenses = (0..<Int.random(in: 0...5, using: &random)).map { index in (["storage", "transport", "legal"][index % 3], amount(500_000)) }
        let liens = (0..<Int.random(in: 0...3, using: &random)).map { index in
            LoanCase.Lienholder(name: "L\(index)", amount: amount(2_000_000), priority: amount(5), eligible: Bool.random(using: &random))
        }
        let credits = Bool.random(using: &random) ? [LoanCase.Credit(label: "rebate", amount: amount(1_000_000))] : []
        var order = Policy.ObligationBucket.allCases
        order.shuffle(using: &random)
        let input = Self.input(
            hammer: amount(30_000_000), forfeited: amount(1_000_000), expenses: expenses, credits: credits, lienholders: liens,
            order: order, balances: balances, date: "2026-11-\(10 + Int.random(in: 0...15, using: &random))",
            received: Bool.random(using: &random) ? "2026-\(Int.random(in: 10...11, using: &random))-1\(Int.random(in: 0...9, using: &random))" : nil,
            borrowerPayments: Bool.random(using: &random) ? amount(3_000_000) : 0)
        let statement = try Waterfall.settle(input).get()
        #expect(Self.addsUp(statement), "the explanation does not add up")
        #expect(statement.interestTo <= statement.settlementDate && statement.interestTo >= balances.asOf)
        let cashOut = statement.allocation.filter { $0.bucket != .surplus }.reduce(0) { $0 + $1.amount }
            + statement.surplus - statement.creditsToSurplus - statement.paymentsToSurplus
        #expect(cashOut == statement.proceeds, "allocation does not add up to the proceeds")
        #expect(statement.surplus == 0 || statement.deficiency == 0)
        let obligationPaid = order.map { statement.amount(Waterfall.Bucket(rawValue: $0.rawValue)!) }.reduce(0, +)
        if statement.surplus > statement.creditsToSurplus + statement.paymentsToSurplus {
            #expect(statement.amount(.expenses) == statement.expensesTotal)
            #expect(obligationPaid == statement.obligation.total)
            #expect(statement.juniorDistributions.map(\.amount) == liens.filter(\.eligible)
                .sorted { $0.priority < $1.priority }.map(\.amount))
        }
        if statement.amount(.junior) > 0 { #expect(obligationPaid == statement.obligation.total) }
        let owed = statement.obligation.total + statement.expensesTotal
        let shortfall = owed - statement.proceeds - statement.creditsTotal
        #expect(statement.obligation.total + statement.borrowerPayments - statement.paymentsToSurplus
                == statement.obligationAsOf + statement.accruedInterest)
        if shortfall > 0 { #expect(statement.deficiency == shortfall) } else { #expect(statement.deficiency == 0) }
        var shuffled = input
        shuffled.expenses.shuffle(using: &random)
        let again = try Waterfall.settle(shuffled).get()
        #expect(again.allocation.map(\.amount) == statement.allocation.map(\.amount))
        #expect(again.surplus == statement.surplus && again.deficiency == statement.deficiency)
    }
}
