import Foundation
import GavelCore
import GavelStore
import PostgresNIO

/// Lots: a vehicle's rounds, priced from its approved appraisal and its consignor's
/// policy, and the manager's decision on a lot closed below its reserve.
public struct Lots: Sendable {
    public init() {}

    /// Lists a vehicle: its round 1, or its next round after an unsold (or defaulted) one.
    /// `priorityHolders` are bidders with a priority purchase right, in rank order.
    public func listVehicle(
        vehicleId: UUID, schedule: LotPlanning.Schedule, override: LotPlanning.Override?, priorityHolders: [UUID] = [],
        by caller: Caller, in session: Session
    ) async throws -> LotAnswer {
        try await plan(
            vehicleId: vehicleId, schedule: schedule, override: override, priorityHolders: priorityHolders, relisting: nil,
            by: caller, in: session)
    }

    /// The next round of an unsold (or defaulted) lot; without a format it keeps the last one's.
    public func relist(
        lotId: UUID, schedule requested: LotPlanning.Schedule, keepFormat: Bool, by caller: Caller, in session: Session
    ) async throws -> LotAnswer {
        guard let previous = try await LotRepository.find(id: lotId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: previous.consignorId, to: caller, what: "lot \(lotId.uuidString.lowercased())")
        var schedule = requested
        if keepFormat { schedule.format = previous.format }
        // A priority right belongs to the vehicle's sale, not to one round: it carries over.
        return try await plan(
            vehicleId: previous.vehicleId, schedule: schedule, override: nil, priorityHolders: previous.priorityHolders,
            relisting: previous, by: caller, in: session)
    }

    private func plan(
        vehicleId: UUID, schedule: LotPlanning.Schedule, override: LotPlanning.Override?, priorityHolders: [UUID],
        relisting: Lot?, by caller: Caller, in session: Session
    ) async throws -> LotAnswer {
        let id = Seam.newID()
        let connection = session.connection
        let logger = session.logger
        // The vehicle's row lock makes new lots of one vehicle happen one at a time.
        // A missing vehicle and another consignor's answer alike (404), so that neither
        // reveals which IDs exist.
        guard let (vehicle, consignorId) = try await VehicleRepository.find(id: vehicleId, forUpdate: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no vehicle \(vehicleId.uuidString.lowercased())")
        }
        if relisting == nil {
            try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "vehicle \(vehicleId.uuidString.lowercased())")
        }
        guard vehicle.status == .inStock else {
            throw Refusal.conflict("the vehicle is \(vehicle.status.rawValue)")
        }
        guard let appraisal = try await AppraisalRepository.approved(vehicleId: vehicleId, on: connection, logger: logger) else {
            throw Refusal.appraisalNotApproved("the vehicle has no approved appraisal")
        }
        guard let consignor = try await ConsignorRepository.find(id: consignorId, on: connection, logger: logger) else {
            throw Refusal.notFound("no consignor for this vehicle")
        }
        let lots = try await LotRepository.list(vehicleId: vehicleId, on: connection, logger: logger)
        let previous = lots.last
        if let relisting, relisting.id != previous?.id {
            throw Refusal.conflict("lot \(relisting.id.uuidString.lowercased()) is not the vehicle's latest round")
        }
        let now = try await session.now()
        let plan: LotPlanning.Plan
        do {
            plan = try LotPlanning.plan(
                schedule: schedule, override: override, previous: previous,
                roundsHeld: LotPlanning.roundsHeld(lots, policy: consignor.policy), marketValue: appraisal.marketValue,
                liquidationValue: appraisal.liquidationValue, policy: consignor.policy, now: now)
        } catch {
            switch error {
            case .previousRoundNotFinished(let status):
                throw Refusal.conflict("the vehicle's round \(previous?.round ?? 0) is \(status.rawValue); only an unsold or defaulted round can be followed by another")
            case .invalid(let failure):
                throw failure
            }
        }
        // The notice period (domain rules section 11), once the request is otherwise sound.
        let policy = consignor.policy
        // Without a period to keep (notice.minDays 0) there is nothing to read for it.
        if NoticeRules.periodDays(policy: policy, firstRound: previous == nil) > 0 {
            let lastNotice = try await NoticeRepository.last(caseId: vehicle.caseId, on: connection, logger: logger)
            var previousFailedAt: Date?
            if let previous { previousFailedAt = try await LotRepository.failedAt(lotId: previous.id, on: connection, logger: logger) }
            if let refusal = NoticeRules.check(
                startsAt: schedule.startsAt, now: now, lastNoticeSentAt: lastNotice?.sentAt, disposeAfter: lastNotice?.disposeAfter,
                policy: policy, firstRound: previous == nil, previousFailedAt: previousFailedAt
            ) {
                throw Refusal.noticePeriod(refusal.reason, earliestStartsAt: refusal.earliestStartsAt, latestStartsAt: refusal.latestStartsAt)
            }
        }
        var lot = Lot(
            id: id, vehicleId: vehicleId, consignorId: consignorId, appraisalId: appraisal.id, previousLotId: previous?.id,
            round: plan.round, format: schedule.format, status: Lot.hasStarted(startsAt: schedule.startsAt, at: now) ? .open : .scheduled,
            currency: consignor.currency, startsAt: schedule.startsAt, endsAt: schedule.endsAt,
            extensionWindowSeconds: plan.extensionWindowSeconds, extensionSeconds: plan.extensionSeconds,
            prices: plan.prices, increments: consignor.policy.bidding.increments, overrideReason: override?.reason)
        lot.fees = policy.fees
        lot.requireVerified = policy.requiresVerifiedBidders
        // Under prc-judicial each round's lot is its own public announcement (拍卖公告).
        if policy.ruleset == .prcJudicial { lot.publicFrom = min(now, lot.publicFrom) }
        if !priorityHolders.isEmpty {
            // A priority right is exercised under a real name (SPC 2016 rules art. 16).
            let verified = try await BidderVerificationRepository.verifiedBidders(among: priorityHolders, on: connection, logger: logger)
            let unverified = priorityHolders.enumerated().filter { !verified.contains($0.element) }
            if !unverified.isEmpty {
                throw ValidationFailure(unverified.map { index, _ in
                    FieldError(field: "priorityHolders[\(index)]", message: "must be a bidder with a verified identity and a licence in force")
                })
            }
            lot.priorityHolders = priorityHolders
        }
        do {
            try await LotRepository.insert(lot, createdBy: caller.user.id, on: connection, logger: logger)
        } catch let error as PSQLError where error.isUniqueViolation {
            throw Refusal.conflict("the vehicle already has a live lot")
        }
        let answer = LotAnswer(lot, vehicle: vehicle, for: caller)
        try await session.audit(caller, relisting == nil ? "lot.create" : "lot.relist", "lot", id, before: nil, after: JSONValue(answer: answer))
        return answer
    }

    /// Lots in creation order: bidders see scheduled and open lots from seven days
    /// before they open, and the lots they bid on once over; managers their consignor's.
    /// `closed` asks for every lot whose sale is over.
    /// With `withVehicles`, each answer carries its vehicle (read in one statement), as the
    /// console's board and lot list show it.
    public func list(
        status: Lot.Status?, consignorId: UUID?, afterSeq: Int64, limit: Int, withVehicles: Bool = false, for caller: Caller,
        in session: Session
    ) async throws -> [(answer: LotAnswer, seq: Int64)] {
        let visibility: LotRepository.Visibility = switch caller.role {
        // A manager is always bound to a consignor; one that is not sees nothing.
        case .manager: .consignor(caller.user.consignorId ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        case .bidder: .bidder(caller.user.id)
        default: .everything
        }
        let rows = try await LotRepository.list(
            visibility: visibility, status: status, consignorId: consignorId, afterSeq: afterSeq, limit: limit,
            on: session.connection, logger: session.logger)
        let vehicles = withVehicles
            ? try await VehicleRepository.find(ids: rows.map(\.0.vehicleId), on: session.connection, logger: session.logger) : [:]
        return rows.map { (LotAnswer($0.0, vehicle: vehicles[$0.0.vehicleId], for: caller), $0.1) }
    }

    /// A lot as the caller may see it, with the vehicle; a bidder also sees its own maximum.
    public func find(id: UUID, for caller: Caller, in session: Session) async throws -> LotAnswer {
        let connection = session.connection
        let logger = session.logger
        let lot = try await Scope.visibleLot(id, to: caller, in: session)
        let vehicle = try await VehicleRepository.find(id: lot.vehicleId, on: connection, logger: logger)?.0
        let mine = caller.role == .bidder
            ? try await BidRepository.maximum(lotId: id, bidderId: caller.user.id, on: connection, logger: logger) : nil
        return LotAnswer(lot, vehicle: vehicle, for: caller, myMaximum: mine)
    }

    /// The manager's decision on a lot closed below its reserve: sold at the leading bid,
    /// or not sold.
    public func decide(lotId id: UUID, accept: Bool, by caller: Caller, in session: Session) async throws -> LotAnswer {
        let connection = session.connection
        let logger = session.logger
        guard let lot = try await LotRepository.find(id: id, forUpdate: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(id.uuidString.lowercased())")
        guard lot.status == .pendingApproval else {
            throw Refusal.conflict("the lot is \(lot.status.rawValue); only a lot pending approval takes a decision")
        }
        try await Closing().decide(lotId: id, accept: accept, in: session)
        guard let after = try await LotRepository.find(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
        }
        try await session.audit(
            caller, accept ? "lot.decision.accept" : "lot.decision.reject", "lot", id,
            before: .object(["status": .string(lot.status.rawValue)]), after: .object(["status": .string(after.status.rawValue)]))
        return LotAnswer(after, vehicle: nil, for: caller)
    }

    /// A manager calls off a live lot (scheduled, open, pending approval) with a reason:
    /// no invoice, held deposits owed back, watchers told it closed as `cancelled`.
    public func cancel(lotId id: UUID, reason: String, by caller: Caller, in session: Session) async throws -> LotAnswer {
        let connection = session.connection
        let logger = session.logger
        guard let lot = try await LotRepository.find(id: id, forUpdate: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(id.uuidString.lowercased())")
        try await Self.cancel(lot, reason: reason, by: caller, in: session)
        guard let after = try await LotRepository.find(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
        }
        return LotAnswer(after, vehicle: nil, for: caller)
    }

    /// Cancels a lot the caller has locked; refused unless it is live.
    static func cancel(_ lot: Lot, reason: String, by caller: Caller, in session: Session) async throws {
        let connection = session.connection
        let logger = session.logger
        guard [.scheduled, .open, .pendingApproval].contains(lot.status),
              try await LotRepository.markCancelled(lotId: lot.id, reason: reason, by: caller.user.id, on: connection, logger: logger)
        else {
            throw Refusal.conflict("the lot is \(lot.status.rawValue); only a scheduled, open or pending lot can be cancelled")
        }
        try await DepositRepository.releaseHeld(lotIds: [lot.id], keepers: [nil], on: connection, logger: logger)
        try await LotEventRepository.record(lotId: lot.id, kind: .closed, on: connection, logger: logger)
        try await session.audit(
            caller, "lot.cancel", "lot", lot.id, before: .object(["status": .string(lot.status.rawValue)]),
            after: .object(["status": .string(Lot.Status.cancelled.rawValue), "reason": .string(reason)]))
    }
}
