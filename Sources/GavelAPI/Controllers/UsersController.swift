import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct UsersController: Sendable {
    let database: Database
    /// This instance's memory of callers, emptied when a revocation commits here (the
    /// other instances hear of it by SQL/0009's notification).
    let callers: CallerCache

    /// POST /v1/users: the token is in this answer only; the database keeps its hash.
    func create(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let name = body.string("name", errors: &errors)
        let role = body.choice("role", Role.self, errors: &errors)
        let consignorId = body.uuid("consignorId", required: false, errors: &errors)
        if role == .manager && !body.has("consignorId") {
            errors.append(FieldError(field: "consignorId", message: "is required for a manager, who acts for one consignor"))
        }
        if let role, role != .manager, consignorId != nil {
            errors.append(FieldError(field: "consignorId", message: "only a manager is bound to a consignor"))
        }
        guard errors.isEmpty, let name, let role else { throw ValidationFailure(errors) }
        let user = User(id: Seam.newID(), name: name, role: role, consignorId: consignorId)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let token = try await Users().create(user, by: caller, in: session)
            let created = DTO.createdUser(user, token: token)
            return JSONResponse(.created, created.answer, replay: created.replay)
        }
    }
}

extension UsersController {
    /// GET /v1/me: who the token belongs to.
    func me(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        JSONResponse(.ok, UserAnswer(caller.user, token: nil)).response
    }

    /// GET /v1/users (admin)
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Users().list(afterSeq: page.after, limit: page.limit, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.0), nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
    }

    /// POST /v1/users/{id}/revoke (admin): every token of the user stops working at once.
    func revoke(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (_, bytes) = try await JSONBody.optionalObject(request)
        let response = try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, try await Users().revoke(id: id, by: caller, in: session))
        }
        callers.forget(nil)
        return response
    }
}

extension UsersController {
    /// POST /v1/bidders/{id}/verification (finance, admin):
    /// `{legalName, idNumber, dealerLicence?, licenceExpiresOn?}` -> 200 the identity.
    func verify(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let legalName = body.string("legalName", errors: &errors)
        let idNumber = body.string("idNumber", maxLength: 64, errors: &errors)
        let licence = body.string("dealerLicence", maxLength: 100, required: false, errors: &errors)
        let expires = body.date("licenceExpiresOn", required: false, errors: &errors)
        guard errors.isEmpty, let legalName, let idNumber else { throw ValidationFailure(errors) }
        let verification = BidderVerification(
            bidderId: id, legalName: legalName, idNumber: idNumber, dealerLicence: licence, licenceExpiresOn: expires)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, try await Users().verify(verification, by: caller, in: session))
        }
    }
}
