import Foundation
import GavelCore
import Testing

@Suite("Invoices and ledger postings (domain rules sections 6, 7, 9)")
struct LedgerTests {
    @Test("test vector D: price 8 000 000, deposit 590 000 -> premium 400 000, total 8 430 000, due 7 840 000")
    func vectorD() throws {
        let terms = try #require(InvoiceTerms.forSale(price: 8_000_000, deposit: 590_000, fees: Policy.defaults.fees))
        #expect(terms.buyerPremium == 400_000)
        #expect(terms.docFee == 30_000)
        #expect(terms.total == 8_430_000)
        #expect(terms.depositApplied == 590_000)
        #expect(terms.amountDue == 7_840_000)
        #expect(InvoiceTerms.sellerFee(price: 8_000_000, fees: Policy.defaults.fees) == 160_000)
    }

    @Test("the buyer premium is clamped to its minimum and maximum")
    func premiumClamp() throws {
        let fees = Policy.defaults.fees
        #expect(InvoiceTerms.forSale(price: 100_000, deposit: 0, fees: fees)?.buyerPremium == 50_000)
        #expect(InvoiceTerms.forSale(price: 20_000_000, deposit: 0, fees: fees)?.buyerPremium == 500_000)
        #expect(InvoiceTerms.forSale(price: 10_000_000, deposit: 0, fees: fees)?.buyerPremium == 500_000)
        #expect(InvoiceTerms.forSale(price: 9_990_000, deposit: 0, fees: fees)?.buyerPremium == 499_500)
        #expect(InvoiceTerms.forSale(price: Money.maximum, deposit: 0, fees: fees) == nil)
    }

    @Test("payments: partial, exact, over, zero, and after the invoice is paid or defaulted")
    func payments() throws {
        let open = InvoiceBalance(amountDue: 7_840_000, paid: 0, status: .open)
        let part = try open.paying(840_000).get()
        #expect(part == InvoiceBalance(amountDue: 7_840_000, paid: 840_000, status: .open))
        #expect(part.paying(7_000_001) == .failure(.overpayment(outstanding: 7_000_000)))
        #expect(part.paying(0) == .failure(.notPositive))
        let full = try part.paying(7_000_000).get()
        #expect(full.status == .paid)
        #expect(full.paying(1) == .failure(.notOpen(.paid)))
        #expect(InvoiceBalance(amountDue: 1, paid: 0, status: .defaulted).paying(1) == .failure(.notOpen(.defaulted)))
    }

    /// Balances per account after the entries.
    static func balances(_ entries: [JournalEntry]) -> [Account: Int64] {
        var balance: [Account: Int64] = [:]
        for line in entries.flatMap(\.lines) { balance[line.account, default: 0] += line.debit - line.credit }
        return balance.filter { $0.value != 0 }
    }

    @Test("every posting balances, and a sale paid or defaulted leaves each account where the rules say", arguments: 0..<200)
    func lifecycle(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let caseId = UUID()
        let start = Int64.random(in: 1...2_000, using: &random) * 10_000
        let price = start + Int64.random(in: 0...500, using: &random) * 10_000
        let deposit = min(start, Int64.random(in: 1...400, using: &random) * 5_000)
        let loser = Int64.random(in: 1...400, using: &random) * 5_000
        var fees = Policy.defaults.fees
        fees.buyerPremiumBp = Int64.random(in: 0...1_000, using: &random)
        fees.docFee = Int64.random(in: 0...50_000, using: &random)
        let terms = try #require(InvoiceTerms.forSale(price: price, deposit: deposit, fees: fees))
        let invoiceId = UUID(), winnerDeposit = UUID(), loserDeposit = UUID()
        var entries = [
            Postings.depositReceived(depositId: winnerDeposit, amount: deposit, currency: "CNY"),
            Postings.depositReceived(depositId: loserDeposit, amount: loser, currency: "CNY"),
            Postings.invoiced(invoiceId: invoiceId, caseId: caseId, terms: terms, currency: "CNY"),
            Postings.depositApplied(depositId: winnerDeposit, caseId: caseId, amount: terms.depositApplied, currency: "CNY"),
            Postings.depositRefunded(depositId: loserDeposit, amount: loser, currency: "CNY"),
        ]
        // Pay some of it in one to three instalments, or all of it.
        let paysInFull = Bool.random(using: &random)
        var paid: Int64 = 0
        let target = paysInFull ? terms.amountDue : Int64.random(in: 0...max(0, terms.amountDue - 1), using: &random)
        while paid < target {
            let amount = min(target - paid, Int64.random(in: 1...max(1, target), using: &random))
            entries.append(Postings.paymentReceived(paymentId: UUID(), caseId: caseId, amount: amount, currency: "CNY"))
            paid += amount
        }
        if paysInFull {
            let fee = InvoiceTerms.sellerFee(price: price, fees: fees)
            entries.append(Postings.sellerFee(invoiceId: invoiceId, caseId: caseId, amount: fee, currency: "CNY"))
        } else {
            entries.append(Postings.defaulted(invoiceId: invoiceId, caseId: caseId, terms: terms, paid: paid, currency: "CNY"))
        }
        for entry in entries where !entry.lines.isEmpty {
            #expect(entry.isBalanced, "\(entry.kind) is not balanced: \(entry.lines)")
        }
        #expect(Set(entries.map(\.eventKey)).count == entries.count)
        let balance = Self.balances(entries)
        // Money in the bank is what was received less what went back.
        #expect(balance[.cash, default: 0] == deposit + paid)
        #expect(balance[.bidderDepositsHeld] == nil)
        #expect(balance[.buyerReceivables] == nil)
        if paysInFull {
            #expect(balance[.caseProceeds(caseId), default: 0] == -price)
            #expect(balance[.platformFeeRevenue, default: 0] == -(terms.buyerPremium + terms.docFee))
        } else {
            // Only the forfeited deposit is the case's; part payments are owed back.
            #expect(balance[.caseProceeds(caseId), default: 0] == -deposit)
            #expect(balance[.platformFeeRevenue] == nil)
            #expect(balance[.buyerRefundsPayable, default: 0] == -paid)
        }
        #expect(balance.values.reduce(0, +) == 0)
    }
}
