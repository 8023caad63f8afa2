import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct VehiclesController: Sendable {
    let database: Database
    let vehicles = Vehicles()

    /// GET /v1/vehicles/{id}: the vehicle with its appraisals and lots (staff).
    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let vehicles = self.vehicles
        return JSONResponse(.ok, try await Desk(database: database).read(logger: context.logger) { session in
            try await vehicles.find(id: id, for: caller, in: session)
        }).response
    }

    /// POST /v1/vehicles/{id}/appraisals: a draft valuation, from comparables or by hand.
    func appraise(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let vehicleId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let vehicles = self.vehicles
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let appraisal = try await vehicles.appraise(
                vehicleId: vehicleId, byHand: body.has("marketValue"), by: caller, in: session
            ) { id, vehicle, policy, today in
                try Appraisal.parse(body, id: id, vehicle: vehicle, authorId: caller.user.id, policy: policy, today: today)
            }
            return JSONResponse(.created, AppraisalAnswer(appraisal))
        }
    }
}

struct AppraisalsController: Sendable {
    let database: Database
    let vehicles = Vehicles()

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
        let reason = given
        let vehicles = self.vehicles
        return JSONResponse(.ok, try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session in
            try await vehicles.decide(appraisalId: id, approve: approve, reason: reason, by: caller, in: session)
        }).response
    }
}
