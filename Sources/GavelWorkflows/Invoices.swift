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
    /// One round trip (`pay_invoice`, SQL/0033): the rules below are checked in the
    /// database on the locked invoice, in this order, and each refusal answers as here.
    public func pay(invoiceId: UUID, _ receipt: Receipt, by caller: Caller, in session: Session) async throws -> StoredInvoice {
        let ids = (payment: Seam.newID(), expense: Seam.newID(), paymentEntry: Seam.newID(), feeEntry: Seam.newID())
        let outcome = try await InvoiceRepository.pay(
            invoiceId: invoiceId, amount: receipt.amount, reference: receipt.reference, receivedOn: receipt.receivedOn,
            currency: receipt.currency, recordedBy: caller.user.id, ids: ids, actor: (caller.user.id, caller.user.name),
            requestId: session.requestId, on: session.connection, logger: session.logger)
        switch outcome {
        case .paid(let invoice):
            return invoice
        case .noInvoice:
            throw Refusal.notFound("no invoice \(invoiceId.uuidString.lowercased())")
        case .currencyMismatch(let currency):
            throw Refusal.currencyMismatch(expected: currency, sent: receipt.currency ?? "")
        case .receivedInFuture:
            throw ValidationFailure([FieldError(field: "receivedOn", message: "must not be in the future")])
        case .notOpen(let status):
            throw Refusal.invoiceNotOpen("the invoice is \(status.rawValue); it takes no more payments")
        case .overpayment(let outstanding):
            throw Refusal.overpayment("the invoice has \(outstanding) outstanding; the payment is more than that", outstanding: outstanding)
        case .notPositive:
            throw ValidationFailure([FieldError(field: "amount", message: "must be more than zero")])
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
        let updated = try await markDefaulted(invoice, in: session)
        try await session.audit(caller, "invoice.default", "invoice", invoice.id, before: invoice.record, after: updated.record)
        return updated
    }

    /// Invoices the winners of lots that have just become `sold` (the caller holds their
    /// locks), in a few statements whatever their number: each winner's held deposit is
    /// applied, and the sale and the deposit are posted. Payment is due `paymentDueDays`
    /// after the sale became final (the close, or a manager's acceptance below the
    /// reserve); an invoice the deposit covers is paid at once.
    @discardableResult
    func issue(lotIds: [UUID], in session: Session) async throws -> [StoredInvoice] {
        let connection = session.connection
        let logger = session.logger
        let sales = try await InvoiceRepository.sales(lotIds: lotIds, on: connection, logger: logger)
        guard !sales.isEmpty else { return [] }
        let deposits = try await DepositRepository.heldByWinners(
            lotIds: sales.map(\.lotId), winners: sales.map(\.winner), on: connection, logger: logger)
        var invoices: [StoredInvoice] = []
        var entries: [JournalEntry] = []
        for sale in sales {
            let deposit = deposits[sale.lotId]
            guard let terms = InvoiceTerms.forSale(price: sale.price, deposit: deposit?.amount ?? 0, fees: sale.fees) else {
                throw InvoiceOutOfRange(lotId: sale.lotId)
            }
            let invoice = StoredInvoice(
                id: Seam.newID(), lotId: sale.lotId, caseId: sale.caseId, bidderId: sale.winner, depositId: deposit?.id,
                currency: sale.currency, terms: terms, paid: 0, status: .open, dueAt: Seam.now())
            invoices.append(invoice)
            entries.append(Postings.invoiced(invoiceId: invoice.id, caseId: sale.caseId, terms: terms, currency: sale.currency))
            if let deposit {
                entries.append(Postings.depositApplied(
                    depositId: deposit.id, caseId: sale.caseId, amount: terms.depositApplied, currency: sale.currency))
            }
        }
        invoices = try await InvoiceRepository.insert(
            invoices, dueDays: sales.map { Int($0.fees.paymentDueDays) }, on: connection, logger: logger)
        try await LedgerRepository.post(entries, on: connection, logger: logger)
        try await DepositRepository.markApplied(ids: invoices.compactMap(\.depositId), on: connection, logger: logger)
        for index in invoices.indices {
            guard invoices[index].terms.amountDue == 0 else { continue }
            // The deposit covered everything: paid at once.
            invoices[index].status = .paid
            try await writeBalance(invoices[index], fees: sales[index].fees, in: session)
        }
        return invoices
    }

    /// Writes the balance of an invoice the deposit has just paid in full (payments are
    /// `pay_invoice`'s, SQL/0033) and completes the sale: the seller fee (`fees` are the
    /// lot's, frozen at its creation) becomes a case expense, posted, and the vehicle is
    /// released.
    func writeBalance(_ invoice: StoredInvoice, fees: Policy.Fees, in session: Session) async throws {
        let completion = Self.completion(of: invoice, fees: fees)
        try await InvoiceRepository.writeBalance(invoice, completion: completion, on: session.connection, logger: session.logger)
        guard let completion, completion.sellerFee > 0 else { return }
        try await LedgerRepository.post(
            [Postings.sellerFee(invoiceId: invoice.id, caseId: invoice.caseId, amount: completion.sellerFee, currency: invoice.currency)],
            on: session.connection, logger: session.logger)
    }

    /// The sale's completion once the invoice is paid in full: the seller fee (`fees` are
    /// the lot's, frozen at its creation) as a case expense, the vehicle released.
    static func completion(of invoice: StoredInvoice, fees: Policy.Fees) -> InvoiceRepository.Completion? {
        guard invoice.status == .paid else { return nil }
        return InvoiceRepository.Completion(
            sellerFeeExpenseId: Seam.newID(), sellerFee: InvoiceTerms.sellerFee(price: invoice.terms.price, fees: fees))
    }

    /// The buyer did not pay (the caller holds the invoice's lock and checked it is
    /// open): the deposit is forfeited to the case, the bidder barred from the vehicle,
    /// and the lot becomes `defaulted`, ready to be relisted as the next round.
    func markDefaulted(_ invoice: StoredInvoice, in session: Session) async throws -> StoredInvoice {
        let connection = session.connection
        let logger = session.logger
        try await InvoiceRepository.markDefaulted(id: invoice.id, on: connection, logger: logger)
        if let depositId = invoice.depositId {
            try await DepositRepository.markForfeited(id: depositId, on: connection, logger: logger)
        }
        try await BidRepository.bar(
            bidderId: invoice.bidderId, vehicleOfLot: invoice.lotId,
            reason: "defaulted on invoice \(invoice.id.uuidString.lowercased())", on: connection, logger: logger)
        try await LotRepository.markDefaulted(lotId: invoice.lotId, on: connection, logger: logger)
        try await LotEventRepository.record(lotId: invoice.lotId, kind: .closed, on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.defaulted(
                invoiceId: invoice.id, caseId: invoice.caseId, terms: invoice.terms, paid: invoice.paid, currency: invoice.currency),
            on: connection, logger: logger)
        var updated = invoice
        updated.status = .defaulted
        return updated
    }
}

extension Invoices {
    /// Invoices in the order issued (finance, admin; a bidder sees its own), `overdue`
    /// on each.
    public func list(
        status: InvoiceBalance.Status?, bidderId: UUID?, afterSeq: Int64, limit: Int, for caller: Caller, in session: Session
    ) async throws -> [(InvoiceAnswer, Int64)] {
        if caller.role == .bidder, let asked = bidderId, asked != caller.user.id { return [] }
        let buyer = caller.role == .bidder ? caller.user.id : bidderId
        return try await InvoiceRepository.list(
            status: status, bidderId: buyer, afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger
        ).map { invoice, overdue, seq in
            var answer = InvoiceAnswer(invoice)
            answer.overdue = overdue
            return (answer, seq)
        }
    }
}

extension Expenses {
    /// A case's expenses in the order recorded (its managers, finance, admin).
    public func list(caseId: UUID, for caller: Caller, in session: Session) async throws -> [ExpenseAnswer] {
        guard let stored = try await CaseRepository.find(id: caseId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        return try await ExpenseRepository.list(caseId: caseId, currency: stored.currency, on: session.connection, logger: session.logger)
            .map(ExpenseAnswer.init)
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
