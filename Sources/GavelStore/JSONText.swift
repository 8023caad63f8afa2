import Foundation
import GavelCore

/// JSON text for `jsonb` columns, produced with sorted keys so stored documents are stable.
public enum JSONText {
    /// Built as a `JSONValue` and written by hand: JSONEncoder's text, without its cost on
    /// every answer and stored document (Docs/benchmarks.md).
    public static func encode<T: Encodable>(_ value: T) -> String {
        // Encoding our own value types cannot fail; a failure is a programming error.
        try! JSONValue(encoding: value).compactText
    }

    public static func encode<T: Encodable>(_ value: T, pretty: Bool) -> String {
        guard pretty else { return encode(value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding our own value types cannot fail; a failure is a programming error.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        if type == JSONValue.self {
            guard let value = JSONValue(parsing: text.utf8) else { throw NotJSON() }
            return value as! T
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }
}

/// Text that holds no JSON document.
struct NotJSON: Error, CustomStringConvertible {
    var description: String { "not a JSON document" }
}
