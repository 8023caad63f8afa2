import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct ConsignorsController: Sendable {
    let database: Database

    /// POST /v1/consignors: the policy is every default of domain-rules.md with the
    /// given parts applied over it, validated against the chosen ruleset.
    func create(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let name = body.string("name", errors: &errors)
        let currency = body.string("currency", maxLength: 3, required: false, errors: &errors) ?? "CNY"
        if !Currency.isKnown(currency) {
            errors.append(FieldError(field: "currency", message: "must be an ISO 4217 currency code such as CNY or USD"))
        }
        var policy = Policy.defaults
        if let patch = body.members["policy"], patch != .null {
            do {
                policy = try Policy.defaults.applying(patch)
            } catch {
                errors += error.errors.map { FieldError(field: "policy." + $0.field, message: $0.message, code: $0.code, rule: $0.rule) }
            }
        }
        guard errors.isEmpty, let name else { throw ValidationFailure(errors) }
        let consignor = Consignor(id: Seam.newID(), name: name, currency: currency, policy: policy)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            try await Consignors().create(consignor, by: caller, in: session)
            return JSONResponse(.created, ConsignorAnswer(consignor))
        }
    }

    /// GET /v1/consignors/{id}: admins, and the consignor's own managers. Another
    /// consignor's manager gets 404, so the answer does not reveal that it exists.
    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let consignor = try await Desk(database: database).read(logger: context.logger) { session in
            try await Consignors().find(id: id, for: caller, in: session)
        }
        return JSONResponse(.ok, ConsignorAnswer(consignor)).response
    }

    /// PATCH /v1/consignors/{id}/policy: a partial policy, merged over the current one.
    func updatePolicy(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (patch, _) = try await JSONBody.read(request)
        let policy = try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session in
            try await Consignors().updatePolicy(id: id, patch: patch, by: caller, in: session)
        }
        return JSONResponse(.ok, policy.json).response
    }
}

extension Parameters {
    /// A path ID that is not a UUID names nothing: 404, not 422.
    func uuid(_ name: String) throws -> UUID {
        guard let text = self.get(name), let id = UUID(uuidString: text) else {
            throw Refusal.notFound("no such \(name): not a UUID")
        }
        return id
    }
}

extension ConsignorsController {
    /// GET /v1/consignors (admin)
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Consignors().list(afterSeq: page.after, limit: page.limit, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.0), nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
    }
}

extension ConsignorsController {
    /// GET /v1/consignors/{id}/remittance?from=&to=&lang= (finance, admin, its managers):
    /// JSON, or CSV with `Accept: text/csv`. The period defaults to this month to date.
    func remittance(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let language = try DocumentLanguage.from(request.uri.queryParameters["lang"])
        var errors: [FieldError] = []
        func date(_ name: String) -> CalendarDate? {
            guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
            guard let day = CalendarDate(iso: String(text)) else {
                errors.append(FieldError(field: name, message: "must be a date YYYY-MM-DD"))
                return nil
            }
            return day
        }
        let from = date("from"), to = date("to")
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        let advice = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Remittances().advice(consignorId: id, from: from, to: to, for: caller, in: session)
        }
        if request.headers[.accept]?.lowercased().contains("text/csv") == true {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: try RemittanceDocument.csv(advice, language))))
        }
        return JSONResponse(.ok, advice).response
    }
}
