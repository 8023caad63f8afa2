import Foundation
import GavelCore
import GavelStore
import Hummingbird
import PostgresNIO

struct BiddingController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID
    let rateLimiter: BidRateLimiter

    /// POST /v1/lots/{id}/deposits: finance records a deposit received for a lot.
    func recordDeposit(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let bidderId = body.uuid("bidderId", errors: &errors)
        let amount = body.amount("amount", errors: &errors)
        let reference = body.string("reference", errors: &errors)
        if amount == 0 { errors.append(FieldError(field: "amount", message: "must be more than zero")) }
        guard errors.isEmpty, let bidderId, let amount, let reference else { throw ValidationFailure(errors) }
        let id = newID()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { connection in
            guard let lot = try await LotRepository.find(id: lotId, forUpdate: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())")
            }
            guard [.scheduled, .open].contains(lot.status), !(lot.format == .fixed && lot.bidCount > 0) else {
                throw Refusal.conflict("the lot is \(lot.status.rawValue); deposits are taken before and during bidding")
            }
            try MoneyInput.ensureCurrency(body, is: lot.currency)
            // At most the starting price: a deposit then never exceeds the invoice it pays into.
            guard (lot.prices.deposit...lot.prices.start).contains(amount) else {
                throw ValidationFailure([FieldError(
                    field: "amount",
                    message: "must be from the lot's deposit, \(lot.prices.deposit), to its starting price, \(lot.prices.start)")])
            }
            let bidderRole = try await connection.query("SELECT role FROM users WHERE id = \(bidderId)", logger: context.logger)
            var isBidder = false
            for try await role in bidderRole.decode(String.self) { isBidder = role == Role.bidder.rawValue }
            guard isBidder else { throw ValidationFailure([FieldError(field: "bidderId", message: "no bidder has this ID")]) }
            // A bidder who defaulted on this vehicle may not bid on it again: its money is not taken either.
            if try await BidRepository.isBarred(bidderId: bidderId, vehicleId: lot.vehicleId, on: connection, logger: context.logger) {
                throw Refusal.bidderBarred("this bidder defaulted on this vehicle before and may not bid on it; no deposit is taken")
            }
            let deposit = Deposit(
                id: id, lotId: lotId, bidderId: bidderId, amount: amount, reference: reference, status: .held, currency: lot.currency)
            do {
                try await DepositRepository.insert(deposit, recordedBy: caller.user.id, on: connection, logger: context.logger)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw Refusal.conflict("this bidder already has a deposit held for this lot")
            }
            try await LedgerRepository.post(
                Postings.depositReceived(depositId: id, amount: amount, currency: lot.currency), on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "deposit.receive", entityType: "deposit", entityId: id,
                            before: nil, after: DTO.deposit(deposit), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, DTO.deposit(deposit))
        }
    }

    /// GET /v1/deposits?lotId=&bidderId=: finance and admins see all, a bidder its own.
    func listDeposits(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let lotId = try Page.uuid(request, "lotId")
        var bidderId = try Page.uuid(request, "bidderId")
        if caller.role == .bidder {
            if let asked = bidderId, asked != caller.user.id { return JSONResponse(.ok, DTO.page([], nextCursor: nil)).response }
            bidderId = caller.user.id
        }
        let bidder = bidderId
        let answer = try await database.withConnection { connection -> JSONValue in
            let rows = try await DepositRepository.list(
                lotId: lotId, bidderId: bidder, afterSeq: page.after, limit: page.limit, on: connection, logger: context.logger)
            return DTO.page(rows.map { DTO.deposit($0.0) }, nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))
        }
        return JSONResponse(.ok, answer).response
    }

    /// POST /v1/lots/{id}/bids: `{maxAmount}`. One statement (`place_bid`) under the lot's
    /// row lock; a 201 is sent only after it commits.
    func placeBid(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        if let wait = rateLimiter.admit(caller.user.id) {
            let seconds = max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up)))
            throw Refusal.rateLimited(
                "at most \(Int(rateLimiter.perSecond)) bids a second; retry after \(seconds) s", retryAfterSeconds: seconds)
        }
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let amount = body.amount("maxAmount", errors: &errors)
        guard errors.isEmpty, let amount else { throw ValidationFailure(errors) }
        let bidId = newID()
        return try await Idempotency.perform(
            request, context: context, caller: caller, body: bytes, database: database, atomicStatement: true
        ) { connection in
            let outcome = try await BidRepository.place(
                bidId: bidId, lotId: lotId, bidderId: caller.user.id, amount: amount, on: connection, logger: context.logger)
            let placed: PlacedBid
            switch outcome {
            case .success(let value): placed = value
            case .failure(let refusal):
                // A lot a bidder may not see yet (or any more) does not exist for it: the same
                // 404 as a lot that does not exist, not a 409 that says it does.
                if case .rejected(.lotNotOpen) = refusal,
                   let lot = try await LotRepository.find(id: lotId, on: connection, logger: context.logger) {
                    try await LotsController.ensureBidderMayView(lot, caller: caller, connection: connection, logger: context.logger)
                }
                throw Self.refusal(refusal, lotId: lotId)
            }
            let sealed = placed.format == .sealed
            return JSONResponse(.created, .object([
                "bidId": bidId.json,
                "accepted": .bool(true),
                "leading": sealed ? .null : .bool(placed.acceptance.leader == caller.user.id),
                "currentPrice": sealed ? .null : .integer(placed.acceptance.price),
                "minimumNextBid": .integer(placed.acceptance.minimumNextBid),
                "endsAt": placed.acceptance.endsAt.json,
                "extended": .bool(placed.acceptance.extended),
            ]))
        }
    }

    static func refusal(_ refusal: BidRefusal, lotId: UUID) -> Refusal {
        switch refusal {
        case .lotNotFound: .notFound("no lot \(lotId.uuidString.lowercased())")
        case .depositRequired(let amount): .depositRequired(amount: amount)
        case .bidderBarred: .bidderBarred("you defaulted on this vehicle before and may not bid on it again")
        case .rejected(let rejection): Refusal(rejection)
        }
    }

    /// GET /v1/lots/{id}/bids: price steps with per-lot aliases; never a maximum. A sealed
    /// lot shows nothing but its count until it closes, then only the winning bid.
    func history(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let answer = try await database.withConnection { connection -> JSONValue in
            guard let lot = try await LotRepository.find(id: lotId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no lot \(lotId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: lot.consignorId, to: caller, what: "lot \(lotId.uuidString.lowercased())")
            try await LotsController.ensureBidderMayView(lot, caller: caller, connection: connection, logger: context.logger)
            let entries: [BidHistoryEntry]
            switch (lot.format, lot.status) {
            case (.sealed, .scheduled), (.sealed, .open): entries = []
            case (.sealed, _): entries = try await BidRepository.sealedResult(lotId: lotId, on: connection, logger: context.logger)
            default: entries = try await BidRepository.history(lotId: lotId, on: connection, logger: context.logger)
            }
            return .object([
                "items": .array(entries.map { entry in
                    .object(["price": .integer(entry.price), "at": entry.at.json, "bidder": .string("Bidder \(entry.alias)")])
                }),
                "bidCount": .integer(lot.bidCount),
                "nextCursor": .null,
            ])
        }
        return JSONResponse(.ok, answer).response
    }
}
