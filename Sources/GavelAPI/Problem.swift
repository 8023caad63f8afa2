import Foundation
import HTTPTypes
import GavelCore
import Hummingbird

/// An RFC 9457 problem: what every error answer of Gavel is. `code` is the stable,
/// machine-readable name clients branch on (api-contract.md).
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var title: String
    public var detail: String
    public var errors: [FieldError]
    /// Extra members of the problem object, e.g. `minimumNextBid`.
    public var extensions: [String: JSONValue]
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, code: String, title: String, detail: String,
        errors: [FieldError] = [], extensions: [String: JSONValue] = [:], headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extensions = extensions
        self.headers = headers
    }

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "type": .string("https://gavel.example/problems/\(code)"),
            "title": .string(title),
            "status": .integer(Int64(status.code)),
            "detail": .string(detail),
            "code": .string(code),
        ]
        if !errors.isEmpty {
            members["errors"] = .array(errors.map { error in
                var item: [String: JSONValue] = ["field": .string(error.field), "message": .string(error.message)]
                if let code = error.code { item["code"] = .string(code) }
                if let rule = error.rule { item["rule"] = .string(rule) }
                return .object(item)
            })
        }
        for (key, value) in extensions { members[key] = value }
        return .object(members)
    }

    func response(requestID: String) -> Response {
        var object = json
        if case .object(var members) = object, !requestID.isEmpty {
            members["requestId"] = .string(requestID)
            object = .object(members)
        }
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(object))))
    }
}

// MARK: - The problems Gavel answers with

extension Problem {
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

    static func payloadTooLarge() -> Problem {
        Problem(.contentTooLarge, code: "payload-too-large", title: "Payload Too Large",
                detail: "the request body is larger than \(JSONBody.maximumSize) bytes")
    }

    /// 422 for field errors; when every error carries the same specific code (for example
    /// `amount-out-of-range`), that code is the problem's.
    static func validation(_ errors: [FieldError]) -> Problem {
        let codes = Set(errors.map { $0.code ?? "validation-failed" })
        let code = codes.count == 1 ? codes.first! : "validation-failed"
        let fields = errors.map { $0.field.isEmpty ? "body" : $0.field }
        return Problem(.unprocessableContent, code: code, title: "Validation Failed",
                       detail: "invalid: \(fields.joined(separator: ", "))", errors: errors)
    }

    static func conflict(_ detail: String, code: String = "conflict") -> Problem {
        Problem(.conflict, code: code, title: "Conflict", detail: detail)
    }

    static func serviceUnavailable(_ detail: String) -> Problem {
        Problem(.serviceUnavailable, code: "service-unavailable", title: "Service Unavailable", detail: detail,
                headers: [.retryAfter: "2"])
    }

    static let idempotencyKeyReused = Problem(
        .unprocessableContent, code: "idempotency-key-reused", title: "Idempotency-Key Reused",
        detail: "this Idempotency-Key was already used with a different request")

    static func internalError() -> Problem {
        Problem(.internalServerError, code: "internal-error", title: "Internal Server Error",
                detail: "an unexpected error occurred; it has been logged with this request's ID")
    }
}
