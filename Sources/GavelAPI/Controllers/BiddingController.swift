import Foundation
import GavelCore
import GavelStore
import Hummingbird
import Synchronization
import GavelWorkflows

struct BiddingController: Sendable {
    let database: Database
    let rateLimiter: BidRateLimiter
    let notifier: LotEventNotifier
    let deposits = Deposits()
    let bids = Bids()

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
        let receipt = Deposits.Receipt(
            lotId: lotId, bidderId: bidderId, amount: amount, reference: reference, currency: try MoneyInput.currency(body))
        let deposits = self.deposits
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, DepositAnswer(try await deposits.receive(receipt, by: caller, in: session)))
        }
    }

    /// GET /v1/deposits?lotId=&bidderId=: finance and admins see all, a bidder its own.
    func listDeposits(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let lotId = try Page.uuid(request, "lotId")
        let bidderId = try Page.uuid(request, "bidderId")
        let deposits = self.deposits
        let rows = try await Desk(database: database).read(logger: context.logger) { session in
            try await deposits.list(
                lotId: lotId, bidderId: bidderId, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map { DepositAnswer($0.0) }, nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
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
        let bidId = Seam.newID()
        let bids = self.bids
        let written = Mutex<[String]>([])
        let response = try await Idempotency.perform(
            request, context: context, caller: caller, body: bytes, database: database, atomicStatement: true
        ) { session in
            let placed = try await bids.place(bidId: bidId, lotId: lotId, maxAmount: amount, by: caller, in: session)
            written.withLock { $0 = placed.events }
            return JSONResponse(.created, PlacedBidAnswer(placed, bidId: bidId, bidder: caller.user.id))
        }
        // Committed by now (a replayed answer wrote nothing): tell the watchers.
        notifier.committed(written.withLock { $0 })
        return response
    }

    /// GET /v1/lots/{id}/bids: price steps with per-lot aliases; never a maximum. A sealed
    /// lot shows nothing but its count until it closes, then only the winning bid.
    func history(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let bids = self.bids
        let (entries, bidCount) = try await Desk(database: database).read(logger: context.logger) { session in
            try await bids.history(lotId: lotId, for: caller, in: session)
        }
        return JSONResponse(.ok, BidHistoryAnswer(entries, bidCount: bidCount)).response
    }
}
