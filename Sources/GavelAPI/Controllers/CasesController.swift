import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct CasesController: Sendable {
    let database: Database
    let cases = Cases()

    /// POST /v1/cases: a defaulted loan. A manager opens cases for its own consignor only.
    func create(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        let loanCase = try LoanCase.parse(body, id: Seam.newID(), today: Scope.day(of: Seam.now()))
        let cases = self.cases
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await cases.open(loanCase, by: caller, in: session))
        }
    }

    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let cases = self.cases
        return JSONResponse(.ok, try await Desk(database: database).read(logger: context.logger) { session in
            try await cases.find(id: id, for: caller, in: session)
        }).response
    }

    /// GET /v1/cases: in creation order; a manager sees its own consignor's only.
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let consignorId = try Page.uuid(request, "consignorId")
        let cases = self.cases
        let rows = try await Desk(database: database).read(logger: context.logger) { session in
            try await cases.list(consignorId: consignorId, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.answer), nextCursor: page.nextCursor(lastSequence: rows.last?.seq, count: rows.count))).response
    }

    /// POST /v1/cases/{id}/vehicles
    func addVehicle(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let cases = self.cases
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let vehicle = try await cases.addVehicle(caseId: caseId, by: caller, in: session) { id, today in
                try Vehicle.parse(body, id: id, caseId: caseId, today: today)
            }
            return JSONResponse(.created, VehicleAnswer(vehicle))
        }
    }
}
