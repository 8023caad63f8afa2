import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import Logging
import PostgresNIO

struct LotsController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID

    /// POST /v1/lots: round 1 of a vehicle, or its next round after an unsold one.
    func create(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let vehicleId = body.uuid("vehicleId", errors: &errors)
        let schedule = Self.schedule(body, defaultFormat: .english, errors: &errors)
        var overrideRequest: LotPlanning.Override?
        if let reader = body.object("override", required: false, errors: &errors) {
            let start = reader.amount("startingPrice", errors: &errors)
            let reserve = reader.amount("reserve", errors: &errors)
            let reason = reader.string("reason", maxLength: 1_000, errors: &errors)
            if let start, let reserve, let reason { overrideRequest = .init(startingPrice: start, reserve: reserve, reason: reason) }
        }
        guard errors.isEmpty, let vehicleId, let schedule else { throw ValidationFailure(errors) }
        let id = newID()
        let override = overrideRequest
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            try await planAndInsert(
                id: id, vehicleId: vehicleId, schedule: schedule, override: override, relisting: nil,
                caller: caller, context: context, connection: session.connection)
        }
    }

    /// POST /v1/lots/{id}/relist: the next round of an unsold (or defaulted) lot.
    func relist(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let requestedFormat = body.choice("format", Lot.Format.self, required: false, errors: &errors)
        let schedule = Self.schedule(body, defaultFormat: requestedFormat ?? .english, errors: &errors)
        guard errors.isEmpty, let requested = schedule else { throw ValidationFailure(errors) }
        let id = newID()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let connection = session.connection
            guard let previous = try await LotRepository.find(id: lotId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: previous.consignorId, to: caller, what: "lot \(lotId.uuidString.lowercased())")
            var schedule = requested
            // Without a format the next round keeps the last one's.
            if requestedFormat == nil { schedule.format = previous.format }
            return try await planAndInsert(
                id: id, vehicleId: previous.vehicleId, schedule: schedule, override: nil, relisting: previous,
                caller: caller, context: context, connection: connection)
        }
    }

    private func planAndInsert(
        id: UUID, vehicleId: UUID, schedule: LotPlanning.Schedule, override: LotPlanning.Override?, relisting: Lot?,
        caller: Caller, context: GavelRequestContext, connection: PostgresConnection
    ) async throws -> JSONResponse {
        let logger = context.logger
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
        let now = try await LotRepository.now(on: connection, logger: logger)
        let plan: LotPlanning.Plan
        do {
            plan = try LotPlanning.plan(
                schedule: schedule, override: override, previous: previous, marketValue: appraisal.marketValue,
                liquidationValue: appraisal.liquidationValue, policy: consignor.policy, now: now)
        } catch {
            switch error {
            case .previousRoundNotFinished(let status):
                throw Refusal.conflict("the vehicle's round \(previous?.round ?? 0) is \(status.rawValue); only an unsold or defaulted round can be followed by another")
            case .invalid(let failure):
                throw failure
            }
        }
        var lot = Lot(
            id: id, vehicleId: vehicleId, consignorId: consignorId, appraisalId: appraisal.id, previousLotId: previous?.id,
            round: plan.round, format: schedule.format, status: schedule.startsAt <= now ? .open : .scheduled,
            currency: consignor.currency, startsAt: schedule.startsAt, endsAt: schedule.endsAt,
            extensionWindowSeconds: plan.extensionWindowSeconds, extensionSeconds: plan.extensionSeconds,
            prices: plan.prices, increments: consignor.policy.bidding.increments, overrideReason: override?.reason)
        lot.fees = consignor.policy.fees
        do {
            try await LotRepository.insert(lot, createdBy: caller.user.id, on: connection, logger: logger)
        } catch let error as PSQLError where error.isUniqueViolation {
            throw Refusal.conflict("the vehicle already has a live lot")
        }
        let answer = DTO.lot(lot, vehicle: vehicle, for: caller)
        try await AuditRepository.record(
            AuditRecord(actor: caller.auditActor, action: relisting == nil ? "lot.create" : "lot.relist", entityType: "lot",
                        entityId: id, before: nil, after: answer, requestId: context.requestID),
            on: connection, logger: logger)
        return JSONResponse(.created, answer)
    }

    static func schedule(_ body: FieldReader, defaultFormat: Lot.Format, errors: inout [FieldError]) -> LotPlanning.Schedule? {
        let format = body.choice("format", Lot.Format.self, required: false, errors: &errors) ?? defaultFormat
        let startsAt = body.timestamp("startsAt", errors: &errors)
        let endsAt = body.timestamp("endsAt", errors: &errors)
        let window = body.integer("extensionWindowSeconds", in: 1...86_400, required: false, errors: &errors)
        let extensionSeconds = body.integer("extensionSeconds", in: 1...86_400, required: false, errors: &errors)
        guard let startsAt, let endsAt else { return nil }
        return .init(format: format, startsAt: startsAt, endsAt: endsAt, extensionWindowSeconds: window, extensionSeconds: extensionSeconds)
    }

    /// GET /v1/lots: `?status=`, `?consignorId=`, cursor. Bidders see scheduled, open and
    /// closed lots from seven days before they open; managers their consignor's.
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        var status: Lot.Status?
        if let text = request.uri.queryParameters["status"] {
            guard let value = Lot.Status(rawValue: String(text)) else {
                throw ValidationFailure([FieldError(
                    field: "status", message: "must be one of: \(Lot.Status.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            status = value
        }
        let consignorId = try Page.uuid(request, "consignorId")
        let visibility: LotRepository.Visibility = switch caller.role {
        case .manager: .consignor(caller.user.consignorId ?? UUID())
        case .bidder: .bidders
        default: .everything
        }
        let wanted = status
        let answer = try await database.withConnection { connection -> JSONValue in
            let rows = try await LotRepository.list(
                visibility: visibility, status: wanted, consignorId: consignorId, afterSeq: page.after, limit: page.limit,
                on: connection, logger: context.logger)
            return DTO.page(
                rows.map { DTO.lot($0.0, vehicle: nil, for: caller) },
                nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))
        }
        return JSONResponse(.ok, answer).response
    }

    /// GET /v1/lots/{id}
    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let answer = try await database.withConnection { connection -> JSONValue in
            guard let lot = try await LotRepository.find(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(id.uuidString.lowercased())")
            try await Scope.ensureBidderMayView(lot, caller: caller, connection: connection, logger: context.logger)
            let vehicle = try await VehicleRepository.find(id: lot.vehicleId, on: connection, logger: context.logger)?.0
            let mine = caller.role == .bidder
                ? try await BidRepository.maximum(lotId: id, bidderId: caller.user.id, on: connection, logger: context.logger) : nil
            return DTO.lot(lot, vehicle: vehicle, for: caller, myMaximum: mine)
        }
        return JSONResponse(.ok, answer).response
    }

    /// POST /v1/lots/{id}/decision: `{accept}` on a lot closed below its reserve.
    func decide(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, _) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let accept = body.bool("accept", errors: &errors)
        guard errors.isEmpty, let accept else { throw ValidationFailure(errors) }
        return try await database.transaction(logger: context.logger) { connection in
            guard let lot = try await LotRepository.find(id: id, forUpdate: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(id.uuidString.lowercased())")
            guard lot.status == .pendingApproval else {
                throw Refusal.conflict("the lot is \(lot.status.rawValue); only a lot pending approval takes a decision")
            }
            try await LotClosing.decide(lotId: id, accept: accept, on: connection, logger: context.logger)
            guard let after = try await LotRepository.find(id: id, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no lot \(id.uuidString.lowercased())")
            }
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: accept ? "lot.decision.accept" : "lot.decision.reject",
                            entityType: "lot", entityId: id, before: .object(["status": .string(lot.status.rawValue)]),
                            after: .object(["status": .string(after.status.rawValue)]), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, DTO.lot(after, vehicle: nil, for: caller))
        }.response
    }
}
