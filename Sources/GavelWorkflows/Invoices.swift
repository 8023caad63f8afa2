import Foundation
import GavelCore
import GavelStore

/// The buyer's invoice: issued at the sale (by the closer), paid in parts or at once,
/// or declared in default when unpaid at its due time.
public struct Invoices: Sendable {
    public init() {}

    /// A lot's invoice: the winner, finance and admins see it.
    public func invoice(lotId: UUID, for caller: Caller, in session: Session) async throws -> StoredInvoice {
        guard let invoice = try await InvoiceRepository.find(lotId: lotId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("lot \(lotId.uuidString.lowercased()) has no invoice")
        }
        if caller.role == .bidder && invoice.bidderId != caller.user.id {
            throw Refusal.forbidden("only the winner sees the invoice")
        }
        return invoice
    }

    /// Money received from a buyer.
    public struct Receipt: Sendable {
        public var amount: Int64
        public var reference: String
        public var receivedOn: CalendarDate
        /// The currency the client says it means, if it says.
        public var currency: String?

        public init(amount: Int64, reference: String, receivedOn: CalendarDate, currency: String?) {
            self.amount = amount
            self.reference = reference
            self.receivedOn = receivedOn
            self.currency = currency
        }
    }

    /// Records a payment: partial, or the rest, which completes the sale (seller fee,
    /// vehicle released). More than is outstanding is refused, and nothing is written.
    public func pay(invoiceId: UUID, _ receipt: Receipt, by caller: Caller, in session: Session) async throws -> StoredInvoice {
        let payment = Payment(id: Seam.newID(), amount: receipt.amount, reference: receipt.reference, receivedOn: receipt.receivedOn)
        guard let (invoice, fees, now) = try await InvoiceRepository.findForPayment(
            id: invoiceId, on: session.connection, logger: session.logger)
        else {
            throw Refusal.notFound("no invoice \(invoiceId.uuidString.lowercased())")
        }
        try MoneyRules.ensureCurrency(receipt.currency, is: invoice.currency)
        try MoneyRules.ensureNotFuture(receipt.receivedOn, field: "receivedOn", today: Scope.day(of: now))
        switch try await InvoiceRepository.recordPayment(
            payment, on: invoice, fees: fees, recordedBy: caller.user.id, on: session.connection, logger: session.logger)
        {
        case .failure(.notOpen(let status)):
            throw Refusal.invoiceNotOpen("the invoice is \(status.rawValue); it takes no more payments")
        case .failure(.overpayment(let outstanding)):
            throw Refusal.overpayment(
                "the invoice has \(outstanding) outstanding; the payment is more than that", outstanding: outstanding)
        case .failure(.notPositive):
            throw ValidationFailure([FieldError(field: "amount", message: "must be more than zero")])
        case .success(let updated):
            try await session.audit(caller, "invoice.payment", "invoice", invoice.id, before: invoice.record, after: updated.record)
            return updated
        }
    }

    /// Finance declares an invoice unpaid when due (the closer does the same by itself):
    /// the deposit is forfeited to the case, the buyer barred from the vehicle, the lot
    /// relistable.
    public func declareDefault(invoiceId: UUID, by caller: Caller, in session: Session) async throws -> StoredInvoice {
        guard let invoice = try await InvoiceRepository.find(
            id: invoiceId, forUpdate: true, on: session.connection, logger: session.logger)
        else {
            throw Refusal.notFound("no invoice \(invoiceId.uuidString.lowercased())")
        }
        guard invoice.status == .open else {
            throw Refusal.invoiceNotOpen("the invoice is \(invoice.status.rawValue)")
        }
        guard try await session.now() >= invoice.dueAt else {
            throw Refusal.invoiceNotDue("the invoice is not due until \(invoice.dueAt.rfc3339)")
        }
        let updated = try await InvoiceRepository.markDefaulted(invoice, on: session.connection, logger: session.logger)
        try await session.audit(caller, "invoice.default", "invoice", invoice.id, before: invoice.record, after: updated.record)
        return updated
    }
}

/// A case's costs: storage, transport, repairs and the like, recorded by finance; the
/// seller fee is Gavel's own, at payment in full.
public struct Expenses: Sendable {
    public init() {}

    public struct Entry: Sendable {
        public var caseId: UUID
        public var kind: ExpenseKind
        public var amount: Int64
        public var incurredOn: CalendarDate
        public var vendor: String?
        public var reference: String?
        public var currency: String?

        public init(
            caseId: UUID, kind: ExpenseKind, amount: Int64, incurredOn: CalendarDate, vendor: String?, reference: String?,
            currency: String?
        ) {
            self.caseId = caseId
            self.kind = kind
            self.amount = amount
            self.incurredOn = incurredOn
            self.vendor = vendor
            self.reference = reference
            self.currency = currency
        }
    }

    public func record(_ entry: Entry, by caller: Caller, in session: Session) async throws -> Expense {
        let id = Seam.newID()
        let connection = session.connection
        let logger = session.logger
        guard let stored = try await CaseRepository.find(id: entry.caseId, forChange: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no case \(entry.caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(entry.caseId.uuidString.lowercased())")
        try Scope.ensureTakesChanges(stored)
        try MoneyRules.ensureCurrency(entry.currency, is: stored.currency)
        try await MoneyRules.ensureNotFuture(entry.incurredOn, field: "incurredOn", in: session)
        // The case's expenses are a total the settlement adds up: bounded like any amount.
        let recorded = try await ExpenseRepository.total(caseId: entry.caseId, on: connection, logger: logger)
        guard entry.amount <= Money.maximum - recorded else {
            throw ValidationFailure([FieldError(
                field: "amount",
                message: "the case's expenses would pass \(Money.maximum) minor units (\(recorded) recorded so far)",
                code: .amountOutOfRange)])
        }
        let expense = Expense(
            id: id, caseId: entry.caseId, kind: entry.kind, amount: entry.amount, incurredOn: entry.incurredOn,
            vendor: entry.vendor, reference: entry.reference, currency: stored.currency)
        try await ExpenseRepository.insert(expense, recordedBy: caller.user.id, on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.expense(expenseId: id, caseId: entry.caseId, kind: entry.kind.rawValue, amount: entry.amount,
                             currency: stored.currency),
            on: connection, logger: logger)
        try await session.audit(caller, "expense.record", "case", entry.caseId, before: nil, after: expense.record)
        return expense
    }
}

/// The books, read.
public struct Books: Sendable {
    public init() {}

    public func trialBalance(currency: String?, in session: Session) async throws -> [TrialBalanceRow] {
        try await LedgerRepository.trialBalance(currency: currency, on: session.connection, logger: session.logger)
    }

    public func entries(caseId: UUID?, afterSeq: Int64, limit: Int, in session: Session) async throws -> [(PostedEntry, Int64)] {
        try await LedgerRepository.entries(caseId: caseId, afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
    }
}
