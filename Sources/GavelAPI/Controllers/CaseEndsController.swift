import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

/// Every case to an end, and the money out (domain rules section 10): cancelled lots,
/// returned vehicles, reopened cases, payoff and redemption, the borrower's and the
/// consignor's payments, payables and payouts.
struct CaseEndsController: Sendable {
    let database: Database
    let lots = Lots()
    let vehicles = Vehicles()
    let settlements = Settlements()
    let redemptions = Redemptions()
    let payouts = Payouts()

    /// `{reason}` of a cancellation, a return or a reopening.
    static func reason(_ body: FieldReader) throws -> String {
        var errors: [FieldError] = []
        let reason = body.string("reason", maxLength: 500, errors: &errors)
        guard errors.isEmpty, let reason else { throw ValidationFailure(errors) }
        return reason
    }

    /// A change with a reason, `{reason}` -> 200.
    private func withReason<Answer: Encodable & Sendable>(
        _ request: Request, context: GavelRequestContext, caller: Caller,
        _ change: @escaping @Sendable (UUID, String, Session) async throws -> Answer
    ) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let reason = try Self.reason(body)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, try await change(id, reason, session))
        }
    }

    /// POST /v1/lots/{id}/cancel
    func cancelLot(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lots = self.lots
        return try await withReason(request, context: context, caller: caller) { id, reason, session in
            try await lots.cancel(lotId: id, reason: reason, by: caller, in: session)
        }
    }

    /// POST /v1/vehicles/{id}/return
    func returnVehicle(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let vehicles = self.vehicles
        return try await withReason(request, context: context, caller: caller) { id, reason, session in
            try await vehicles.returnToConsignor(vehicleId: id, reason: reason, by: caller, in: session)
        }
    }

    /// POST /v1/cases/{id}/reopen
    func reopen(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let settlements = self.settlements
        return try await withReason(request, context: context, caller: caller) { id, reason, session in
            try await settlements.reopen(caseId: id, reason: reason, by: caller, in: session)
        }
    }

    /// GET /v1/cases/{id}/payoff?asOf=
    func payoff(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        var asOf: CalendarDate?
        if let text = request.uri.queryParameters["asOf"] {
            guard let date = CalendarDate(iso: String(text)) else {
                throw ValidationFailure([FieldError(field: "asOf", message: "must be a date YYYY-MM-DD")])
            }
            asOf = date
        }
        let wanted = asOf
        let redemptions = self.redemptions
        let answer = try await Desk(database: database).read(logger: context.logger) { session in
            try await redemptions.payoff(caseId: id, asOf: wanted, for: caller, in: session)
        }
        return JSONResponse(.ok, answer).response
    }

    /// Money a case receives, `{amount, reference, receivedOn, currency?}` -> 201.
    private func receive<Answer: Encodable & Sendable>(
        _ request: Request, context: GavelRequestContext, caller: Caller,
        _ record: @escaping @Sendable (UUID, Invoices.Receipt, Session) async throws -> Answer
    ) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let receipt = try MoneyInput.receipt(body)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await record(id, receipt, session))
        }
    }

    /// POST /v1/cases/{id}/redemption -> 201 the redemption's statement.
    func redeem(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let redemptions = self.redemptions
        return try await receive(request, context: context, caller: caller) { id, receipt, session in
            try await redemptions.redeem(caseId: id, receipt, by: caller, in: session)
        }
    }

    /// POST /v1/cases/{id}/borrower-payments
    func borrowerPayment(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let redemptions = self.redemptions
        return try await receive(request, context: context, caller: caller) { id, receipt, session in
            try await redemptions.recordBorrowerPayment(caseId: id, receipt, by: caller, in: session)
        }
    }

    /// POST /v1/cases/{id}/consignor-payments
    func consignorPayment(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let payouts = self.payouts
        return try await receive(request, context: context, caller: caller) { id, receipt, session in
            try await payouts.recordConsignorPayment(caseId: id, receipt, by: caller, in: session)
        }
    }

    /// GET /v1/cases/{id}/payments: every payment the case received.
    func casePayments(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let page = try Page.from(request)
        let payouts = self.payouts
        let all = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await payouts.payments(caseId: id, for: caller, in: session)
        }
        return JSONResponse(.ok, page.slice(all)).response
    }

    /// GET /v1/payables?caseId=: open balances by kind and payee.
    func payables(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let caseId = try Page.uuid(request, "caseId")
        let payouts = self.payouts
        let all = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await payouts.payables(caseId: caseId, in: session)
        }
        return JSONResponse(.ok, page.slice(all)).response
    }

    /// POST /v1/payouts: `{kind, caseId, payee, amount, reference, paidOn}`.
    func pay(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let kind = body.choice("kind", PayoutKind.self, errors: &errors)
        let caseId = body.uuid("caseId", errors: &errors)
        let payee = body.string("payee", errors: &errors)
        let amount = MoneyInput.positiveAmount(body, "amount", errors: &errors)
        let reference = body.string("reference", errors: &errors)
        let paidOn = body.date("paidOn", errors: &errors)
        let currency = try MoneyInput.currency(body)
        guard errors.isEmpty, let kind, let caseId, let payee, let amount, let reference, let paidOn else {
            throw ValidationFailure(errors)
        }
        let payout = Payouts.Request(
            kind: kind, caseId: caseId, payee: payee, amount: amount, reference: reference, paidOn: paidOn, currency: currency)
        let payouts = self.payouts
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await payouts.pay(payout, by: caller, in: session))
        }
    }

    /// GET /v1/payouts?caseId=&kind=
    func listPayouts(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let caseId = try Page.uuid(request, "caseId")
        var kind: PayoutKind?
        if let text = request.uri.queryParameters["kind"] {
            guard let value = PayoutKind(rawValue: String(text)) else {
                throw ValidationFailure([FieldError(
                    field: "kind", message: "must be one of: \(PayoutKind.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            kind = value
        }
        let wanted = kind
        let payouts = self.payouts
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await payouts.list(caseId: caseId, kind: wanted, afterSeq: page.after, limit: page.limit, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.0), nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
    }

    /// GET /v1/vehicles?caseId=&status=
    func listVehicles(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let caseId = try Page.uuid(request, "caseId")
        var status: String?
        if let text = request.uri.queryParameters["status"] {
            let allowed = ["listed"] + Vehicle.Status.allCases.map(\.rawValue)
            guard allowed.contains(String(text)) else {
                throw ValidationFailure([FieldError(field: "status", message: "must be one of: \(allowed.joined(separator: ", "))")])
            }
            status = String(text)
        }
        let wanted = status
        let vehicles = self.vehicles
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await vehicles.list(caseId: caseId, status: wanted, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.0), nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
    }
}

extension Page {
    /// One page of a list read whole (a case's payments, the open payables): the cursor
    /// counts the items already seen.
    func slice<Item: Encodable & Sendable>(_ all: [Item]) -> PageAnswer<Item> {
        let start = Int(clamping: after)
        let items = Array(all.dropFirst(start).prefix(limit))
        let next = start + items.count < all.count ? Page.encode(Int64(start + items.count)) : nil
        return DTO.page(items, nextCursor: next)
    }
}
