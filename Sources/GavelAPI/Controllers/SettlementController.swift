import CSV
import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import HTTPTypes
import Mustache
import NIOCore

/// Case settlement (domain rules section 8): statements, surplus refunds and
/// deficiency claims.
struct SettlementController: Sendable {
    let database: Database
    let settlements = Settlements()

    /// POST /v1/cases/{id}/settlement: `{settlementDate?}`. Issues the final statement;
    /// on a settled case it issues a correction that supersedes the earlier one.
    func settle(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.optionalObject(request)
        var errors: [FieldError] = []
        let requestedDate = body.date("settlementDate", required: false, errors: &errors)
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        let settlements = self.settlements
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await settlements.settle(caseId: caseId, settlementDate: requestedDate, by: caller, in: session))
        }
    }

    /// GET /v1/cases/{id}/settlement: JSON, or CSV (`Accept: text/csv`), or a printable
    /// page (`Accept: text/html`); in English, or in Chinese with `?lang=zh-CN`.
    func statement(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let language = try DocumentLanguage.from(request.uri.queryParameters["lang"])
        let settlements = self.settlements
        let body = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await settlements.statement(caseId: caseId, for: caller, in: session)
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("text/csv") {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: try StatementDocument.csv(body, language))))
        }
        if accept.contains("text/html") {
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: StatementDocument.html(body, language))))
        }
        return JSONResponse(.ok, StatementDocument.localized(body, language)).response
    }

    // MARK: - Surplus refunds

    func listRefunds(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let settlements = self.settlements
        return try await list(request, context: context, caller: caller, { try await settlements.refunds(afterSeq: $0, limit: $1, in: $2) }, SurplusRefundAnswer.init)
    }

    /// A page of records in the order they were made.
    private func list<T, Answer: Encodable & Sendable>(
        _ request: Request, context: GavelRequestContext, caller: Caller,
        _ read: @escaping @Sendable (Int64, Int, Session) async throws -> [(T, Int64)],
        _ present: @escaping @Sendable (T) -> Answer
    ) async throws -> Response {
        let page = try Page.from(request)
        let answer = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session -> PageAnswer<Answer> in
            let rows = try await read(page.after, page.limit, session)
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
        let settlements = self.settlements
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, SurplusRefundAnswer(try await settlements.payRefund(id: id, reference: reference, by: caller, in: session)))
        }
    }

    // MARK: - Deficiency claims

    func listClaims(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let settlements = self.settlements
        return try await list(request, context: context, caller: caller, { try await settlements.claims(afterSeq: $0, limit: $1, in: $2) }, DeficiencyClaimAnswer.init)
    }

    /// POST /v1/deficiency-claims/{id}/recoveries: `{amount, reference, receivedOn}`.
    func recordRecovery(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let receipt = try MoneyInput.receipt(body)
        var errors: [FieldError] = []
        let payer = body.string("payer", required: false, errors: &errors)
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        let settlements = self.settlements
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, DeficiencyClaimAnswer(
                try await settlements.recordRecovery(id: id, receipt, payer: payer, by: caller, in: session)))
        }
    }

    /// POST /v1/deficiency-claims/{id}/write-off: `{reason}`.
    func writeOff(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let reason = body.string("reason", maxLength: 500, errors: &errors)
        guard errors.isEmpty, let reason else { throw ValidationFailure(errors) }
        let settlements = self.settlements
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, DeficiencyClaimAnswer(try await settlements.writeOff(id: id, reason: reason, by: caller, in: session)))
        }
    }
}
