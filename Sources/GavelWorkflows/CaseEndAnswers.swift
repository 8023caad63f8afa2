import Foundation
import GavelCore
import GavelStore

/// The answers of domain rules section 10: a payoff quote, the money a case receives
/// and pays out, what it still owes.

public struct PayoffAnswer: Encodable, Sendable {
    public struct Obligation: Encodable, Sendable {
        public var fees: Int64
        public var interest: Int64
        public var principal: Int64
        public var total: Int64
    }

    public var asOf: String
    public var currency: String
    public var obligation: Obligation
    public var expensesTotal: Int64
    public var proceedsReceived: Int64
    public var payoff: Int64

    public init(_ quote: Waterfall.Payoff, currency: String) {
        asOf = quote.asOf.description
        self.currency = currency
        obligation = Obligation(
            fees: quote.obligation.fees, interest: quote.obligation.interest, principal: quote.obligation.principal,
            total: quote.obligation.total)
        expensesTotal = quote.expensesTotal
        proceedsReceived = quote.proceeds
        payoff = quote.payoff
    }
}

public struct CaseReceiptAnswer: Encodable, Sendable {
    public var id: String
    public var caseId: String
    public var kind: String
    public var currency: String
    public var amount: Int64
    public var reference: String
    public var receivedOn: String

    public init(_ receipt: CaseReceipt) {
        id = receipt.id.answer
        caseId = receipt.caseId.answer
        kind = receipt.kind.rawValue
        currency = receipt.currency
        amount = receipt.amount
        reference = receipt.reference
        receivedOn = receipt.receivedOn.description
    }
}

/// One payment a case received, whoever paid it.
public struct CasePaymentAnswer: Encodable, Sendable {
    public var id: String
    public var caseId: String
    /// `invoice-payment`, `borrower-payment`, `redemption` or `consignor-payment`.
    public var kind: String
    @Nullable public var invoiceId: String?
    public var currency: String
    public var amount: Int64
    public var reference: String
    public var receivedOn: String

    public init(_ payment: CasePayment, caseId: UUID, currency: String) {
        id = payment.id.answer
        self.caseId = caseId.answer
        kind = payment.kind
        invoiceId = payment.invoiceId?.answer
        self.currency = currency
        amount = payment.amount
        reference = payment.reference
        receivedOn = payment.receivedOn.description
    }
}

public struct PayoutAnswer: Encodable, Sendable {
    public var id: String
    public var kind: String
    public var caseId: String
    public var payee: String
    public var currency: String
    public var amount: Int64
    public var reference: String
    public var paidOn: String

    public init(_ payout: Payout) {
        id = payout.id.answer
        kind = payout.kind.rawValue
        caseId = payout.caseId.answer
        payee = payout.payee
        currency = payout.currency
        amount = payout.amount
        reference = payout.reference
        paidOn = payout.paidOn.description
    }
}

public struct PayableAnswer: Encodable, Sendable {
    /// A payout kind, or `surplus-refund` (paid through `POST /v1/surplus-refunds/{id}/pay`).
    public var kind: String
    public var payee: String
    public var caseId: String
    public var currency: String
    public var amount: Int64
    /// For a surplus refund: the refund to pay.
    public var refundId: String?

    public init(_ payable: Payable) {
        kind = payable.kind
        payee = payable.payee
        caseId = payable.caseId.answer
        currency = payable.currency
        amount = payable.amount
        refundId = payable.refundId?.answer
    }
}
