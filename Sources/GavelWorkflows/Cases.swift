import Foundation
import GavelCore
import GavelStore
import PostgresNIO

/// Cases (a defaulted loan and its collateral) and the vehicles taken back under them.
public struct Cases: Sendable {
    public init() {}

    /// Opens a case; a manager opens cases for its own consignor only, and a consignor
    /// has one case per loan number.
    public func open(_ loanCase: LoanCase, by caller: Caller, in session: Session) async throws -> CaseAnswer {
        if caller.role == .manager && caller.user.consignorId != loanCase.consignorId {
            throw Refusal.forbidden("a manager opens cases for its own consignor only")
        }
        guard let consignor = try await ConsignorRepository.find(id: loanCase.consignorId, on: session.connection, logger: session.logger) else {
            throw ValidationFailure([FieldError(field: "consignorId", message: "no consignor has this ID")])
        }
        do {
            try await CaseRepository.insert(loanCase, on: session.connection, logger: session.logger)
        } catch let error as PSQLError where error.isUniqueViolation {
            throw Refusal.conflict("consignor \(consignor.name) already has a case for loan \(loanCase.loanNumber)")
        }
        let answer = CaseAnswer(loanCase, currency: consignor.currency, vehicles: [])
        try await session.audit(caller, "case.create", "case", loanCase.id, before: nil, after: JSONValue(answer: answer))
        return answer
    }

    /// A case with its vehicles.
    public func find(id: UUID, for caller: Caller, in session: Session) async throws -> CaseAnswer {
        guard let stored = try await CaseRepository.find(id: id, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(id.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(id.uuidString.lowercased())")
        let vehicles = try await VehicleRepository.list(caseId: id, on: session.connection, logger: session.logger)
        return CaseAnswer(stored.loanCase, currency: stored.currency, vehicles: vehicles)
    }

    /// Cases in creation order; a manager sees its own consignor's only (asking for
    /// another's shows none).
    public func list(
        consignorId: UUID?, afterSeq: Int64, limit: Int, for caller: Caller, in session: Session
    ) async throws -> [(answer: CaseAnswer, seq: Int64)] {
        var consignorId = consignorId
        if caller.role == .manager {
            if let asked = consignorId, asked != caller.user.consignorId { return [] }
            consignorId = caller.user.consignorId
        }
        let rows = try await CaseRepository.list(
            consignorId: consignorId, afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
        return rows.map { (CaseAnswer($0.loanCase, currency: $0.currency, vehicles: nil), $0.seq) }
    }

    /// Parties, credits, exclusions and juniors' demands changed before settlement (domain
    /// rules section 11); a settled case refuses (409 `case-settled`).
    public func change(
        caseId: UUID, patch: FieldReader, by caller: Caller, in session: Session
    ) async throws -> CaseAnswer {
        let connection = session.connection
        let logger = session.logger
        let stored = try await CaseProgress.lockedCase(caseId, for: caller, in: session)
        try Scope.ensureTakesChanges(stored)
        let changed = try stored.loanCase.applying(patch, today: try await session.today())
        try await CaseRepository.updateParties(changed, on: connection, logger: logger)
        let vehicles = try await VehicleRepository.list(caseId: caseId, on: connection, logger: logger)
        let before = CaseAnswer(stored.loanCase, currency: stored.currency, vehicles: nil)
        let after = CaseAnswer(changed, currency: stored.currency, vehicles: nil)
        try await session.audit(caller, "case.update", "case", caseId, before: JSONValue(answer: before), after: JSONValue(answer: after))
        return CaseAnswer(changed, currency: stored.currency, vehicles: vehicles)
    }

    /// A vehicle taken back under an open case. `parse` reads it once the database's
    /// today is known (no repossession in the future).
    public func addVehicle(
        caseId: UUID, by caller: Caller, in session: Session, parse: @Sendable (_ id: UUID, _ today: CalendarDate) throws -> Vehicle
    ) async throws -> Vehicle {
        let id = Seam.newID()
        guard let stored = try await CaseRepository.find(id: caseId, forChange: true, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        try Scope.ensureTakesChanges(stored)
        let vehicle = try parse(id, try await session.today())
        do {
            try await VehicleRepository.insert(vehicle, on: session.connection, logger: session.logger)
        } catch let error as PSQLError where error.isUniqueViolation {
            throw Refusal.conflict("VIN \(vehicle.vin) belongs to a vehicle that is not yet disposed of")
        }
        try await session.audit(caller, "vehicle.create", "vehicle", vehicle.id, before: nil, after: vehicle.record)
        return vehicle
    }
}
