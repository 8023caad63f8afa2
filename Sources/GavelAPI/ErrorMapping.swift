import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import NIOCore
import PostgresNIO

/// The one place where errors from anywhere below become HTTP problems, and the one
/// place that names each problem code and its status (`ProblemCodesTests` checks both
/// against api-contract.md, domain-rules.md and D2 of Docs/decisions.md).
enum ErrorMapping {
    static func problem(for error: any Error, routes: RouteTable, request: Request) -> Problem? {
        switch error {
        case let problem as Problem:
            return problem
        case let refusal as Refusal:
            return .refusal(refusal)
        case let failure as ValidationFailure:
            return .validation(failure.errors)
        case let failure as InvoiceOutOfRange:
            return .validation([FieldError(
                field: "hammerPrice",
                message: "the invoice of lot \(failure.lotId.uuidString.lowercased()) would pass \(Money.maximum) minor units",
                code: .amountOutOfRange)])
        case is NIOTooManyBytesError:
            return .payloadTooLarge()
        case is ClientDisconnected:
            return .clientDisconnected()
        case let error as HTTPError where error.status == .notFound:
            let allowed = routes.allowedMethods(forPath: request.uri.path)
            return allowed.isEmpty
                ? .notFound("no route for \(request.method.rawValue) \(request.uri.path)")
                : .methodNotAllowed(request.method, allowed: allowed)
        case let error as HTTPError where error.status == .contentTooLarge:
            return .payloadTooLarge()
        case let error as HTTPError where (400..<500).contains(error.status.code):
            return .clientError(error.status, detail: error.body ?? error.status.reasonPhrase)
        case is DatabaseUnavailable, is NoWritableHost:
            return .serviceUnavailable("the database is unreachable; retry shortly")
        case let error as PSQLError where error.isConnectivityFailure:
            return .serviceUnavailable("the database is unreachable; retry shortly")
        case let error as PSQLError where error.isStatementTimeout:
            return .serviceUnavailable("the database took too long to answer; retry shortly")
        case let error as PSQLError where error.isUniqueViolation:
            return .refusal(.conflict("this conflicts with an existing record"))
        case let error as PSQLError where error.isSerializationFailure:
            return .refusal(.conflict("a concurrent change won; retry the request"))
        default:
            // The pool's own error type lives in an underscored module of PostgresNIO;
            // every case of it (circuit breaker tripped, shut down) means "no database now".
            if String(describing: type(of: error)) == "ConnectionPoolError" {
                return .serviceUnavailable("the database is unreachable; retry shortly")
            }
            return nil
        }
    }
}

// MARK: - Every problem Gavel answers with

extension Problem {
    /// A refusal's status, code and title.
    static func refusal(_ refusal: Refusal) -> Problem {
        switch refusal {
        case .notFound(let detail):
            return .notFound(detail)
        case .forbidden(let detail):
            return .forbidden(detail)
        case .conflict(let detail):
            return Problem(.conflict, code: "conflict", title: "Conflict", detail: detail)
        case .lotNotOpen:
            return Problem(.conflict, code: "lot-not-open", title: "Lot Not Open", detail: "the lot is not open for bids")
        case .bidderBarred(let detail):
            return Problem(.forbidden, code: "bidder-barred", title: "Bidder Barred", detail: detail)
        case .bidderNotVerified(let detail):
            return Problem(.forbidden, code: "bidder-not-verified", title: "Bidder Not Verified", detail: detail)
        case .bidderRelatedParty(let detail):
            return Problem(.forbidden, code: "bidder-related-party", title: "Related Party", detail: detail)
        case .depositRequired(let amount):
            return Problem(.forbidden, code: "deposit-required", title: "Deposit Required",
                           detail: "bidding on this lot needs a deposit of \(amount) held for you",
                           extensions: ["depositAmount": .integer(amount)])
        case .bidTooLow(let minimum):
            return Problem(.unprocessableContent, code: "bid-too-low", title: "Bid Too Low",
                           detail: "the minimum next bid is \(minimum)", extensions: ["minimumNextBid": .integer(minimum)])
        case .bidNotHigher(let current):
            return Problem(.unprocessableContent, code: "bid-not-higher", title: "Bid Not Higher",
                           detail: "you lead; a new maximum must be higher than your current one",
                           extensions: ["myMaxAmount": .integer(current)])
        case .notTheFixedPrice(let price):
            var problem = Problem.validation([FieldError(field: "maxAmount", message: "must be the fixed price \(price)")])
            problem.detail = "a fixed-price lot is bought at its price, \(price)"
            return problem
        case .rateLimited(let detail, let seconds):
            return Problem(.tooManyRequests, code: "rate-limited", title: "Too Many Requests", detail: detail,
                           headers: [.retryAfter: String(seconds)])
        case .appraisalNotApproved(let detail):
            return Problem(.conflict, code: "appraisal-not-approved", title: "Conflict", detail: detail)
        case .noticePeriod(let detail, let earliest, let latest):
            var extensions: [String: JSONValue] = ["earliestStartsAt": .string(earliest.rfc3339)]
            if let latest { extensions["latestStartsAt"] = .string(latest.rfc3339) }
            return Problem(.unprocessableContent, code: "notice-period", title: "Notice Period", detail: detail,
                           errors: [FieldError(field: "startsAt", message: "must not be before \(earliest.rfc3339)"
                                               + (latest.map { " nor after \($0.rfc3339)" } ?? ""))],
                           extensions: extensions)
        case .caseSettled(let detail):
            return Problem(.conflict, code: "case-settled", title: "Conflict", detail: detail)
        case .caseNotReady(let detail, let undisposed, let openInvoices):
            return Problem(.conflict, code: "case-not-ready", title: "Case Not Ready", detail: detail,
                           extensions: ["undisposedVehicles": .array(undisposed.map(JSONValue.string)),
                                        "openInvoices": .integer(Int64(openInvoices))])
        case .settlementLocked(let detail):
            return Problem(.conflict, code: "settlement-locked", title: "Conflict", detail: detail)
        case .collateralDisposed(let detail):
            return Problem(.conflict, code: "collateral-disposed", title: "Conflict", detail: detail)
        case .invoiceNotOpen(let detail):
            return Problem(.conflict, code: "invoice-not-open", title: "Conflict", detail: detail)
        case .invoiceNotDue(let detail):
            return Problem(.conflict, code: "invoice-not-due", title: "Conflict", detail: detail)
        case .depositNotRefundable(let detail):
            return Problem(.conflict, code: "deposit-not-refundable", title: "Conflict", detail: detail)
        case .refundNotPending(let detail):
            return Problem(.conflict, code: "refund-not-pending", title: "Conflict", detail: detail)
        case .claimNotOpen(let detail):
            return Problem(.conflict, code: "claim-not-open", title: "Conflict", detail: detail)
        case .overpayment(let detail, let outstanding):
            return Problem(.unprocessableContent, code: "overpayment", title: "Overpayment", detail: detail,
                           extensions: ["outstanding": .integer(outstanding)])
        case .currencyMismatch(let expected, let sent):
            return Problem(.unprocessableContent, code: "currency-mismatch", title: "Currency Mismatch",
                           detail: "this is in \(expected); the request says \(sent)",
                           errors: [FieldError(field: "currency", message: "must be \(expected)")])
        case .idempotencyKeyReused:
            return Problem(.unprocessableContent, code: "idempotency-key-reused", title: "Idempotency-Key Reused",
                           detail: "this Idempotency-Key was already used with a different request")
        }
    }

    static func unauthorized(_ detail: String) -> Problem {
        Problem(.unauthorized, code: "unauthorized", title: "Unauthorized", detail: detail,
                headers: [.wwwAuthenticate: "Bearer"])
    }

    static func forbidden(_ detail: String) -> Problem {
        Problem(.forbidden, code: "forbidden", title: "Forbidden", detail: detail)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, code: "not-found", title: "Not Found", detail: detail)
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> Problem {
        let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        return Problem(.methodNotAllowed, code: "method-not-allowed", title: "Method Not Allowed",
                       detail: "\(method.rawValue) is not allowed here; use \(allow)", headers: [.allow: allow])
    }

    static func malformedJSON(_ detail: String) -> Problem {
        Problem(.badRequest, code: "malformed-json", title: "Malformed JSON", detail: detail)
    }

    static func unsupportedMediaType(_ detail: String) -> Problem {
        Problem(.unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported Media Type", detail: detail)
    }

    static func payloadTooLarge() -> Problem {
        Problem(.contentTooLarge, code: "payload-too-large", title: "Payload Too Large",
                detail: "the request body is larger than \(JSONBody.maximumSize) bytes")
    }

    static func requestTimeout(_ detail: String) -> Problem {
        Problem(.requestTimeout, code: "request-timeout", title: "Request Timeout", detail: detail,
                headers: [.connection: "close"])
    }

    static func clientDisconnected() -> Problem {
        Problem(.clientClosedRequest, code: "client-disconnected", title: "Client Closed Request",
                detail: "the client closed the connection before the request was read")
    }

    /// A 4xx Hummingbird raised itself (a bad request line, a header it refuses).
    static func clientError(_ status: HTTPResponse.Status, detail: String) -> Problem {
        Problem(status, code: status.code == 400 ? "bad-request" : "client-error", title: status.reasonPhrase, detail: detail)
    }

    /// 422 for field errors; when every error carries the same specific code (for example
    /// `amount-out-of-range`), that code is the problem's.
    static func validation(_ errors: [FieldError]) -> Problem {
        let general = "validation-failed"
        let codes = Set(errors.map { $0.code?.rawValue ?? general })
        let code = codes.count == 1 ? codes.first! : general
        // Each field once, in the order first named (an import file's line has several).
        var seen: Set<String> = []
        let fields = errors.map { $0.field.isEmpty ? "body" : $0.field }.filter { seen.insert($0).inserted }
        return Problem(.unprocessableContent, code: code, title: "Validation Failed",
                       detail: "invalid: \(fields.joined(separator: ", "))", errors: errors)
    }

    static func serviceUnavailable(_ detail: String) -> Problem {
        Problem(.serviceUnavailable, code: "service-unavailable", title: "Service Unavailable", detail: detail,
                headers: [.retryAfter: "2"])
    }

    static func internalError() -> Problem {
        Problem(.internalServerError, code: "internal-error", title: "Internal Server Error",
                detail: "an unexpected error occurred; it has been logged with this request's ID")
    }
}
