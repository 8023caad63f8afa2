import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct UsersController: Sendable {
    let database: Database

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
