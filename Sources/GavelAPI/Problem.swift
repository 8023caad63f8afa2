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
                if let code = error.code { item["code"] = .string(code.rawValue) }
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
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONText.encode(object))))
    }
}
