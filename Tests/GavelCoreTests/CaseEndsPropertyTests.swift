import Foundation
import GavelCore
import Testing

/// Random cases to their end through the postings (domain rules section 10): random
/// sales, defaults with part payments, returns, a redemption, borrower payments before
/// the sale, expenses, settlement or withdrawal, then every payable paid out and every
/// receivable collected in random order. Each case's own accounts end at zero, and what
/// went out to each party is what the rules give it.
@Suite("Every case to an end: the postings net to zero (property)")
struct CaseEndsPropertyTests {
    enum Outcome: CaseIterable { case sold, defaultedThenSold, defaultedThenReturned, returned }

    @Test("a closed case's accounts net to zero, whatever happened to it", arguments: 0..<400)
    func closedCasesNetToZero(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func amount(_ upTo: Int64) -> Int64 { Int64.random(in: 0...upTo, using: &random) }
        let caseId = UUID()
        let fees = Policy.defaults.fees
        let asOf = CalendarDate(iso: "2026-09-01")!
        let balances = LoanCase.Balances(
            principal: amount(10_000_000), interest: amount(1_000_000), fees: amount(100_000), perDiemInterest: amount(3_000), asOf: asOf)
        let liens = (0..<Int.random(in: 0...2, using: &random)).map {
            LoanCase.Lienholder(name: "L\($0)", amount: amount(1_000_000), priority: Int64($0), eligible: Bool.random(using: &random))
        }
        let credits = Bool.random(using: &random) ? [LoanCase.Credit(label: "rebate", amount: amount(300_000))] : []
        var entries: [JournalEntry] = []
        var hammer: Int64 = 0, forfeited: Int64 = 0, sellerFees: Int64 = 0, buyerRefunds: Int64 = 0
        var expenses: [(kind: String, amount: Int64)] = []
        var anySold = false
        let redeem = Int.random(in: 0..<5, using: &random) == 0
        let vehicles = Int.random(in: 1...3, using: &random)

        func sale(defaulting: Bool) throws {
            let start = (1 + amount(800)) * 10_000
            let price = start + amount(100) * 10_000
            let deposit = min(start, (1 + amount(100)) * 5_000)
            let terms = try #require(InvoiceTerms.forSale(price: price, deposit: deposit, fees: fees))
            let invoiceId = UUID(), depositId = UUID()
            entries.append(Postings.depositReceived(depositId: depositId, amount: deposit, currency: "CNY"))
            entries.append(Postings.invoiced(invoiceId: invoiceId, caseId: caseId, terms: terms, currency: "CNY"))
            entries.append(Postings.depositApplied(depositId: depositId, caseId: caseId, amount: terms.depositApplied, currency: "CNY"))
            if defaulting {
                let paid = Bool.random(using: &random) ? amount(terms.amountDue - 1) : 0
                if paid > 0 { entries.append(Postings.paymentReceived(paymentId: UUID(), caseId: caseId, amount: paid, currency: "CNY")) }
                entries.append(Postings.defaulted(invoiceId: invoiceId, caseId: caseId, terms: terms, paid: paid, currency: "CNY"))
                forfeited += terms.depositApplied
                buyerRefunds += paid
            } else {
                let first = amount(terms.amountDue)
                for part in [first, terms.amountDue - first] where part > 0 {
                    entries.append(Postings.paymentReceived(paymentId: UUID(), caseId: caseId, amount: part, currency: "CNY"))
                }
                let fee = InvoiceTerms.sellerFee(price: price, fees: fees)
                if fee > 0 { entries.append(Postings.sellerFee(invoiceId: invoiceId, caseId: caseId, amount: fee, currency: "CNY")) }
                hammer += price
                sellerFees += fee
                anySold = true
            }
        }
        for _ in 0..<vehicles where !redeem {
            switch Outcome.allCases.randomElement(using: &random)! {
            case .sold: try sale(defaulting: false)
            case .defaultedThenSold: try sale(defaulting: true); try sale(defaulting: false)
            case .defaultedThenReturned: try sale(defaulting: true)
            case .returned: break
            }
        }
        for kind in ["repossession", "storage", "transport"] where Bool.random(using: &random) {
            let cost = 1 + amount(500_000)
            expenses.append((kind, cost))
            entries.append(Postings.expense(expenseId: UUID(), caseId: caseId, kind: kind, amount: cost, currency: "CNY"))
        }
        let borrowerPaid = Bool.random(using: &random) ? amount(balances.principal / 4) : 0
        if borrowerPaid > 0 {
            entries.append(Postings.borrowerPayment(paymentId: UUID(), caseId: caseId, amount: borrowerPaid, currency: "CNY"))
        }
        let settlementDate = asOf.adding(days: Int.random(in: 0...90, using: &random))
        var statement: Waterfall.Statement?
        if redeem {
            let quote = try Waterfall.payoff(
                balances, on: settlementDate, expensesTotal: expenses.reduce(0) { $0 + $1.amount }, proceeds: 0,
                borrowerPayments: borrowerPaid, allocationOrder: [.fees, .interest, .principal]).get()
            let paid = quote.payoff + amount(200_000)
            entries.append(Postings.redemption(redemptionId: UUID(), caseId: caseId, amount: paid, currency: "CNY"))
            statement = try Waterfall.settle(Waterfall.Input(
                balances: balances, settlementDate: settlementDate, hammer: 0, forfeitedDeposits: 0, expenses: expenses,
                allocationOrder: [.fees, .interest, .principal], lienholders: [], credits: credits,
                proceedsReceivedOn: settlementDate, borrowerPayments: borrowerPaid, redemption: paid)).get()
            #expect(statement!.deficiency == 0, "a redemption at the payoff leaves no deficiency")
        } else if anySold {
            if sellerFees > 0 { expenses.append(("seller-fee", sellerFees)) }
            statement = try Waterfall.settle(Waterfall.Input(
                balances: balances, settlementDate: settlementDate, hammer: hammer, forfeitedDeposits: forfeited, expenses: expenses,
                allocationOrder: [.fees, .interest, .principal], lienholders: liens, credits: credits,
                proceedsReceivedOn: settlementDate.adding(days: -Int.random(in: 0...5, using: &random)),
                borrowerPayments: borrowerPaid)).get()
        } else {
            // Every vehicle went back: withdrawn, the consignor owes the expenses the
            // forfeited deposits did not cover.
            let expensesTotal = expenses.reduce(0) { $0 + $1.amount }
            entries.append(Postings.withdrawal(caseId: caseId, proceeds: forfeited, expenses: expensesTotal, currency: "CNY"))
        }
        if let statement {
            entries.append(Postings.settlement(statementId: UUID(), caseId: caseId, statement: statement, currency: "CNY"))
            if statement.deficiency > 0, Bool.random(using: &random) {
                entries.append(Postings.deficiencyRecovered(
                    recoveryId: UUID(), caseId: caseId, amount: 1 + amount(statement.deficiency - 1), currency: "CNY"))
            }
        }
        // An event that moves nothing posts nothing (the workflows skip such entries).
        entries.removeAll { $0.lines.isEmpty }
        #expect(entries.filter { !$0.isBalanced }.isEmpty, "an entry does not balance")

        // Money out and in, in random order, each for what its account holds.
        func net(_ account: Account) -> Int64 {
            entries.flatMap(\.lines).filter { $0.account == account }.reduce(0) { $0 + $1.debit - $1.credit }
        }
        var settling: [() -> JournalEntry] = [
            { Postings.payout(payoutId: UUID(), caseId: caseId, kind: .consignor, amount: -net(.consignorPayable), currency: "CNY") },
            { Postings.payout(payoutId: UUID(), caseId: caseId, kind: .lienholder, amount: -net(.lienholdersPayable), currency: "CNY") },
            { Postings.payout(payoutId: UUID(), caseId: caseId, kind: .vendor, amount: -net(.expensesPayable), currency: "CNY") },
            { Postings.payout(payoutId: UUID(), caseId: caseId, kind: .buyerRefund, amount: -net(.buyerRefundsPayable), currency: "CNY") },
            { Postings.surplusPaid(refundId: UUID(), caseId: caseId, amount: -net(.borrowerPayable), currency: "CNY") },
            { Postings.consignorPayment(paymentId: UUID(), caseId: caseId, amount: net(.consignorReceivable), currency: "CNY") },
        ]
        settling.shuffle(using: &random)
        let payables: [Account] = [.consignorPayable, .lienholdersPayable, .expensesPayable, .buyerRefundsPayable, .borrowerPayable]
        #expect(payables.filter { net($0) > 0 }.isEmpty, "a payable holds a debit: something was paid twice")
        #expect(net(.consignorReceivable) >= 0)
        let consignorShare = -net(.consignorPayable), vendorShare = -net(.expensesPayable)
        for make in settling {
            let entry = make()
            if !entry.lines.isEmpty { entries.append(entry) }
        }
        #expect(entries.filter { !$0.isBalanced }.isEmpty, "a payout does not balance")

        let caseNets = Dictionary(
            entries.filter { $0.caseId == caseId }.flatMap(\.lines).map { ($0.account.description, $0.debit - $0.credit) }, uniquingKeysWith: +)
        #expect(CaseBooks.openAccounts(caseNets).isEmpty, "open after every payout: \(CaseBooks.openAccounts(caseNets))")
        // What each party received is what the rules give it.
        #expect(vendorShare == expenses.filter { $0.kind != "seller-fee" }.reduce(0) { $0 + $1.amount })
        if let statement {
            let recovered = entries.filter { $0.kind == "deficiency-recovery" }.reduce(0) { $0 + $1.totalDebit }
            #expect(consignorShare - net(.consignorReceivable) >= 0 || statement.lenderShare < 0)
            #expect(consignorShare == max(0, statement.lenderShare) + borrowerPaid + recovered)
        }
        // The case's cash is the platform's: its fees and the deposits it moved into the case.
        let platform = -(caseNets[Account.platformFeeRevenue.description] ?? 0) - (caseNets[Account.sellerFeeRevenue.description] ?? 0)
        #expect((caseNets[Account.cash.description] ?? 0) + (caseNets[Account.bidderDepositsHeld.description] ?? 0) == platform)
    }
}
