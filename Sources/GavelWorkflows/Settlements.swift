import Foundation
import GavelCore
import GavelStore

/// Case settlement (domain rules section 8): the statement, its corrections, the
/// surplus refund to the borrower and the deficiency claim against borrower and guarantors.
public struct Settlements: Sendable {
    public init() {}

    /// Issues the final statement of a case whose vehicles are all disposed of and whose
    /// invoices are closed; on a settled case it issues a correction that supersedes the
    /// earlier one, unless money has moved on that one. Answers the statement's JSON.
    public func settle(caseId: UUID, settlementDate requested: CalendarDate?, by caller: Caller, in session: Session) async throws -> JSONValue {
        // The case locked, read with its facts and vehicles in one round trip.
        guard let (stored, facts) = try await SettlementRepository.lockedCaseWithFacts(
            caseId: caseId, on: session.connection, logger: session.logger)
        else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        switch stored.loanCase.status {
        case .open, .ready, .settled: break
        case .redeemed:
            throw Refusal.caseSettled("the case was redeemed by the borrower; its statement is the redemption's")
        case .closed:
            throw Refusal.settlementLocked("the case is closed: its money is paid out, and its statement can no longer be corrected")
        case .withdrawn:
            throw Refusal.caseSettled("the case is withdrawn: every vehicle went back to the consignor, and there is nothing to settle")
        }
        let undisposed = facts.vehicles.filter { !$0.status.isDisposed }.map(\.vin)
        guard !facts.vehicles.isEmpty, undisposed.isEmpty, facts.openInvoices == 0 else {
            var reasons: [String] = []
            if facts.vehicles.isEmpty { reasons.append("the case has no vehicle") }
            if !undisposed.isEmpty { reasons.append("not disposed of yet: \(undisposed.joined(separator: ", "))") }
            if facts.openInvoices > 0 { reasons.append("\(facts.openInvoices) invoice(s) still open") }
            throw Refusal.caseNotReady(reasons.joined(separator: "; "), undisposedVehicles: undisposed, openInvoices: facts.openInvoices)
        }
        let today = Scope.day(of: facts.readAt)
        let settlementDate = requested ?? today
        guard settlementDate <= today else {
            throw ValidationFailure([FieldError(field: "settlementDate", message: "must not be in the future")])
        }
        return try await issue(stored, kind: .sale, settlementDate: settlementDate, facts: facts, by: caller, in: session)
    }

    /// Writes a case's final statement (superseding the current one, if any), posts its
    /// distribution, opens its surplus refund or deficiency claim and marks the case
    /// settled (or redeemed). The caller holds the case's lock and checked it may settle;
    /// `facts`, when the caller read them under that lock, are not read again.
    func issue(
        _ stored: StoredCase, kind: StatementKind, settlementDate: CalendarDate, facts known: SettlementFacts? = nil,
        by caller: Caller, in session: Session
    ) async throws -> JSONValue {
        let statementId = Seam.newID()
        let connection = session.connection
        let logger = session.logger
        let caseId = stored.loanCase.id
        let facts = if let known { known } else { try await SettlementRepository.facts(caseId: caseId, on: connection, logger: logger) }
        let consignor = facts.consignor
        let loan = stored.loanCase
        let redemption = facts.redemption
        let input = Waterfall.Input(
            balances: loan.balances, settlementDate: settlementDate, hammer: facts.hammer,
            forfeitedDeposits: facts.forfeitedDeposits, expenses: facts.expenses,
            allocationOrder: consignor.policy.settlement.allocationOrder,
            // A redemption pays no junior: its lien follows the collateral back (D26).
            lienholders: kind == .redemption ? [] : loan.lienholders, credits: loan.credits,
            proceedsReceivedOn: redemption?.receivedOn ?? facts.lastProceedsReceivedOn,
            borrowerPayments: facts.borrowerPayments,
            redemption: redemption?.amount ?? 0)
        let statement: Waterfall.Statement
        switch Waterfall.settle(input) {
        case .success(let value): statement = value
        case .failure(.settlementBeforeAsOf):
            throw ValidationFailure([FieldError(
                field: "settlementDate", message: "must not be before the balances' date, \(loan.balances.asOf)")])
        case .failure(.outOfRange(let total)):
            throw ValidationFailure([Self.outOfRange(total)])
        }
        // The current statement is read whole only when there is one to supersede.
        let previous = facts.currentStatementId == nil
            ? nil : try await SettlementRepository.current(caseId: caseId, on: connection, logger: logger)
        if let previous {
            try await supersede(previous, as: .superseded, in: session)
        }
        let json = StatementJSON.make(
            id: statementId, caseId: caseId, kind: kind, currency: stored.currency, statement: statement, loan: loan,
            lender: consignor.name, contact: consignor.policy.settlement.contact, vehicles: facts.vehicles,
            supersedes: previous?.id)
        let entry = Postings.settlement(statementId: statementId, caseId: caseId, statement: statement, currency: stored.currency)
        let settled: CaseStatus = kind == .redemption ? .redeemed : .settled
        let audit = AuditRecord(
            actor: caller.auditActor, action: previous == nil ? "settlement.issue" : "settlement.correct", entityType: "case",
            entityId: caseId, before: previous.map { .object(["statementId": $0.id.json]) },
            after: .object(["statementId": statementId.json, "kind": .string(kind.rawValue), "surplus": .integer(statement.surplus),
                            "deficiency": .integer(statement.deficiency)]),
            requestId: session.requestId)
        // The journal's IDs are drawn before the refund's and the claim's, as when each
        // was written on its own.
        let journal = try LedgerRepository.Rows(balanced: entry.lines.isEmpty ? [] : [entry])
        try await SettlementRepository.record(
            id: statementId, caseId: caseId, kind: kind, currency: stored.currency, statement: statement, body: json,
            supersedes: previous?.id, issuedBy: caller.user.id, caseStatus: settled,
            refundId: statement.surplus > 0 ? Seam.newID() : statementId, borrower: loan.surplusPayee,
            claimId: statement.deficiency > 0 ? Seam.newID() : statementId, debtors: ClaimDebtor.of(loan),
            journal: journal, audit: audit, on: connection, logger: logger)
        // A deficiency leaves its claim open, just written: the case cannot be square yet.
        if statement.deficiency == 0 {
            try await CaseProgress.closeIfSquare(caseId, locked: settled, statementId: statementId, by: caller, in: session)
        }
        return json
    }

    /// Finance reopens a settled case, with a reason, before money moved on its
    /// statement: the statement is reversed (its entry undone, its refund or claim
    /// cancelled) and the case is ready to settle again.
    public func reopen(caseId: UUID, reason: String, by caller: Caller, in session: Session) async throws -> CaseAnswer {
        let connection = session.connection
        let logger = session.logger
        let stored = try await CaseProgress.lockedCase(caseId, for: caller, in: session)
        guard stored.loanCase.status == .settled,
              let statement = try await SettlementRepository.current(caseId: caseId, on: connection, logger: logger)
        else {
            if stored.loanCase.status == .closed || stored.loanCase.status == .redeemed {
                throw Refusal.settlementLocked("the case is \(stored.loanCase.status.rawValue); money has moved on its statement")
            }
            throw Refusal.conflict("the case is \(stored.loanCase.status.rawValue); only a settled case can be reopened")
        }
        try await supersede(statement, as: .reversed, in: session)
        try await CaseRepository.setStatus(id: caseId, .open, on: connection, logger: logger)
        guard let after = try await CaseRepository.find(id: caseId, on: connection, logger: logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        let vehicles = try await VehicleRepository.list(caseId: caseId, on: connection, logger: logger)
        let answer = CaseAnswer(after.loanCase, currency: after.currency, vehicles: vehicles)
        try await session.audit(
            caller, "case.reopen", "case", caseId,
            before: .object(["status": .string(stored.loanCase.status.rawValue), "statementId": statement.id.json]),
            after: .object(["status": .string(after.loanCase.status.rawValue), "reason": .string(reason)]))
        return answer
    }

    /// Before a correction: the earlier statement is superseded, its entry reversed, its
    /// refund or claim cancelled. Refused once money moved on them.
    func supersede(_ old: StoredStatement, as status: StatementStatus, in session: Session) async throws {
        let moved = try await SettlementRepository.moneyMoved(statementId: old.id, on: session.connection, logger: session.logger)
        if moved.surplusPaid {
            throw Refusal.settlementLocked("the surplus of the current statement is paid out; it can no longer be corrected")
        }
        if moved.recovered {
            throw Refusal.settlementLocked("recoveries are recorded on the current deficiency claim; it can no longer be corrected")
        }
        if try await CaseMoneyRepository.paidOutSince(old.issuedAt, caseId: old.caseId, on: session.connection, logger: session.logger) {
            throw Refusal.settlementLocked("the lender or a junior lienholder has been paid on the current statement; it can no longer be corrected")
        }
        try await SettlementRepository.markSuperseded(
            statementId: old.id, as: status, on: session.connection, logger: session.logger)
        let reversal = Postings.settlementReversal(statementId: old.id)
        try await LedgerRepository.reverse(
            eventKey: reversal.original, as: reversal.eventKey, kind: reversal.kind, memo: reversal.memo,
            on: session.connection, logger: session.logger)
    }

    /// The field to blame when a total of the statement would pass `Money.maximum`: the
    /// request's own (the date, for interest), else the case's records that add up to it.
    static func outOfRange(_ total: Waterfall.Total) -> FieldError {
        let message = switch total {
        case .interest: "the obligation with its interest to this date passes \(Money.maximum) minor units"
        case .expenses: "the case's expenses together pass \(Money.maximum) minor units"
        case .credits: "the case's credits together pass \(Money.maximum) minor units"
        case .proceeds: "the case's proceeds together pass \(Money.maximum) minor units"
        case .deficiency: "the deficiency (expenses and obligation left unpaid) would pass \(Money.maximum) minor units"
        case .surplus: "the surplus (proceeds left and credits) would pass \(Money.maximum) minor units"
        }
        return FieldError(field: total == .interest ? "settlementDate" : total.rawValue, message: message, code: .amountOutOfRange)
    }

    /// The case's current statement, as issued.
    public func statement(caseId: UUID, for caller: Caller, in session: Session) async throws -> JSONValue {
        guard let stored = try await CaseRepository.find(id: caseId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        guard let statement = try await SettlementRepository.current(caseId: caseId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("case \(caseId.uuidString.lowercased()) has no settlement statement")
        }
        return statement.body
    }

    public func refunds(afterSeq: Int64, limit: Int, in session: Session) async throws -> [(SurplusRefund, Int64)] {
        try await SettlementRepository.refunds(afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
    }

    /// The surplus paid out to the borrower, with the payout's reference.
    public func payRefund(id: UUID, reference: String, by caller: Caller, in session: Session) async throws -> SurplusRefund {
        let connection = session.connection
        let logger = session.logger
        try await lockCase(of: id, in: session)
        guard let refund = try await SettlementRepository.refund(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no surplus refund \(id.uuidString.lowercased())")
        }
        guard refund.status == .pending else {
            throw Refusal.refundNotPending("the surplus refund is \(refund.status.rawValue)")
        }
        try await SettlementRepository.markRefundPaid(id: id, reference: reference, on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.surplusPaid(refundId: id, caseId: refund.caseId, amount: refund.amount, currency: refund.currency),
            on: connection, logger: logger)
        var paid = refund
        paid.status = .paid
        paid.payoutReference = reference
        try await session.audit(caller, "surplus.pay", "surplus-refund", id, before: refund.record, after: paid.record)
        try await CaseProgress.closeIfSquare(caseId: refund.caseId, by: caller, in: session)
        return paid
    }

    public func claims(afterSeq: Int64, limit: Int, in session: Session) async throws -> [(DeficiencyClaim, Int64)] {
        try await SettlementRepository.claims(afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
    }

    /// Money recovered on a deficiency claim; more than is outstanding is refused.
    public func recordRecovery(
        id: UUID, _ receipt: Invoices.Receipt, payer: String?, by caller: Caller, in session: Session
    ) async throws -> DeficiencyClaim {
        let recoveryId = Seam.newID()
        let connection = session.connection
        let logger = session.logger
        try await lockCase(of: id, in: session)
        guard let claim = try await SettlementRepository.claim(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no deficiency claim \(id.uuidString.lowercased())")
        }
        try MoneyRules.ensureCurrency(receipt.currency, is: claim.currency)
        guard claim.status == .open else {
            throw Refusal.claimNotOpen("the deficiency claim is \(claim.status.rawValue)")
        }
        guard receipt.amount <= claim.outstanding else {
            throw Refusal.overpayment(
                "the claim has \(claim.outstanding) outstanding; the recovery is more than that", outstanding: claim.outstanding)
        }
        try await MoneyRules.ensureNotFuture(receipt.receivedOn, field: "receivedOn", in: session)
        // Who paid: the borrower unless a guarantor is named (recoveries are listed one by one).
        let names = claim.debtors.map(\.name)
        let debtor = payer ?? names.first ?? ""
        guard names.contains(debtor) else {
            throw ValidationFailure([FieldError(
                field: "payer", message: "must be the borrower or a guarantor of the claim: \(names.joined(separator: ", "))")])
        }
        var updated = claim
        updated.recovered += receipt.amount
        updated.recoveries.append(Recovery(
            id: recoveryId, amount: receipt.amount, reference: receipt.reference, receivedOn: receipt.receivedOn, payer: debtor))
        updated.status = updated.recovered == updated.amount ? .settled : .open
        try await SettlementRepository.recordRecovery(
            on: updated, recoveryId: recoveryId, amount: receipt.amount, reference: receipt.reference,
            receivedOn: receipt.receivedOn, payer: debtor, recordedBy: caller.user.id, on: connection, logger: logger)
        try await LedgerRepository.post(
            Postings.deficiencyRecovered(recoveryId: recoveryId, caseId: claim.caseId, amount: receipt.amount, currency: claim.currency),
            on: connection, logger: logger)
        try await session.audit(caller, "deficiency.recovery", "deficiency-claim", id, before: claim.record, after: updated.record)
        try await CaseProgress.closeIfSquare(caseId: claim.caseId, by: caller, in: session)
        return updated
    }

    /// Gives up on what is left of a deficiency claim, with the reason.
    public func writeOff(id: UUID, reason: String, by caller: Caller, in session: Session) async throws -> DeficiencyClaim {
        try await lockCase(of: id, in: session)
        guard let claim = try await SettlementRepository.claim(id: id, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no deficiency claim \(id.uuidString.lowercased())")
        }
        guard claim.status == .open else {
            throw Refusal.claimNotOpen("the deficiency claim is \(claim.status.rawValue)")
        }
        try await SettlementRepository.markWrittenOff(id: id, reason: reason, on: session.connection, logger: session.logger)
        var updated = claim
        updated.status = .writtenOff
        updated.writeOffReason = reason
        try await session.audit(caller, "deficiency.write-off", "deficiency-claim", id, before: claim.record, after: updated.record)
        try await CaseProgress.closeIfSquare(caseId: claim.caseId, by: caller, in: session)
        return updated
    }

    /// Locks the case of a surplus refund or deficiency claim before the record itself,
    /// in the order settlement takes them, so that the two cannot deadlock.
    private func lockCase(of id: UUID, in session: Session) async throws {
        if let caseId = try await SettlementRepository.caseOf(refundOrClaim: id, on: session.connection, logger: session.logger) {
            try await CaseRepository.lockForSettlement(id: caseId, on: session.connection, logger: session.logger)
        }
    }
}
