import GavelStore
import Foundation
import GavelCore

/// Serialises answers: sorted keys so identical values give identical bytes, which
/// idempotent replays and tests rely on.
enum JSONWriter {
    static func string<T: Encodable>(_ value: T) -> String {
        JSONText.encode(value)
    }

    /// Any `Encodable` as a `JSONValue`, for audit before/after snapshots.
    static func value<T: Encodable>(_ value: T) -> JSONValue {
        // Our DTOs always encode, and JSON we wrote always parses back.
        try! JSONText.decode(JSONValue.self, from: JSONText.encode(value))
    }
}
