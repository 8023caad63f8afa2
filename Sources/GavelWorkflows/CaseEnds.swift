import Foundation
import GavelCore
import GavelStore

/// Where a case goes once its collateral or its money moves (domain rules section 10):
/// withdrawn when every vehicle went back to the consignor, closed once a settled or
/// redeemed case owes nothing and is owed nothing.
enum CaseProgress {
    /// After a vehicle went back to the consignor: when no vehicle of the case is left in
    /// stock and none was sold or released, the case is withdrawn. Its forfeited deposits
    /// (its only proceeds) first cover its expenses; the consignor owes what is left.
    static func afterReturn(caseId: UUID, currency: String, by caller: Caller, in session: Session) async throws {
        let connection = session.connection
        let logger = session.logger
        let vehicles = try await VehicleRepository.list(caseId: caseId, on: connection, logger: logger)
        guard !vehicles.isEmpty, vehicles.allSatisfy({ $0.status == .returned }) else { return }
        let nets = try await CaseMoneyRepository.accountNets(caseId: caseId, on: connection, logger: logger)
        let proceeds = -(nets[Account.caseProceeds(caseId).description] ?? 0)
        let expenses = nets[Account.caseExpenses(caseId).description] ?? 0
        let entry = Postings.withdrawal(caseId: caseId, proceeds: proceeds, expenses: expenses, currency: currency)
        if entry.lines.count >= 2 { try await LedgerRepository.post(entry, on: connection, logger: logger) }
        try await CaseRepository.setStatus(id: caseId, .withdrawn, on: connection, logger: logger)
        try await session.audit(
            caller, "case.withdraw", "case", caseId, before: .object(["status": .string(CaseStatus.open.rawValue)]),
            after: .object(["status": .string(CaseStatus.withdrawn.rawValue), "expensesOwedByConsignor": .integer(max(0, expenses - proceeds))]))
    }

    /// A settled or redeemed case is closed once every account of it nets to zero (every
    /// payable paid out, every receivable collected) and its deficiency claim, if any,
    /// is settled or written off. Answers whether it closed now.
    @discardableResult
    static func closeIfSquare(caseId: UUID, by caller: Caller, in session: Session) async throws -> Bool {
        let connection = session.connection
        let logger = session.logger
        try await CaseRepository.lockForSettlement(id: caseId, on: connection, logger: logger)
        guard let stored = try await CaseRepository.find(id: caseId, on: connection, logger: logger),
              stored.loanCase.status == .settled || stored.loanCase.status == .redeemed
        else { return false }
        return try await closeIfSquare(caseId, locked: stored.loanCase.status, statementId: nil, by: caller, in: session)
    }

    /// The same for a case the caller holds locked and knows to be settled or redeemed
    /// (`status`), with its current statement when the caller just issued it.
    @discardableResult
    static func closeIfSquare(
        _ caseId: UUID, locked status: CaseStatus, statementId: UUID?, by caller: Caller, in session: Session
    ) async throws -> Bool {
        let connection = session.connection
        let logger = session.logger
        let nets = try await CaseMoneyRepository.accountNets(caseId: caseId, on: connection, logger: logger)
        guard CaseBooks.openAccounts(nets).isEmpty else { return false }
        let current = if let statementId { statementId } else {
            try await SettlementRepository.current(caseId: caseId, on: connection, logger: logger)?.id
        }
        if let current, try await SettlementRepository.openClaim(statementId: current, on: connection, logger: logger) {
            return false
        }
        try await CaseRepository.setStatus(id: caseId, .closed, on: connection, logger: logger)
        try await session.audit(
            caller, "case.close", "case", caseId, before: .object(["status": .string(status.rawValue)]),
            after: .object(["status": .string(CaseStatus.closed.rawValue)]))
        return true
    }

    /// Money the case received from the borrower or the consignor, stored, posted and audited.
    static func record(
        _ kind: CaseReceiptKind, _ receipt: Invoices.Receipt, of stored: StoredCase, by caller: Caller, in session: Session
    ) async throws -> CaseReceiptAnswer {
        let caseId = stored.loanCase.id
        let payment = CaseReceipt(
            id: Seam.newID(), caseId: caseId, kind: kind, currency: stored.currency, amount: receipt.amount,
            reference: receipt.reference, receivedOn: receipt.receivedOn)
        try await CaseMoneyRepository.insertReceipt(payment, recordedBy: caller.user.id, on: session.connection, logger: session.logger)
        let entry: JournalEntry = switch kind {
        case .borrowerPayment: Postings.borrowerPayment(paymentId: payment.id, caseId: caseId, amount: payment.amount, currency: payment.currency)
        case .consignorPayment: Postings.consignorPayment(paymentId: payment.id, caseId: caseId, amount: payment.amount, currency: payment.currency)
        case .redemption: Postings.redemption(redemptionId: payment.id, caseId: caseId, amount: payment.amount, currency: payment.currency)
        }
        try await LedgerRepository.post(entry, on: session.connection, logger: session.logger)
        let answer = CaseReceiptAnswer(payment)
        try await session.audit(caller, "case.\(kind.rawValue)", "case", caseId, before: nil, after: JSONValue(answer: answer))
        return answer
    }

    /// The case, visible to the caller and locked for a change of its money.
    static func lockedCase(_ caseId: UUID, for caller: Caller, in session: Session) async throws -> StoredCase {
        try await CaseRepository.lockForSettlement(id: caseId, on: session.connection, logger: session.logger)
        guard let stored = try await CaseRepository.find(id: caseId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        return stored
    }
}

/// Redemption (UCC §9-623; PRC: the debtor pays before the sale and the sale is
/// withdrawn) and the borrower's payments before the sale.
public struct Redemptions: Sendable {
    public init() {}

    /// The payoff quote as of a date: obligation with interest to that date + expenses so
    /// far - proceeds received - the borrower's earlier payments (vector H).
    public func payoff(caseId: UUID, asOf requested: CalendarDate?, for caller: Caller, in session: Session) async throws -> PayoffAnswer {
        guard let stored = try await CaseRepository.find(id: caseId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        let asOf: CalendarDate
        if let requested { asOf = requested } else { asOf = try await session.today() }
        let quote = try await quote(stored, asOf: asOf, field: "asOf", in: session)
        return PayoffAnswer(quote, currency: stored.currency)
    }

    /// `facts`: the case's, when the caller has just read them.
    func quote(
        _ stored: StoredCase, asOf: CalendarDate, field: String, facts known: SettlementFacts? = nil, in session: Session
    ) async throws -> Waterfall.Payoff {
        let connection = session.connection
        let logger = session.logger
        let caseId = stored.loanCase.id
        let facts: SettlementFacts
        if let known { facts = known } else { facts = try await SettlementRepository.facts(caseId: caseId, on: connection, logger: logger) }
        let expenses = facts.expenses.reduce(0) { $0 + $1.amount }
        switch Waterfall.payoff(
            stored.loanCase.balances, on: asOf, expensesTotal: expenses, proceeds: facts.hammer + facts.forfeitedDeposits,
            borrowerPayments: facts.borrowerPayments, allocationOrder: facts.consignor.policy.settlement.allocationOrder) {
        case .success(let quote): return quote
        case .failure(.settlementBeforeAsOf):
            throw ValidationFailure([FieldError(
                field: field, message: "must not be before the balances' date, \(stored.loanCase.balances.asOf)")])
        case .failure(.outOfRange(let total)):
            throw ValidationFailure([Settlements.outOfRange(total)])
        }
    }

    /// The borrower redeems: a payment of at least the payoff as of its `receivedOn`
    /// cancels the case's live lots, releases its unsold vehicles and settles it as
    /// `redeemed` on that day; what exceeds the payoff is the borrower's surplus. Juniors
    /// are not paid from a redemption: their liens follow the collateral back to the
    /// borrower (Docs/decisions.md D26).
    public func redeem(caseId: UUID, _ receipt: Invoices.Receipt, by caller: Caller, in session: Session) async throws -> JSONValue {
        let connection = session.connection
        let logger = session.logger
        let stored = try await CaseProgress.lockedCase(caseId, for: caller, in: session)
        try MoneyRules.ensureCurrency(receipt.currency, is: stored.currency)
        guard !stored.loanCase.status.isFinished else {
            throw Refusal.caseSettled("the case is \(stored.loanCase.status.rawValue); it can no longer be redeemed")
        }
        try await MoneyRules.ensureNotFuture(receipt.receivedOn, field: "receivedOn", in: session)
        let vehicles = try await VehicleRepository.list(caseId: caseId, on: connection, logger: logger)
        let unsold = vehicles.filter { $0.status == .inStock }
        guard !unsold.isEmpty else {
            throw Refusal.collateralDisposed("every vehicle of the case is sold or returned; there is nothing left to redeem")
        }
        let facts = try await SettlementRepository.facts(caseId: caseId, on: connection, logger: logger)
        if facts.openInvoices > 0 {
            throw Refusal.conflict("\(facts.openInvoices) invoice(s) of the case await the buyer's payment; redeem once they are paid or defaulted")
        }
        let quote = try await quote(stored, asOf: receipt.receivedOn, field: "receivedOn", facts: facts, in: session)
        guard receipt.amount >= quote.payoff else {
            throw ValidationFailure([FieldError(
                field: "amount", message: "is below the payoff of \(quote.payoff) as of \(receipt.receivedOn)")])
        }
        // The live lots end here: their deposits are owed back, their watchers told.
        let live = try await LotRepository.live(caseId: caseId, on: connection, logger: logger)
        for lot in live {
            try await Lots.cancel(lot, reason: "the borrower redeemed the collateral", by: caller, in: session)
        }
        let released = try await VehicleRepository.releaseInStock(caseId: caseId, on: connection, logger: logger)
        _ = try await CaseProgress.record(.redemption, receipt, of: stored, by: caller, in: session)
        let statement = try await Settlements().issue(
            stored, kind: .redemption, settlementDate: receipt.receivedOn, by: caller, in: session)
        try await session.audit(
            caller, "case.redeem", "case", caseId, before: .object(["status": .string(stored.loanCase.status.rawValue)]),
            after: .object([
                "status": .string(CaseStatus.redeemed.rawValue), "amount": .integer(receipt.amount),
                "payoff": .integer(quote.payoff), "releasedVehicles": .array(released.map(JSONValue.string)),
                "cancelledLots": .array(live.map { $0.id.json }),
            ]))
        return statement
    }

    /// A payment the borrower made on the loan before the sale: the lender's money,
    /// taken off the obligation at settlement. More than the obligation outstanding as
    /// of its `receivedOn` is an overpayment.
    public func recordBorrowerPayment(caseId: UUID, _ receipt: Invoices.Receipt, by caller: Caller, in session: Session) async throws -> CaseReceiptAnswer {
        let stored = try await CaseProgress.lockedCase(caseId, for: caller, in: session)
        try MoneyRules.ensureCurrency(receipt.currency, is: stored.currency)
        try Scope.ensureTakesChanges(stored)
        try await MoneyRules.ensureNotFuture(receipt.receivedOn, field: "receivedOn", in: session)
        let quote = try await quote(stored, asOf: receipt.receivedOn, field: "receivedOn", in: session)
        guard receipt.amount <= quote.obligation.total else {
            throw Refusal.overpayment(
                "the obligation outstanding as of \(receipt.receivedOn) is \(quote.obligation.total); the payment is more than that",
                outstanding: quote.obligation.total)
        }
        return try await CaseProgress.record(.borrowerPayment, receipt, of: stored, by: caller, in: session)
    }
}

/// What cases owe, paid out: the lender's share, juniors, vendors, defaulted buyers'
/// part payments; and what consignors owe their cases, collected.
public struct Payouts: Sendable {
    public init() {}

    public struct Request: Sendable {
        public var kind: PayoutKind
        public var caseId: UUID
        public var payee: String
        public var amount: Int64
        public var reference: String
        public var paidOn: CalendarDate
        public var currency: String?

        public init(
            kind: PayoutKind, caseId: UUID, payee: String, amount: Int64, reference: String, paidOn: CalendarDate, currency: String?
        ) {
            self.kind = kind
            self.caseId = caseId
            self.payee = payee
            self.amount = amount
            self.reference = reference
            self.paidOn = paidOn
            self.currency = currency
        }
    }

    public func payables(caseId: UUID?, in session: Session) async throws -> [PayableAnswer] {
        try await CaseMoneyRepository.payables(caseId: caseId, on: session.connection, logger: session.logger).map(PayableAnswer.init)
    }

    /// Pays out an open balance of one kind and payee of a case; more than is open is an
    /// overpayment. A settled or redeemed case that then owes nothing is closed.
    public func pay(_ request: Request, by caller: Caller, in session: Session) async throws -> PayoutAnswer {
        let connection = session.connection
        let logger = session.logger
        let stored = try await CaseProgress.lockedCase(request.caseId, for: caller, in: session)
        try MoneyRules.ensureCurrency(request.currency, is: stored.currency)
        try await MoneyRules.ensureNotFuture(request.paidOn, field: "paidOn", in: session)
        let open = try await CaseMoneyRepository.payables(caseId: request.caseId, on: connection, logger: logger)
            .first { $0.kind == request.kind.rawValue && $0.payee == request.payee }?.amount ?? 0
        guard request.amount <= open else {
            throw Refusal.overpayment(
                "the case owes \(request.payee) \(open) as \(request.kind.rawValue); the payout is more than that", outstanding: max(0, open))
        }
        let payout = Payout(
            id: Seam.newID(), caseId: request.caseId, kind: request.kind, payee: request.payee, currency: stored.currency,
            amount: request.amount, reference: request.reference, paidOn: request.paidOn)
        try await CaseMoneyRepository.insertPayout(payout, recordedBy: caller.user.id, on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.payout(payoutId: payout.id, caseId: payout.caseId, kind: payout.kind, amount: payout.amount, currency: payout.currency),
            on: connection, logger: logger)
        let answer = PayoutAnswer(payout)
        try await session.audit(caller, "payout.record", "case", request.caseId, before: nil, after: JSONValue(answer: answer))
        try await CaseProgress.closeIfSquare(caseId: request.caseId, by: caller, in: session)
        return answer
    }

    public func list(
        caseId: UUID?, kind: PayoutKind?, afterSeq: Int64, limit: Int, in session: Session
    ) async throws -> [(PayoutAnswer, Int64)] {
        try await CaseMoneyRepository.payouts(
            caseId: caseId, kind: kind, afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger
        ).map { (PayoutAnswer($0.0), $0.1) }
    }

    /// The consignor pays what it owes its case (expenses the proceeds did not cover, all
    /// of a withdrawn case's); more than it owes is an overpayment.
    public func recordConsignorPayment(caseId: UUID, _ receipt: Invoices.Receipt, by caller: Caller, in session: Session) async throws -> CaseReceiptAnswer {
        let connection = session.connection
        let logger = session.logger
        let stored = try await CaseProgress.lockedCase(caseId, for: caller, in: session)
        try MoneyRules.ensureCurrency(receipt.currency, is: stored.currency)
        try await MoneyRules.ensureNotFuture(receipt.receivedOn, field: "receivedOn", in: session)
        let owed = try await CaseMoneyRepository.consignorOwes(caseId: caseId, on: connection, logger: logger)
        guard receipt.amount <= owed else {
            throw Refusal.overpayment("the consignor owes the case \(max(0, owed)); the payment is more than that", outstanding: max(0, owed))
        }
        let answer = try await CaseProgress.record(.consignorPayment, receipt, of: stored, by: caller, in: session)
        try await CaseProgress.closeIfSquare(caseId: caseId, by: caller, in: session)
        return answer
    }

    /// Every payment a case received: buyers', the borrower's, a redemption, the consignor's.
    public func payments(caseId: UUID, for caller: Caller, in session: Session) async throws -> [CasePaymentAnswer] {
        guard let stored = try await CaseRepository.find(id: caseId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        return try await CaseMoneyRepository.payments(caseId: caseId, on: session.connection, logger: session.logger)
            .map { CasePaymentAnswer($0, caseId: caseId, currency: stored.currency) }
    }
}
