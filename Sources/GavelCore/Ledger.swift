import Foundation

/// The chart of accounts (Docs/ledger.md). Per-case accounts carry the case's ID, so
/// a case's proceeds can be shown to net to zero once it is settled.
public enum Account: Hashable, Sendable, CustomStringConvertible {
    /// The bank: money in and out.
    case cash
    /// Bidders' deposits Gavel holds (held or refund-due).
    case bidderDepositsHeld
    /// What buyers owe on invoices.
    case buyerReceivables
    /// Buyer premiums and doc fees: the platform's, never the collateral's.
    case platformFeeRevenue
    /// The seller fee the platform earns on a sale paid in full.
    case sellerFeeRevenue
    /// Part payments on an invoice that then defaulted, owed back to the buyer.
    case buyerRefundsPayable
    /// Disposal expenses recorded for cases, owed to their vendors.
    case expensesPayable
    /// What the sale of a case's collateral raised, until the settlement distributes it.
    case caseProceeds(UUID)
    /// Disposal expenses of a case, recovered first from its proceeds.
    case caseExpenses(UUID)
    /// What settlements owe the lenders (the secured obligation paid, deficiency recoveries).
    case consignorPayable
    /// What settlements owe eligible junior lienholders.
    case lienholdersPayable
    /// Surpluses owed to borrowers until paid out.
    case borrowerPayable
    /// What consignors owe their cases: expenses the proceeds did not cover (all of them
    /// for a withdrawn case), and surplus the lender funds beyond its share.
    case consignorReceivable

    public var description: String {
        switch self {
        case .cash: "cash"
        case .bidderDepositsHeld: "bidder-deposits-held"
        case .buyerReceivables: "buyer-receivables"
        case .platformFeeRevenue: "platform-fee-revenue"
        case .sellerFeeRevenue: "seller-fee-revenue"
        case .buyerRefundsPayable: "buyer-refunds-payable"
        case .expensesPayable: "expenses-payable"
        case .caseProceeds(let id): "case-proceeds:\(id.uuidString.lowercased())"
        case .caseExpenses(let id): "case-expenses:\(id.uuidString.lowercased())"
        case .consignorPayable: "consignor-payable"
        case .lienholdersPayable: "lienholders-payable"
        case .borrowerPayable: "borrower-payable"
        case .consignorReceivable: "consignor-receivable"
        }
    }
}

public struct JournalLine: Equatable, Sendable {
    public var account: Account
    public var debit: Int64
    public var credit: Int64

    public static func debit(_ account: Account, _ amount: Int64) -> JournalLine {
        JournalLine(account: account, debit: amount, credit: 0)
    }

    public static func credit(_ account: Account, _ amount: Int64) -> JournalLine {
        JournalLine(account: account, debit: 0, credit: amount)
    }
}

/// One balanced entry for one money event. `eventKey` is unique in the journal, so a
/// retried event cannot post twice.
public struct JournalEntry: Equatable, Sendable {
    public var eventKey: String
    public var kind: String
    public var caseId: UUID?
    public var currency: String
    public var memo: String
    public var lines: [JournalLine]

    public init(eventKey: String, kind: String, caseId: UUID?, currency: String, memo: String, lines: [JournalLine]) {
        self.eventKey = eventKey
        self.kind = kind
        self.caseId = caseId
        self.currency = currency
        self.memo = memo
        // A zero line says nothing; the journal refuses them.
        self.lines = lines.filter { $0.debit != 0 || $0.credit != 0 }
    }

    public var totalDebit: Int64 { lines.reduce(0) { $0 + $1.debit } }
    public var totalCredit: Int64 { lines.reduce(0) { $0 + $1.credit } }
    public var isBalanced: Bool {
        lines.count >= 2 && totalDebit == totalCredit
            && lines.allSatisfy { ($0.debit > 0) != ($0.credit > 0) && $0.debit >= 0 && $0.credit >= 0 }
    }
}

/// The entry each money event posts (domain rules sections 6, 7 and 9).
public enum Postings {
    static func key(_ kind: String, _ id: UUID) -> String { "\(kind):\(id.uuidString.lowercased())" }

    /// Finance received a bidder's deposit.
    public static func depositReceived(depositId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("deposit-received", depositId), kind: "deposit-received", caseId: nil, currency: currency,
            memo: "deposit received", lines: [.debit(.cash, amount), .credit(.bidderDepositsHeld, amount)])
    }

    /// A deposit owed back was paid out.
    public static func depositRefunded(depositId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("deposit-refunded", depositId), kind: "deposit-refunded", caseId: nil, currency: currency,
            memo: "deposit refunded", lines: [.debit(.bidderDepositsHeld, amount), .credit(.cash, amount)])
    }

    /// The sale: the buyer owes the total; the hammer price is the case's proceeds, the
    /// premium and doc fee the platform's.
    public static func invoiced(invoiceId: UUID, caseId: UUID, terms: InvoiceTerms, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("invoice", invoiceId), kind: "invoice", caseId: caseId, currency: currency, memo: "invoice issued",
            lines: [
                .debit(.buyerReceivables, terms.total),
                .credit(.caseProceeds(caseId), terms.price),
                .credit(.platformFeeRevenue, terms.buyerPremium + terms.docFee),
            ])
    }

    /// The winner's deposit pays part of the invoice.
    public static func depositApplied(depositId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("deposit-applied", depositId), kind: "deposit-applied", caseId: caseId, currency: currency,
            memo: "deposit applied to invoice", lines: [.debit(.bidderDepositsHeld, amount), .credit(.buyerReceivables, amount)])
    }

    public static func paymentReceived(paymentId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("payment", paymentId), kind: "payment", caseId: caseId, currency: currency, memo: "invoice payment",
            lines: [.debit(.cash, amount), .credit(.buyerReceivables, amount)])
    }

    /// Booked when the invoice is paid in full: a cost of the case, the platform's income.
    public static func sellerFee(invoiceId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("seller-fee", invoiceId), kind: "seller-fee", caseId: caseId, currency: currency, memo: "seller fee",
            lines: [.debit(.caseExpenses(caseId), amount), .credit(.sellerFeeRevenue, amount)])
    }

    /// The buyer did not pay: the sale is undone, the forfeited deposit becomes the case's
    /// proceeds, and any part payment is owed back to the buyer.
    public static func defaulted(
        invoiceId: UUID, caseId: UUID, terms: InvoiceTerms, paid: Int64, currency: String
    ) -> JournalEntry {
        JournalEntry(
            eventKey: key("default", invoiceId), kind: "default", caseId: caseId, currency: currency,
            memo: "invoice defaulted; deposit forfeited",
            lines: [
                .debit(.caseProceeds(caseId), terms.price - terms.depositApplied),
                .debit(.platformFeeRevenue, terms.buyerPremium + terms.docFee),
                .credit(.buyerReceivables, terms.total - terms.depositApplied - paid),
                .credit(.buyerRefundsPayable, paid),
            ])
    }

    public static func expense(expenseId: UUID, caseId: UUID, kind: String, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("expense", expenseId), kind: "expense", caseId: caseId, currency: currency, memo: "expense: \(kind)",
            lines: [.debit(.caseExpenses(caseId), amount), .credit(.expensesPayable, amount)])
    }

    /// The settlement distributes a case's proceeds: expenses recovered, the lender's
    /// share, juniors, the borrower's surplus. Expenses the proceeds did not cover are
    /// the consignor's to pay; so is surplus it funds beyond its share (credits, the
    /// borrower's payments beyond the obligation).
    public static func settlement(statementId: UUID, caseId: UUID, statement: Waterfall.Statement, currency: String) -> JournalEntry {
        let share = statement.lenderShare
        return JournalEntry(
            eventKey: key("settlement", statementId), kind: "settlement", caseId: caseId, currency: currency,
            memo: "settlement statement issued",
            lines: [
                .debit(.caseProceeds(caseId), statement.proceeds),
                .debit(.consignorReceivable, statement.expensesUnpaid + max(0, -share)),
                .credit(.caseExpenses(caseId), statement.expensesTotal),
                .credit(.consignorPayable, max(0, share)),
                .credit(.lienholdersPayable, statement.amount(.junior)),
                .credit(.borrowerPayable, statement.surplus),
            ])
    }

    /// An entry undone by its mirror image: `original` is the entry's event key.
    public struct Reversal: Sendable, Equatable {
        public var original: String
        public var eventKey: String
        public var kind: String
        public var memo: String
    }

    /// A superseded statement's distribution, undone before its correction is posted.
    public static func settlementReversal(statementId: UUID) -> Reversal {
        Reversal(
            original: key("settlement", statementId), eventKey: key("settlement-reversal", statementId),
            kind: "settlement-reversal", memo: "settlement statement superseded")
    }

    public static func surplusPaid(refundId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("surplus-paid", refundId), kind: "surplus-paid", caseId: caseId, currency: currency,
            memo: "surplus paid to the borrower", lines: [.debit(.borrowerPayable, amount), .credit(.cash, amount)])
    }

    /// Money recovered from the borrower or a guarantor on a deficiency, for the lender.
    public static func deficiencyRecovered(recoveryId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("deficiency-recovery", recoveryId), kind: "deficiency-recovery", caseId: caseId, currency: currency,
            memo: "deficiency recovery", lines: [.debit(.cash, amount), .credit(.consignorPayable, amount)])
    }

    /// The borrower paid on the loan before the sale: the lender's money, taken off the
    /// obligation at settlement.
    public static func borrowerPayment(paymentId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("borrower-payment", paymentId), kind: "borrower-payment", caseId: caseId, currency: currency,
            memo: "borrower payment before the sale", lines: [.debit(.cash, amount), .credit(.consignorPayable, amount)])
    }

    /// The borrower redeemed the collateral: the payment is the case's proceeds.
    public static func redemption(redemptionId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("redemption", redemptionId), kind: "redemption", caseId: caseId, currency: currency,
            memo: "redemption payment", lines: [.debit(.cash, amount), .credit(.caseProceeds(caseId), amount)])
    }

    /// The consignor paid what it owed its case.
    public static func consignorPayment(paymentId: UUID, caseId: UUID, amount: Int64, currency: String) -> JournalEntry {
        JournalEntry(
            eventKey: key("consignor-payment", paymentId), kind: "consignor-payment", caseId: caseId, currency: currency,
            memo: "consignor payment", lines: [.debit(.cash, amount), .credit(.consignorReceivable, amount)])
    }

    /// Money paid out of what a case owes: the payable goes down, and so does cash.
    public static func payout(payoutId: UUID, caseId: UUID, kind: PayoutKind, amount: Int64, currency: String) -> JournalEntry {
        let payable: Account = switch kind {
        case .consignor: .consignorPayable
        case .lienholder: .lienholdersPayable
        case .vendor: .expensesPayable
        case .buyerRefund: .buyerRefundsPayable
        }
        return JournalEntry(
            eventKey: key("payout", payoutId), kind: "payout", caseId: caseId, currency: currency,
            memo: "payout: \(kind.rawValue)", lines: [.debit(payable, amount), .credit(.cash, amount)])
    }

    /// Every vehicle of the case went back to the consignor: no statement, the lender
    /// keeps its claim outside Gavel. Forfeited deposits (the case's only proceeds) first
    /// cover its expenses; the consignor owes the rest of them, or receives the rest of
    /// the deposits.
    public static func withdrawal(caseId: UUID, proceeds: Int64, expenses: Int64, currency: String) -> JournalEntry {
        let covered = min(proceeds, expenses)
        return JournalEntry(
            eventKey: key("withdrawal", caseId), kind: "withdrawal", caseId: caseId, currency: currency,
            memo: "case withdrawn: every vehicle returned",
            lines: [
                .debit(.caseProceeds(caseId), proceeds),
                .debit(.consignorReceivable, expenses - covered),
                .credit(.caseExpenses(caseId), expenses),
                .credit(.consignorPayable, proceeds - covered),
            ])
    }
}

/// A case's own accounts in the journal (domain rules section 10): once the case is
/// closed, each nets to zero. The bank, the platform's revenue and the bidders' deposits
/// appear in a case's entries but are not the case's: the platform keeps its fees, and a
/// deposit is owed to its bidder, never to a case.
public enum CaseBooks {
    public static let notTheCase: Set<String> = [
        Account.cash.description, Account.platformFeeRevenue.description, Account.sellerFeeRevenue.description,
        Account.bidderDepositsHeld.description,
    ]

    /// What each of the case's accounts still holds (debits less credits), given the
    /// nets of every account its entries touch; the accounts at zero are left out.
    public static func openAccounts(_ nets: [String: Int64]) -> [String: Int64] {
        nets.filter { !notTheCase.contains($0.key) && $0.value != 0 }
    }
}
