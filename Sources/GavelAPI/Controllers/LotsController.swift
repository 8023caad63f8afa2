import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct LotsController: Sendable {
    let database: Database
    let lots = Lots()

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
        let holders = Self.priorityHolders(body, errors: &errors)
        guard errors.isEmpty, let vehicleId, let schedule else { throw ValidationFailure(errors) }
        let override = overrideRequest
        let lots = self.lots
        if try Self.isPreview(request) {
            return try await preview(context) { session in
                try await lots.listVehicle(
                    vehicleId: vehicleId, schedule: schedule, override: override, priorityHolders: holders, by: caller, in: session)
            }
        }
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await lots.listVehicle(
                vehicleId: vehicleId, schedule: schedule, override: override, priorityHolders: holders, by: caller, in: session))
        }
    }

    /// `?preview=true`: the lot as it would be created (round, prices, deposit, fees), by
    /// the very same planning in a transaction that is then rolled back: 200, nothing
    /// stored, nothing audited. Every refusal is the one the real request would get.
    static func isPreview(_ request: Request) throws -> Bool {
        guard let text = request.uri.queryParameters["preview"] else { return false }
        switch text {
        case "true": return true
        case "false": return false
        default: throw ValidationFailure([FieldError(field: "preview", message: "must be true or false")])
        }
    }

    private struct Previewed: Error {
        let answer: LotAnswer
    }

    private func preview(
        _ context: GavelRequestContext, _ plan: @escaping @Sendable (Session) async throws -> LotAnswer
    ) async throws -> Response {
        do {
            _ = try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session -> LotAnswer in
                throw Previewed(answer: try await plan(session))
            }
        } catch let previewed as Previewed {
            return JSONResponse(.ok, previewed.answer).response
        }
        throw Refusal.conflict("the preview was not made")
    }

    /// POST /v1/lots/{id}/relist: the next round of an unsold (or defaulted) lot.
    func relist(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let requestedFormat = body.choice("format", Lot.Format.self, required: false, errors: &errors)
        let schedule = Self.schedule(body, defaultFormat: requestedFormat ?? .english, errors: &errors)
        guard errors.isEmpty, let schedule else { throw ValidationFailure(errors) }
        let lots = self.lots
        if try Self.isPreview(request) {
            return try await preview(context) { session in
                try await lots.relist(lotId: lotId, schedule: schedule, keepFormat: requestedFormat == nil, by: caller, in: session)
            }
        }
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await lots.relist(
                lotId: lotId, schedule: schedule, keepFormat: requestedFormat == nil, by: caller, in: session))
        }
    }

    /// `priorityHolders`: bidder IDs in rank order, each once, at most 20.
    static func priorityHolders(_ body: FieldReader, errors: inout [FieldError]) -> [UUID] {
        guard let elements = body.array("priorityHolders", required: false, errors: &errors) else { return [] }
        var holders: [UUID] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element, let id = UUID(uuidString: text) else {
                errors.append(FieldError(field: "priorityHolders[\(index)]", message: "must be a bidder ID (a UUID)"))
                continue
            }
            if holders.contains(id) {
                errors.append(FieldError(field: "priorityHolders[\(index)]", message: "names a bidder already in the list"))
            }
            holders.append(id)
        }
        if elements.count > 20 { errors.append(FieldError(field: "priorityHolders", message: "must name at most 20 bidders")) }
        return holders
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
        let wanted = status
        let lots = self.lots
        let rows = try await Desk(database: database).read(logger: context.logger) { session in
            try await lots.list(status: wanted, consignorId: consignorId, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.answer), nextCursor: page.nextCursor(lastSequence: rows.last?.seq, count: rows.count))).response
    }

    /// GET /v1/lots/{id}
    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let lots = self.lots
        return JSONResponse(.ok, try await Desk(database: database).read(logger: context.logger) { session in
            try await lots.find(id: id, for: caller, in: session)
        }).response
    }

    /// POST /v1/lots/{id}/decision: `{accept}` on a lot closed below its reserve.
    func decide(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, _) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let accept = body.bool("accept", errors: &errors)
        guard errors.isEmpty, let accept else { throw ValidationFailure(errors) }
        let lots = self.lots
        return JSONResponse(.ok, try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session in
            try await lots.decide(lotId: id, accept: accept, by: caller, in: session)
        }).response
    }
}
