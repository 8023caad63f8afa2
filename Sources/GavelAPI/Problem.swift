import Foundation
import HTTPTypes
import GavelCore
import GavelStore
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

    func response(requestID: String) -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        let body = ProblemAnswer(self, requestId: requestID.isEmpty ? nil : requestID)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONText.encode(body))))
    }
}

/// A problem's body: RFC 9457's members, Gavel's `code` and `requestId`, each field's
/// error, and the members a problem adds for the client to act on (`minimumNextBid`…).
struct ProblemAnswer: Encodable, Sendable {
    struct FieldErrorAnswer: Encodable, Sendable {
        var field: String
        var message: String
        var code: String?
        var rule: String?
    }

    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    /// Left out when the problem is not about fields.
    var errors: [FieldErrorAnswer]?
    var requestId: String?
    var extensions: [String: JSONValue]

    init(_ problem: Problem, requestId: String?) {
        type = "https://gavel.example/problems/\(problem.code)"
        title = problem.title
        status = problem.status.code
        detail = problem.detail
        code = problem.code
        errors = problem.errors.isEmpty ? nil : problem.errors.map {
            FieldErrorAnswer(field: $0.field, message: $0.message, code: $0.code?.rawValue, rule: $0.rule)
        }
        self.requestId = requestId
        extensions = problem.extensions
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(type, forKey: Key("type"))
        try container.encode(title, forKey: Key("title"))
        try container.encode(status, forKey: Key("status"))
        try container.encode(detail, forKey: Key("detail"))
        try container.encode(code, forKey: Key("code"))
        try container.encodeIfPresent(errors, forKey: Key("errors"))
        try container.encodeIfPresent(requestId, forKey: Key("requestId"))
        for (name, value) in extensions { try container.encode(value, forKey: Key(name)) }
    }
}
