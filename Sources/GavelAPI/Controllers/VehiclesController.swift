import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import PostgresNIO

struct VehiclesController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID

    /// GET /v1/vehicles/{id}: the vehicle with its appraisals and lots (staff).
    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let answer = try await database.withConnection { connection -> JSONValue in
            guard let (vehicle, consignorId) = try await VehicleRepository.find(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no vehicle \(id.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "vehicle \(id.uuidString.lowercased())")
            let appraisals = try await AppraisalRepository.list(vehicleId: id, on: connection, logger: context.logger)
            let lots = try await LotRepository.list(vehicleId: id, on: connection, logger: context.logger)
            guard case .object(var members) = DTO.vehicle(vehicle) else { return .null }
            members["appraisals"] = .array(appraisals.map(DTO.appraisal))
            members["lots"] = .array(lots.map { DTO.lot($0, vehicle: nil, for: caller) })
            return .object(members)
        }
        return JSONResponse(.ok, answer).response
    }

    /// POST /v1/vehicles/{id}/appraisals: a draft valuation, from comparables or by hand.
    func appraise(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let vehicleId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        if body.has("marketValue") && caller.role == .appraiser {
            throw Refusal.forbidden("only a manager or an admin may enter a value by hand")
        }
        let id = newID()
        let requestID = context.requestID
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let (vehicle, consignorId) = try await VehicleRepository.find(id: vehicleId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no vehicle \(vehicleId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "vehicle \(vehicleId.uuidString.lowercased())")
            guard vehicle.status == .inStock else {
                throw Refusal.conflict("the vehicle is \(vehicle.status.rawValue); there is nothing left to appraise")
            }
            guard let consignor = try await ConsignorRepository.find(id: consignorId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no consignor for this vehicle")
            }
            let today = Scope.day(of: try await LotRepository.now(on: connection, logger: context.logger))
            let appraisal = try Appraisal.parse(
                body, id: id, vehicle: vehicle, authorId: caller.user.id, policy: consignor.policy.valuation, today: today)
            try await AppraisalRepository.insert(appraisal, on: connection, logger: context.logger)
            let answer = DTO.appraisal(appraisal)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "appraisal.create", entityType: "appraisal", entityId: id,
                            before: nil, after: answer, requestId: requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, answer)
        }
    }
}

struct AppraisalsController: Sendable {
    let database: Database

    /// POST /v1/appraisals/{id}/approve: maker-checker; the newest approval supersedes.
    func approve(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try await decide(request, context: context, caller: caller, approve: true)
    }

    /// POST /v1/appraisals/{id}/reject: `{reason}`.
    func reject(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try await decide(request, context: context, caller: caller, approve: false)
    }

    private func decide(_ request: Request, context: GavelRequestContext, caller: Caller, approve: Bool) async throws -> Response {
        let id = try context.parameters.uuid("id")
        var given: String?
        if !approve {
            let (body, _) = try await JSONBody.object(request)
            var errors: [FieldError] = []
            given = body.string("reason", maxLength: 1_000, errors: &errors)
            if !errors.isEmpty { throw ValidationFailure(errors) }
        }
        let requestID = context.requestID
        let reason = given
        return try await database.transaction(logger: context.logger) { connection in
            guard let found = try await AppraisalRepository.find(id: id, on: connection, logger: context.logger),
                  let (_, consignorId) = try await VehicleRepository.find(
                    id: found.vehicleId, forUpdate: true, on: connection, logger: context.logger)
            else { throw Refusal.notFound("no appraisal \(id.uuidString.lowercased())") }
            try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "appraisal \(id.uuidString.lowercased())")
            // Read again under the vehicle's lock: a concurrent decision may have landed.
            guard let before = try await AppraisalRepository.find(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no appraisal \(id.uuidString.lowercased())")
            }
            guard before.authorId != caller.user.id else {
                throw Refusal.forbidden("maker-checker: the author of an appraisal cannot approve or reject it")
            }
            guard before.status == .draft else {
                throw Refusal.conflict("the appraisal is \(before.status.rawValue), not a draft")
            }
            if approve {
                try await AppraisalRepository.approve(
                    id: id, vehicleId: before.vehicleId, by: caller.user.id, on: connection, logger: context.logger)
            } else {
                try await AppraisalRepository.reject(id: id, by: caller.user.id, reason: reason ?? "", on: connection, logger: context.logger)
            }
            var after = before
            after.status = approve ? .approved : .rejected
            var answer = DTO.appraisal(after)
            if case .object(var members) = answer, let reason {
                members["rejectionReason"] = .string(reason)
                answer = .object(members)
            }
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: approve ? "appraisal.approve" : "appraisal.reject",
                            entityType: "appraisal", entityId: id, before: DTO.appraisal(before), after: answer,
                            requestId: requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, answer)
        }.response
    }
}
