import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import PostgresNIO

struct CasesController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID

    /// POST /v1/cases: a defaulted loan. A manager opens cases for its own consignor only.
    func create(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        let loanCase = try LoanCase.parse(body, id: newID(), today: Scope.day(of: Date()))
        if caller.role == .manager && caller.user.consignorId != loanCase.consignorId {
            throw Refusal.forbidden("a manager opens cases for its own consignor only")
        }
        let requestID = context.requestID
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let consignor = try await ConsignorRepository.find(id: loanCase.consignorId, on: connection, logger: context.logger) else {
                throw ValidationFailure([FieldError(field: "consignorId", message: "no consignor has this ID")])
            }
            do {
                try await CaseRepository.insert(loanCase, on: connection, logger: context.logger)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw Refusal.conflict("consignor \(consignor.name) already has a case for loan \(loanCase.loanNumber)")
            }
            let answer = DTO.loanCase(loanCase, currency: consignor.currency, vehicles: [])
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "case.create", entityType: "case", entityId: loanCase.id,
                            before: nil, after: answer, requestId: requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, answer)
        }
    }

    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let answer = try await database.withConnection { connection -> JSONValue in
            guard let stored = try await CaseRepository.find(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no case \(id.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(id.uuidString.lowercased())")
            let vehicles = try await VehicleRepository.list(caseId: id, on: connection, logger: context.logger)
            return DTO.loanCase(stored.loanCase, currency: stored.currency, vehicles: vehicles)
        }
        return JSONResponse(.ok, answer).response
    }

    /// GET /v1/cases: in creation order; a manager sees its own consignor's only.
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        var consignorId = try Page.uuid(request, "consignorId")
        if caller.role == .manager {
            if let asked = consignorId, asked != caller.user.consignorId {
                return JSONResponse(.ok, DTO.page([], nextCursor: nil)).response
            }
            consignorId = caller.user.consignorId
        }
        let consignor = consignorId
        let answer = try await database.withConnection { connection -> JSONValue in
            let rows = try await CaseRepository.list(
                consignorId: consignor, afterSeq: page.after, limit: page.limit, on: connection, logger: context.logger)
            let items = rows.map { DTO.loanCase($0.loanCase, currency: $0.currency, vehicles: nil) }
            return DTO.page(items, nextCursor: page.nextCursor(lastSequence: rows.last?.seq, count: rows.count))
        }
        return JSONResponse(.ok, answer).response
    }

    /// POST /v1/cases/{id}/vehicles
    func addVehicle(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let requestID = context.requestID
        let id = newID()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let stored = try await CaseRepository.find(id: caseId, forChange: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
            try Scope.ensureTakesChanges(stored)
            let today = Scope.day(of: try await LotRepository.now(on: connection, logger: context.logger))
            let vehicle = try Vehicle.parse(body, id: id, caseId: caseId, today: today)
            do {
                try await VehicleRepository.insert(vehicle, on: connection, logger: context.logger)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw Refusal.conflict("VIN \(vehicle.vin) belongs to a vehicle that is not yet disposed of")
            }
            let answer = DTO.vehicle(vehicle)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "vehicle.create", entityType: "vehicle", entityId: vehicle.id,
                            before: nil, after: answer, requestId: requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, answer)
        }
    }
}
