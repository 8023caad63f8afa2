import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct ConsignorsController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID

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
        let consignor = Consignor(id: newID(), name: name, currency: currency, policy: policy)
        let requestID = context.requestID
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            try await ConsignorRepository.insert(consignor, on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "consignor.create", entityType: "consignor",
                            entityId: consignor.id, before: nil, after: DTO.consignor(consignor), requestId: requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, DTO.consignor(consignor))
        }
    }

    /// GET /v1/consignors/{id}: admins, and the consignor's own managers. Another
    /// consignor's manager gets 404, so the answer does not reveal that it exists.
    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        try Scope.ensureVisible(consignorId: id, to: caller, what: "consignor \(id.uuidString.lowercased())")
        let consignor = try await database.withConnection { connection in
            try await ConsignorRepository.find(id: id, on: connection, logger: context.logger)
        }
        guard let consignor else { throw Refusal.notFound("no consignor \(id.uuidString.lowercased())") }
        return JSONResponse(.ok, DTO.consignor(consignor)).response
    }

    /// PATCH /v1/consignors/{id}/policy: a partial policy, merged over the current one.
    func updatePolicy(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (patch, _) = try await JSONBody.read(request)
        let requestID = context.requestID
        return try await database.transaction(logger: context.logger) { connection in
            guard let consignor = try await ConsignorRepository.find(id: id, forUpdate: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no consignor \(id.uuidString.lowercased())")
            }
            let policy = try consignor.policy.applying(patch)
            try await ConsignorRepository.updatePolicy(id: id, policy: policy, on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "consignor.policy.update", entityType: "consignor",
                            entityId: id, before: consignor.policy.json, after: policy.json, requestId: requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, policy.json)
        }.response
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
