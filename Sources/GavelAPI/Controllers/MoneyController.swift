import Foundation
import GavelCore
import GavelStore
import Hummingbird
import Logging
import GavelWorkflows

/// Buyer-side money: invoices, payments, defaults, deposit payouts, expenses and the
/// ledger. Every change posts its journal entry in the same transaction.
struct MoneyController: Sendable {
    let database: Database
    let invoices = Invoices()
    let deposits = Deposits()
    let expenses = Expenses()
    let books = Books()

    /// GET /v1/lots/{id}/invoice: the winner, finance and admins.
    func invoice(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let invoices = self.invoices
        let invoice = try await Desk(database: database).read(logger: context.logger) { session in
            try await invoices.invoice(lotId: lotId, for: caller, in: session)
        }
        return JSONResponse(.ok, InvoiceAnswer(invoice)).response
    }

    /// POST /v1/invoices/{id}/payments: `{amount, reference, receivedOn}`.
    func pay(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let invoiceId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let receipt = try MoneyInput.receipt(body)
        let invoices = self.invoices
        return try await Idempotency.perform(
            request, context: context, caller: caller, body: bytes, database: database, atomicStatement: true
        ) { session in
            JSONResponse(.created, InvoiceAnswer(try await invoices.pay(invoiceId: invoiceId, receipt, by: caller, in: session)))
        }
    }

    /// POST /v1/invoices/{id}/default: finance declares an invoice unpaid when due (the
    /// closer does the same by itself).
    func declareDefault(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let invoiceId = try context.parameters.uuid("id")
        let (_, bytes) = try await JSONBody.optionalObject(request)
        let invoices = self.invoices
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, InvoiceAnswer(try await invoices.declareDefault(invoiceId: invoiceId, by: caller, in: session)))
        }
    }

    /// POST /v1/deposits/{id}/refund: `{reference}` of the payout, for a deposit owed back.
    func refundDeposit(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let depositId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        var errors: [FieldError] = []
        let reference = body.string("reference", errors: &errors)
        guard errors.isEmpty, let reference else { throw ValidationFailure(errors) }
        let deposits = self.deposits
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.ok, DepositAnswer(
                try await deposits.refund(depositId: depositId, payoutReference: reference, by: caller, in: session)))
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
        let entry = Expenses.Entry(
            caseId: caseId, kind: kind, amount: amount, incurredOn: incurredOn, vendor: vendor, reference: reference,
            currency: try MoneyInput.currency(body))
        let expenses = self.expenses
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, ExpenseAnswer(try await expenses.record(entry, by: caller, in: session)))
        }
    }

    /// GET /v1/ledger/trial-balance?currency=
    func trialBalance(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let currency = request.uri.queryParameters["currency"].map(String.init)
        if let currency, !Currency.isKnown(currency) {
            throw ValidationFailure([FieldError(field: "currency", message: "must be an ISO 4217 currency code such as CNY")])
        }
        let books = self.books
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await books.trialBalance(currency: currency, in: session)
        }
        return JSONResponse(.ok, TrialBalanceAnswer(rows)).response
    }

    /// GET /v1/ledger/entries?caseId=
    func entries(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let caseId = try Page.uuid(request, "caseId")
        let books = self.books
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await books.entries(caseId: caseId, afterSeq: page.after, limit: page.limit, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map { JournalEntryAnswer($0.0) }, nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
    }
}

/// Reading money fields the same way on every route that moves money.
enum MoneyInput {
    /// Money received: `{amount, reference, receivedOn, currency?}`.
    static func receipt(_ body: FieldReader) throws -> Invoices.Receipt {
        var errors: [FieldError] = []
        let amount = positiveAmount(body, "amount", errors: &errors)
        let reference = body.string("reference", errors: &errors)
        let receivedOn = body.date("receivedOn", errors: &errors)
        guard errors.isEmpty, let amount, let reference, let receivedOn else { throw ValidationFailure(errors) }
        return Invoices.Receipt(amount: amount, reference: reference, receivedOn: receivedOn, currency: try currency(body))
    }

    /// The currency a client says it means (`currency`, optional); the workflow compares
    /// it with the record's.
    static func currency(_ body: FieldReader) throws -> String? {
        var errors: [FieldError] = []
        let sent = body.string("currency", maxLength: 3, required: false, errors: &errors)
        if !errors.isEmpty { throw ValidationFailure(errors) }
        return sent
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
}

extension MoneyController {
    /// GET /v1/invoices?status=&bidderId= (finance, admin; a bidder sees its own)
    func listInvoices(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let bidderId = try Page.uuid(request, "bidderId")
        var status: InvoiceBalance.Status?
        if let text = request.uri.queryParameters["status"] {
            guard let value = InvoiceBalance.Status(rawValue: String(text)) else {
                throw ValidationFailure([FieldError(
                    field: "status", message: "must be one of: \(InvoiceBalance.Status.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            status = value
        }
        let wanted = status
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Invoices().list(
                status: wanted, bidderId: bidderId, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.0), nextCursor: page.nextCursor(lastSequence: rows.last?.1, count: rows.count))).response
    }

    /// GET /v1/cases/{id}/expenses (its managers, finance, admin)
    func listExpenses(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let page = try Page.from(request)
        let all = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Expenses().list(caseId: id, for: caller, in: session)
        }
        return JSONResponse(.ok, page.slice(all)).response
    }
}

extension MoneyController {
    /// GET /v1/lots/{id}/confirmation (the winner, staff): the sale confirmation as JSON, or
    /// a printable page with `Accept: text/html`; `?lang=zh-CN` for Chinese.
    func confirmation(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let lotId = try context.parameters.uuid("id")
        let language = try DocumentLanguage.from(request.uri.queryParameters["lang"])
        let confirmation = try await Desk(database: database).read(logger: context.logger) { session in
            try await Confirmations().confirmation(lotId: lotId, for: caller, in: session)
        }
        if request.headers[.accept]?.lowercased().contains("text/html") == true {
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: ConfirmationDocument.html(confirmation, language))))
        }
        return JSONResponse(.ok, confirmation).response
    }
}
