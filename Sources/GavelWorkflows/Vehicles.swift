import Foundation
import GavelCore
import GavelStore

/// Vehicles, their appraisals (maker-checker) and their lots.
public struct Vehicles: Sendable {
    public init() {}

    /// The vehicle with its appraisals and lots (staff).
    public func find(id: UUID, for caller: Caller, in session: Session) async throws -> VehicleAnswer {
        guard let (vehicle, consignorId) = try await VehicleRepository.find(id: id, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no vehicle \(id.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "vehicle \(id.uuidString.lowercased())")
        let appraisals = try await AppraisalRepository.list(vehicleId: id, on: session.connection, logger: session.logger)
        let lots = try await LotRepository.list(vehicleId: id, on: session.connection, logger: session.logger)
        var answer = VehicleAnswer(vehicle)
        answer.appraisals = appraisals.map(AppraisalAnswer.init)
        answer.lots = lots.map { LotAnswer($0, vehicle: nil, for: caller) }
        return answer
    }

    /// What an appraisal is read from, once the vehicle, its consignor's valuation policy
    /// and the database's today are known.
    public typealias AppraisalReader = @Sendable (
        _ id: UUID, _ vehicle: Vehicle, _ policy: Policy.Valuation, _ today: CalendarDate
    ) throws -> Appraisal

    /// A draft valuation of a vehicle still in stock. A value entered by hand is for a
    /// manager or an admin (`byHand`).
    public func appraise(
        vehicleId: UUID, byHand: Bool, by caller: Caller, in session: Session, read: AppraisalReader
    ) async throws -> Appraisal {
        if byHand && caller.role == .appraiser {
            throw Refusal.forbidden("only a manager or an admin may enter a value by hand")
        }
        let id = Seam.newID()
        guard let (vehicle, consignorId) = try await VehicleRepository.find(id: vehicleId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no vehicle \(vehicleId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "vehicle \(vehicleId.uuidString.lowercased())")
        guard vehicle.status == .inStock else {
            throw Refusal.conflict("the vehicle is \(vehicle.status.rawValue); there is nothing left to appraise")
        }
        guard let consignor = try await ConsignorRepository.find(id: consignorId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no consignor for this vehicle")
        }
        let appraisal = try read(id, vehicle, consignor.policy.valuation, try await session.today())
        try await AppraisalRepository.insert(appraisal, on: session.connection, logger: session.logger)
        try await session.audit(caller, "appraisal.create", "appraisal", id, before: nil, after: appraisal.record)
        return appraisal
    }

    /// Approves a draft (the newest approval supersedes the older) or rejects it with a
    /// reason; never by its author (maker-checker). Answers the appraisal's record.
    public func decide(appraisalId id: UUID, approve: Bool, reason: String?, by caller: Caller, in session: Session) async throws -> AppraisalAnswer {
        let connection = session.connection
        let logger = session.logger
        guard let found = try await AppraisalRepository.find(id: id, on: connection, logger: logger),
              let (_, consignorId) = try await VehicleRepository.find(id: found.vehicleId, forUpdate: true, on: connection, logger: logger)
        else { throw Refusal.notFound("no appraisal \(id.uuidString.lowercased())") }
        try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "appraisal \(id.uuidString.lowercased())")
        // Read again under the vehicle's lock: a concurrent decision may have landed.
        guard let before = try await AppraisalRepository.find(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no appraisal \(id.uuidString.lowercased())")
        }
        guard before.authorId != caller.user.id else {
            throw Refusal.forbidden("maker-checker: the author of an appraisal cannot approve or reject it")
        }
        guard before.status == .draft else {
            throw Refusal.conflict("the appraisal is \(before.status.rawValue), not a draft")
        }
        if approve {
            try await AppraisalRepository.approve(id: id, vehicleId: before.vehicleId, by: caller.user.id, on: connection, logger: logger)
        } else {
            try await AppraisalRepository.reject(id: id, by: caller.user.id, reason: reason ?? "", on: connection, logger: logger)
        }
        var after = before
        after.status = approve ? .approved : .rejected
        var answer = AppraisalAnswer(after)
        answer.rejectionReason = reason
        try await session.audit(
            caller, approve ? "appraisal.approve" : "appraisal.reject", "appraisal", id, before: before.record,
            after: JSONValue(answer: answer))
        return answer
    }

    /// Vehicles in the order taken in (staff; a manager sees its own consignor's): of
    /// one case, with one shown status (`in-stock` is the appraiser's work queue).
    public func list(
        caseId: UUID?, status: String?, afterSeq: Int64, limit: Int, for caller: Caller, in session: Session
    ) async throws -> [(VehicleAnswer, Int64)] {
        let consignorId: UUID? = caller.role == .manager
            ? (caller.user.consignorId ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))) : nil
        return try await VehicleRepository.list(
            caseId: caseId, consignorId: consignorId, shownStatus: status, afterSeq: afterSeq, limit: limit,
            on: session.connection, logger: session.logger
        ).map { listed, seq in
            var answer = VehicleAnswer(listed.vehicle)
            answer.status = listed.shownStatus
            return (answer, seq)
        }
    }

    /// A manager hands a vehicle back to the consignor (unsaleable, recalled, court
    /// order): refused while a lot of it is live or its sale awaits payment. A case whose
    /// vehicles all went back is withdrawn.
    public func returnToConsignor(vehicleId id: UUID, reason: String, by caller: Caller, in session: Session) async throws -> VehicleAnswer {
        let connection = session.connection
        let logger = session.logger
        guard let (found, consignorId) = try await VehicleRepository.find(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no vehicle \(id.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "vehicle \(id.uuidString.lowercased())")
        // The case first, then the vehicle: the order settlement and redemption lock them in.
        let stored = try await CaseProgress.lockedCase(found.caseId, for: caller, in: session)
        try Scope.ensureTakesChanges(stored)
        guard let (vehicle, _) = try await VehicleRepository.find(id: id, forUpdate: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no vehicle \(id.uuidString.lowercased())")
        }
        guard vehicle.status == .inStock else {
            throw Refusal.conflict("the vehicle is \(vehicle.status.rawValue); only a vehicle in stock can be returned")
        }
        if try await VehicleRepository.hasLiveOrUnpaidSale(id: id, on: connection, logger: logger) {
            throw Refusal.conflict("a lot of the vehicle is live, or its sale awaits payment; cancel the lot or wait for the payment or default first")
        }
        try await VehicleRepository.markReturned(id: id, reason: reason, on: connection, logger: logger)
        var returned = vehicle
        returned.status = .returned
        var answer = VehicleAnswer(returned)
        answer.returnReason = reason
        try await session.audit(caller, "vehicle.return", "vehicle", id, before: vehicle.record, after: JSONValue(answer: answer))
        try await CaseProgress.afterReturn(caseId: vehicle.caseId, currency: stored.currency, by: caller, in: session)
        return answer
    }
}
