import Foundation

/// A parsed JSON document, used where Gavel must know what the client actually sent
/// (partial policy updates, field-by-field validation) rather than what a `Codable`
/// type would silently default.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The elements of an array, or nil for anything else.
    public var elements: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// RFC 7396 JSON merge patch: objects merge member by member, `null` removes
    /// a member, anything else replaces the target wholesale (arrays included).
    public func merged(with patch: JSONValue) -> JSONValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result: [String: JSONValue]
        if case .object(let members) = self { result = members } else { result = [:] }
        for (key, value) in patchMembers {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = (result[key] ?? .null).merged(with: value)
            }
        }
        return .object(result)
    }

    /// Paths present in `self` that `schema` does not have, so that a typo such as
    /// `startbp` is refused instead of silently ignored. Arrays are not descended into.
    public func unknownPaths(comparedTo schema: JSONValue, prefix: String = "") -> [String] {
        guard case .object(let members) = self, case .object(let known) = schema else { return [] }
        var unknown: [String] = []
        for key in members.keys.sorted() {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            guard let schemaValue = known[key] else {
                unknown.append(path)
                continue
            }
            unknown += members[key]!.unknownPaths(comparedTo: schemaValue, prefix: path)
        }
        return unknown
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension UUID {
    /// IDs go out in lowercase, the form RFC 9562 recommends.
    public var json: JSONValue { .string(uuidString.lowercased()) }
}

extension Optional where Wrapped == UUID {
    public var json: JSONValue { map(\.json) ?? .null }
}

extension Date {
    public var json: JSONValue { .string(rfc3339) }
}
