import CSV
import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import HTTPTypes
import Logging
import Mustache
import NIOCore
import PostgresNIO

/// Case settlement (domain rules section 8): statements, surplus refunds and
/// deficiency claims.
struct SettlementController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID

    /// POST /v1/cases/{id}/settlement: `{settlementDate?}`. Issues the final statement;
    /// on a settled case it issues a correction that supersedes the earlier one.
    func settle(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.optionalObject(request)
        var errors: [FieldError] = []
        let requestedDate = body.date("settlementDate", required: false, errors: &errors)
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        let statementId = newID()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            let logger = context.logger
            // The case's row lock serialises two settlements of one case.
            for try await _ in try await connection.query("SELECT 1 FROM cases WHERE id = \(caseId) FOR UPDATE", logger: logger) {}
            guard let stored = try await CaseRepository.find(id: caseId, on: connection, logger: logger) else {
                throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
            let facts = try await SettlementRepository.facts(caseId: caseId, on: connection, logger: logger)
            let undisposed = facts.vehicles.filter { $0.status == .inStock }.map(\.vin)
            guard !facts.vehicles.isEmpty, undisposed.isEmpty, facts.openInvoices == 0 else {
                var reasons: [String] = []
                if facts.vehicles.isEmpty { reasons.append("the case has no vehicle") }
                if !undisposed.isEmpty { reasons.append("not disposed of yet: \(undisposed.joined(separator: ", "))") }
                if facts.openInvoices > 0 { reasons.append("\(facts.openInvoices) invoice(s) still open") }
                throw Refusal.caseNotReady(
                    reasons.joined(separator: "; "), undisposedVehicles: undisposed, openInvoices: facts.openInvoices)
            }
            let today = Scope.day(of: try await LotRepository.now(on: connection, logger: logger))
            let settlementDate = requestedDate ?? today
            guard settlementDate <= today else {
                throw ValidationFailure([FieldError(field: "settlementDate", message: "must not be in the future")])
            }
            guard let consignor = try await ConsignorRepository.find(id: stored.loanCase.consignorId, on: connection, logger: logger) else {
                throw Refusal.notFound("no consignor for case \(caseId.uuidString.lowercased())")
            }
            let loan = stored.loanCase
            let input = Waterfall.Input(
                balances: loan.balances, settlementDate: settlementDate, hammer: facts.hammer,
                forfeitedDeposits: facts.forfeitedDeposits, expenses: facts.expenses,
                allocationOrder: consignor.policy.settlement.allocationOrder, lienholders: loan.lienholders, credits: loan.credits)
            let statement: Waterfall.Statement
            switch Waterfall.settle(input) {
            case .success(let value): statement = value
            case .failure(.settlementBeforeAsOf):
                throw ValidationFailure([FieldError(
                    field: "settlementDate", message: "must not be before the balances' date, \(loan.balances.asOf)")])
            case .failure(.outOfRange(let total)):
                throw ValidationFailure([Self.outOfRange(total)])
            }
            let previous = try await SettlementRepository.current(caseId: caseId, on: connection, logger: logger)
            if let previous {
                switch try await SettlementRepository.supersede(previous, on: connection, logger: logger) {
                case .surplusPaid?:
                    throw Refusal.settlementLocked("the surplus of the current statement is paid out; it can no longer be corrected")
                case .recoveriesRecorded?:
                    throw Refusal.settlementLocked("recoveries are recorded on the current deficiency claim; it can no longer be corrected")
                case nil: break
                }
            }
            let json = StatementDocument.json(
                id: statementId, caseId: caseId, currency: stored.currency, statement: statement, loan: loan,
                lender: consignor.name, vehicles: facts.vehicles, supersedes: previous?.id)
            try await SettlementRepository.issue(
                id: statementId, caseId: caseId, currency: stored.currency, statement: statement, body: json,
                borrower: loan.borrower.name, debtors: [loan.borrower.name] + loan.guarantors, supersedes: previous?.id,
                issuedBy: caller.user.id, on: connection, logger: logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: previous == nil ? "settlement.issue" : "settlement.correct",
                            entityType: "case", entityId: caseId,
                            before: previous.map { .object(["statementId": $0.id.json]) },
                            after: .object(["statementId": statementId.json, "surplus": .integer(statement.surplus),
                                            "deficiency": .integer(statement.deficiency)]),
                            requestId: context.requestID),
                on: connection, logger: logger)
            return JSONResponse(.created, json)
        }
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

    /// GET /v1/cases/{id}/settlement: JSON, or CSV (`Accept: text/csv`), or a printable
    /// page (`Accept: text/html`).
    func statement(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let body = try await database.withConnection { connection -> JSONValue in
            guard let stored = try await CaseRepository.find(id: caseId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
            guard let statement = try await SettlementRepository.current(caseId: caseId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("case \(caseId.uuidString.lowercased()) has no settlement statement")
            }
            return statement.body
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("text/csv") {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: try StatementDocument.csv(body))))
        }
        if accept.contains("text/html") {
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: StatementDocument.html(body))))
        }
        return JSONResponse(.ok, body).response
    }

    // MARK: - Surplus refunds

    func listRefunds(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try await list(request, context: context, SettlementRepository.refunds, DTO.refund)
    }

    /// A page of records in the order they were made.
    private func list<T>(
        _ request: Request, context: GavelRequestContext,
        _ read: @escaping @Sendable (Int64, Int, PostgresConnection, Logger) async throws -> [(T, Int64)],
        _ present: @escaping @Sendable (T) -> JSONValue
    ) async throws -> Response {
        let page = try Page.from(request)
        let answer = try await database.withConnection { connection -> JSONValue in
            let rows = try await read(page.after, page.limit, connection, context.logger)
            return DTO.page(rows.map { present($0.0) }, nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))
        }
        return JSONResponse(.ok, answer).response
    }

    /// POST /v1/surplus-refunds/{id}/pay: `{reference}` of the payout to the borrower.
    func payRefund(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let reference = body.string("reference", errors: &errors)
        guard errors.isEmpty, let reference else { throw ValidationFailure(errors) }
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let refund = try await SettlementRepository.refund(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no surplus refund \(id.uuidString.lowercased())")
            }
            guard refund.status == .pending else {
                throw Refusal.refundNotPending("the surplus refund is \(refund.status.rawValue)")
            }
            try await SettlementRepository.markRefundPaid(id: id, reference: reference, on: connection, logger: context.logger)
            try await LedgerRepository.post(
                Postings.surplusPaid(refundId: id, caseId: refund.caseId, amount: refund.amount, currency: refund.currency),
                on: connection, logger: context.logger)
            var paid = refund
            paid.status = .paid
            paid.payoutReference = reference
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "surplus.pay", entityType: "surplus-refund", entityId: id,
                            before: DTO.refund(refund), after: DTO.refund(paid), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, DTO.refund(paid))
        }
    }

    // MARK: - Deficiency claims

    func listClaims(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try await list(request, context: context, SettlementRepository.claims, DTO.claim)
    }

    /// POST /v1/deficiency-claims/{id}/recoveries: `{amount, reference, receivedOn}`.
    func recordRecovery(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let receipt = try MoneyInput.receipt(body)
        let amount = receipt.amount
        let recoveryId = newID()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let claim = try await SettlementRepository.claim(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no deficiency claim \(id.uuidString.lowercased())")
            }
            try MoneyInput.ensureCurrency(body, is: claim.currency)
            guard claim.status == .open else {
                throw Refusal.claimNotOpen("the deficiency claim is \(claim.status.rawValue)")
            }
            guard amount <= claim.outstanding else {
                throw Refusal.overpayment(
                    "the claim has \(claim.outstanding) outstanding; the recovery is more than that", outstanding: claim.outstanding)
            }
            try MoneyRules.ensureNotFuture(
                receipt.receivedOn, field: "receivedOn", today: Scope.day(of: try await LotRepository.now(on: connection, logger: context.logger)))
            let updated = try await SettlementRepository.recordRecovery(
                claim: claim, recoveryId: recoveryId, amount: amount, reference: receipt.reference, receivedOn: receipt.receivedOn,
                recordedBy: caller.user.id, on: connection, logger: context.logger)
            try await LedgerRepository.post(
                Postings.deficiencyRecovered(recoveryId: recoveryId, caseId: claim.caseId, amount: amount, currency: claim.currency),
                on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "deficiency.recovery", entityType: "deficiency-claim", entityId: id,
                            before: DTO.claim(claim), after: DTO.claim(updated), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, DTO.claim(updated))
        }
    }

    /// POST /v1/deficiency-claims/{id}/write-off: `{reason}`.
    func writeOff(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let reason = body.string("reason", maxLength: 500, errors: &errors)
        guard errors.isEmpty, let reason else { throw ValidationFailure(errors) }
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let claim = try await SettlementRepository.claim(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no deficiency claim \(id.uuidString.lowercased())")
            }
            guard claim.status == .open else {
                throw Refusal.claimNotOpen("the deficiency claim is \(claim.status.rawValue)")
            }
            let updated = try await SettlementRepository.writeOff(claim: claim, reason: reason, on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "deficiency.write-off", entityType: "deficiency-claim", entityId: id,
                            before: DTO.claim(claim), after: DTO.claim(updated), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, DTO.claim(updated))
        }
    }
}

extension DTO {
    static func refund(_ refund: SurplusRefund) -> JSONValue {
        .object([
            "id": refund.id.json, "caseId": refund.caseId.json, "statementId": refund.statementId.json,
            "currency": .string(refund.currency), "amount": .integer(refund.amount), "borrower": .string(refund.borrower),
            "status": .string(refund.status.rawValue), "payoutReference": refund.payoutReference.map(JSONValue.string) ?? .null,
        ])
    }

    static func claim(_ claim: DeficiencyClaim) -> JSONValue {
        .object([
            "id": claim.id.json, "caseId": claim.caseId.json, "statementId": claim.statementId.json,
            "currency": .string(claim.currency), "amount": .integer(claim.amount), "recovered": .integer(claim.recovered),
            "outstanding": .integer(claim.outstanding), "jointlyLiable": .array(claim.debtors.map(JSONValue.string)),
            "status": .string(claim.status.rawValue), "writeOffReason": claim.writeOffReason.map(JSONValue.string) ?? .null,
        ])
    }
}
