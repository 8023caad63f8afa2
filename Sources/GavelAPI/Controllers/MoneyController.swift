import Foundation
import GavelCore
import GavelStore
import Hummingbird
import Logging
import PostgresNIO

/// Buyer-side money: invoices, payments, defaults, deposit payouts, expenses and the
/// ledger. Every change posts its journal entry in the same transaction.
struct MoneyController: Sendable {
    let database: Database
    let newID: @Sendable () -> UUID

    /// GET /v1/lots/{id}/invoice: the winner, finance and admins.
    func invoice(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let answer = try await database.withConnection { connection -> JSONValue in
            guard let invoice = try await InvoiceRepository.find(lotId: lotId, on: connection, logger: context.logger) else {
                throw Refusal.notFound("lot \(lotId.uuidString.lowercased()) has no invoice")
            }
            if caller.role == .bidder && invoice.bidderId != caller.user.id {
                throw Refusal.forbidden("only the winner sees the invoice")
            }
            return DTO.invoice(invoice)
        }
        return JSONResponse(.ok, answer).response
    }

    /// POST /v1/invoices/{id}/payments: `{amount, reference, receivedOn}`.
    func pay(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let invoiceId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let receipt = try MoneyInput.receipt(body)
        let payment = Payment(id: newID(), amount: receipt.amount, reference: receipt.reference, receivedOn: receipt.receivedOn)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { connection in
            guard let (invoice, fees, now) = try await InvoiceRepository.findForPayment(
                id: invoiceId, on: connection, logger: context.logger)
            else {
                throw Refusal.notFound("no invoice \(invoiceId.uuidString.lowercased())")
            }
            try MoneyInput.ensureCurrency(body, is: invoice.currency)
            try MoneyInput.ensureNotFuture(receipt.receivedOn, field: "receivedOn", today: Scope.day(of: now))
            switch try await InvoiceRepository.recordPayment(
                payment, on: invoice, fees: fees, recordedBy: caller.user.id, on: connection, logger: context.logger)
            {
            case .failure(.notOpen(let status)):
                throw Refusal.invoiceNotOpen("the invoice is \(status.rawValue); it takes no more payments")
            case .failure(.overpayment(let outstanding)):
                throw Refusal.overpayment(
                    "the invoice has \(outstanding) outstanding; the payment is more than that", outstanding: outstanding)
            case .failure(.notPositive):
                throw ValidationFailure([FieldError(field: "amount", message: "must be more than zero")])
            case .success(let updated):
                try await AuditRepository.record(
                    AuditRecord(actor: caller.auditActor, action: "invoice.payment", entityType: "invoice", entityId: invoice.id,
                                before: DTO.invoice(invoice), after: DTO.invoice(updated), requestId: context.requestID),
                    on: connection, logger: context.logger)
                return JSONResponse(.created, DTO.invoice(updated))
            }
        }
    }

    /// POST /v1/invoices/{id}/default: finance declares an invoice unpaid when due (the
    /// closer does the same by itself).
    func declareDefault(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let invoiceId = try context.parameters.uuid("id")
        let (_, bytes) = try await JSONBody.optionalObject(request)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { connection in
            guard let invoice = try await InvoiceRepository.find(id: invoiceId, forUpdate: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no invoice \(invoiceId.uuidString.lowercased())")
            }
            guard invoice.status == .open else {
                throw Refusal.invoiceNotOpen("the invoice is \(invoice.status.rawValue)")
            }
            let now = try await LotRepository.now(on: connection, logger: context.logger)
            guard now >= invoice.dueAt else {
                throw Refusal.invoiceNotDue("the invoice is not due until \(invoice.dueAt.rfc3339)")
            }
            let updated = try await InvoiceRepository.markDefaulted(invoice, on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "invoice.default", entityType: "invoice", entityId: invoice.id,
                            before: DTO.invoice(invoice), after: DTO.invoice(updated), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, DTO.invoice(updated))
        }
    }

    /// POST /v1/deposits/{id}/refund: `{reference}` of the payout, for a deposit owed back.
    func refundDeposit(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let depositId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let reference = body.string("reference", errors: &errors)
        guard errors.isEmpty, let reference else { throw ValidationFailure(errors) }
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { connection in
            guard let deposit = try await DepositRepository.find(id: depositId, forUpdate: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no deposit \(depositId.uuidString.lowercased())")
            }
            guard deposit.status == .refundDue else {
                throw Refusal.depositNotRefundable("the deposit is \(deposit.status.rawValue); only a deposit owed back (refund-due) is refunded")
            }
            try await DepositRepository.markRefunded(id: depositId, payoutReference: reference, on: connection, logger: context.logger)
            try await LedgerRepository.post(
                Postings.depositRefunded(depositId: depositId, amount: deposit.amount, currency: deposit.currency),
                on: connection, logger: context.logger)
            var refunded = deposit
            refunded.status = .refunded
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "deposit.refund", entityType: "deposit", entityId: depositId,
                            before: DTO.deposit(deposit), after: DTO.deposit(refunded), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.ok, DTO.deposit(refunded))
        }
    }

    /// POST /v1/cases/{id}/expenses: `{kind, amount, incurredOn, vendor?, reference?}`.
    /// The seller fee is Gavel's to record, at payment in full.
    func recordExpense(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let kind = body.choice("kind", among: ExpenseKind.recordable, errors: &errors)
        let amount = MoneyInput.positiveAmount(body, "amount", errors: &errors)
        let incurredOn = body.date("incurredOn", errors: &errors)
        let vendor = body.string("vendor", required: false, errors: &errors)
        let reference = body.string("reference", required: false, errors: &errors)
        guard errors.isEmpty, let kind, let amount, let incurredOn else { throw ValidationFailure(errors) }
        let id = newID()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { connection in
            guard let stored = try await CaseRepository.find(id: caseId, forChange: true, on: connection, logger: context.logger) else {
                throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
            }
            try Scope.ensureVisible(consignorId: stored.loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
            try Scope.ensureTakesChanges(stored)
            try MoneyInput.ensureCurrency(body, is: stored.currency)
            try await MoneyInput.ensureNotFuture(incurredOn, field: "incurredOn", connection: connection, logger: context.logger)
            // The case's expenses are a total the settlement adds up: bounded like any amount.
            let recorded = try await ExpenseRepository.total(caseId: caseId, on: connection, logger: context.logger)
            guard amount <= Money.maximum - recorded else {
                throw ValidationFailure([FieldError(
                    field: "amount",
                    message: "the case's expenses would pass \(Money.maximum) minor units (\(recorded) recorded so far)",
                    code: .amountOutOfRange)])
            }
            let expense = Expense(
                id: id, caseId: caseId, kind: kind, amount: amount, incurredOn: incurredOn, vendor: vendor,
                reference: reference, currency: stored.currency)
            try await ExpenseRepository.insert(expense, recordedBy: caller.user.id, on: connection, logger: context.logger)
            try await LedgerRepository.post(
                Postings.expense(expenseId: id, caseId: caseId, kind: kind.rawValue, amount: amount, currency: stored.currency),
                on: connection, logger: context.logger)
            try await AuditRepository.record(
                AuditRecord(actor: caller.auditActor, action: "expense.record", entityType: "case", entityId: caseId,
                            before: nil, after: DTO.expense(expense), requestId: context.requestID),
                on: connection, logger: context.logger)
            return JSONResponse(.created, DTO.expense(expense))
        }
    }

    /// GET /v1/ledger/trial-balance?currency=
    func trialBalance(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let currency = request.uri.queryParameters["currency"].map(String.init)
        if let currency, !Currency.isKnown(currency) {
            throw ValidationFailure([FieldError(field: "currency", message: "must be an ISO 4217 currency code such as CNY")])
        }
        let rows = try await database.withConnection { connection in
            try await LedgerRepository.trialBalance(currency: currency, on: connection, logger: context.logger)
        }
        return JSONResponse(.ok, DTO.trialBalance(rows)).response
    }

    /// GET /v1/ledger/entries?caseId=
    func entries(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let caseId = try Page.uuid(request, "caseId")
        let answer = try await database.withConnection { connection -> JSONValue in
            let rows = try await LedgerRepository.entries(
                caseId: caseId, afterSeq: page.after, limit: page.limit, on: connection, logger: context.logger)
            return DTO.page(rows.map { DTO.journalEntry($0.0) }, nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))
        }
        return JSONResponse(.ok, answer).response
    }
}

/// Reading money fields the same way on every route that moves money.
enum MoneyInput {
    /// Money received: `{amount, reference, receivedOn}`.
    struct Receipt {
        var amount: Int64
        var reference: String
        var receivedOn: CalendarDate
    }

    static func receipt(_ body: FieldReader) throws -> Receipt {
        var errors: [FieldError] = []
        let amount = positiveAmount(body, "amount", errors: &errors)
        let reference = body.string("reference", errors: &errors)
        let receivedOn = body.date("receivedOn", errors: &errors)
        guard errors.isEmpty, let amount, let reference, let receivedOn else { throw ValidationFailure(errors) }
        return Receipt(amount: amount, reference: reference, receivedOn: receivedOn)
    }

    /// Money is received and spent in the past: a date after the database's today is a typo.
    static func ensureNotFuture(_ date: CalendarDate, field: String, connection: PostgresConnection, logger: Logger) async throws {
        try ensureNotFuture(date, field: field, today: Scope.day(of: try await LotRepository.now(on: connection, logger: logger)))
    }

    /// `today` by the database's clock.
    static func ensureNotFuture(_ date: CalendarDate, field: String, today: CalendarDate) throws {
        guard date <= today else { throw ValidationFailure([FieldError(field: field, message: "must not be in the future")]) }
    }

    /// An amount that moves money: zero is refused along with negatives.
    static func positiveAmount(_ body: FieldReader, _ key: String, errors: inout [FieldError]) -> Int64? {
        guard let amount = body.amount(key, errors: &errors) else { return nil }
        guard amount > 0 else {
            errors.append(FieldError(field: key, message: "must be more than zero"))
            return nil
        }
        return amount
    }

    /// A client may say which currency it means; when that is not the resource's, the
    /// request is refused rather than booked in the wrong money.
    static func ensureCurrency(_ body: FieldReader, is currency: String) throws {
        var errors: [FieldError] = []
        guard let sent = body.string("currency", maxLength: 3, required: false, errors: &errors) else {
            if !errors.isEmpty { throw ValidationFailure(errors) }
            return
        }
        guard sent == currency else {
            throw Refusal.currencyMismatch(expected: currency, sent: sent)
        }
    }
}
