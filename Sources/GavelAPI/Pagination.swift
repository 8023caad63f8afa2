import Foundation
import GavelCore
import Hummingbird

/// `?limit=` (1...200, default 50) and an opaque `?cursor=` (api-contract.md, Lists).
struct Page {
    var limit: Int
    /// The last sequence number the client has seen; 0 for the first page.
    var after: Int64

    static func from(_ request: Request) throws -> Page {
        var errors: [FieldError] = []
        var limit = 50
        if let text = request.uri.queryParameters["limit"] {
            if let value = Int(String(text)), (1...200).contains(value) { limit = value } else {
                errors.append(FieldError(field: "limit", message: "must be an integer from 1 to 200"))
            }
        }
        var after: Int64 = 0
        if let cursor = request.uri.queryParameters["cursor"] {
            if let value = decode(String(cursor)) { after = value } else {
                errors.append(FieldError(field: "cursor", message: "is not a cursor this service issued"))
            }
        }
        if !errors.isEmpty { throw ValidationFailure(errors) }
        return Page(limit: limit, after: after)
    }

    /// Refuses query parameters the route does not take (a typo must not pass for a
    /// filter, and `?=` is no parameter at all).
    static func onlyParameters(_ request: Request, _ allowed: Set<String>) throws {
        var errors: [FieldError] = []
        for (key, _) in request.uri.queryParameters where !allowed.contains(String(key)) {
            errors.append(FieldError(field: key.isEmpty ? "query" : String(key), message: "is not a parameter of this route"))
        }
        if !errors.isEmpty { throw ValidationFailure(errors) }
    }

    /// A list filter given as a UUID query parameter (`?lotId=`); anything else is 422.
    static func uuid(_ request: Request, _ name: String) throws -> UUID? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let id = UUID(uuidString: String(text)) else {
            throw ValidationFailure([FieldError(field: name, message: "must be a UUID")])
        }
        return id
    }

    static func encode(_ sequence: Int64) -> String {
        Data("seq:\(sequence)".utf8).base64EncodedString()
    }

    static func decode(_ cursor: String) -> Int64? {
        guard let data = Data(base64Encoded: cursor) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("seq:"), let value = Int64(text.dropFirst(4)), value >= 0 else { return nil }
        return value
    }

    /// The cursor for the page after this one, or nil when this page was the last.
    func nextCursor(lastSequence: Int64?, count: Int) -> String? {
        guard count == limit, let lastSequence else { return nil }
        return Page.encode(lastSequence)
    }
}
