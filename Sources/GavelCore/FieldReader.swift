import Foundation

/// Reads the members of a JSON object field by field, collecting every problem
/// with its path instead of stopping at the first, so a 422 can list them all.
public struct FieldReader: Sendable {
    public let path: String
    public let members: [String: JSONValue]

    public init(_ members: [String: JSONValue], path: String = "") {
        self.members = members
        self.path = path
    }

    /// A reader for a whole request body, which must be a JSON object.
    public static func body(_ value: JSONValue, errors: inout [FieldError]) -> FieldReader? {
        guard case .object(let members) = value else {
            errors.append(FieldError(field: "", message: "the body must be a JSON object, not \(value.typeName)"))
            return nil
        }
        return FieldReader(members)
    }

    public func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func has(_ key: String) -> Bool {
        if let value = members[key], value != .null { return true }
        return false
    }

    private func present(_ key: String, required: Bool, errors: inout [FieldError]) -> JSONValue? {
        guard let value = members[key], value != .null else {
            if required { errors.append(FieldError(field: fieldPath(key), message: "is required")) }
            return nil
        }
        return value
    }

    public func integer(
        _ key: String, in range: ClosedRange<Int64>, required: Bool = true, errors: inout [FieldError]
    ) -> Int64? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        return Self.integer(value, at: fieldPath(key), in: range, errors: &errors)
    }

    public static func integer(
        _ value: JSONValue, at field: String, in range: ClosedRange<Int64>, errors: inout [FieldError]
    ) -> Int64? {
        guard case .integer(let number) = value else {
            errors.append(FieldError(field: field, message: "must be an integer, not \(value.typeName)"))
            return nil
        }
        guard range.contains(number) else {
            errors.append(FieldError(field: field, message: "must be between \(range.lowerBound) and \(range.upperBound)"))
            return nil
        }
        return number
    }

    /// An amount of money in minor units; out of 0...10^13 is `amount-out-of-range`.
    public func amount(_ key: String, required: Bool = true, errors: inout [FieldError]) -> Int64? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        return Self.amount(value, at: fieldPath(key), errors: &errors)
    }

    public static func amount(_ value: JSONValue, at field: String, errors: inout [FieldError]) -> Int64? {
        guard case .integer(let number) = value else {
            errors.append(FieldError(
                field: field, message: "must be an integer number of minor units, not \(value.typeName)"))
            return nil
        }
        guard Money.isInRange(number) else {
            errors.append(FieldError(
                field: field, message: "must be between 0 and \(Money.maximum) minor units",
                code: "amount-out-of-range"))
            return nil
        }
        return number
    }

    public func string(
        _ key: String, maxLength: Int = 200, required: Bool = true, errors: inout [FieldError]
    ) -> String? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .string(let text) = value else {
            errors.append(FieldError(field: fieldPath(key), message: "must be a string, not \(value.typeName)"))
            return nil
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            errors.append(FieldError(field: fieldPath(key), message: "must not be blank"))
            return nil
        }
        guard trimmed.count <= maxLength else {
            errors.append(FieldError(field: fieldPath(key), message: "must be at most \(maxLength) characters"))
            return nil
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            errors.append(FieldError(field: fieldPath(key), message: "must not contain control characters"))
            return nil
        }
        return trimmed
    }

    public func choice<T: RawRepresentable & CaseIterable>(
        _ key: String, _ type: T.Type, required: Bool = true, errors: inout [FieldError]
    ) -> T? where T.RawValue == String {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = value, let choice = T(rawValue: text) else {
            errors.append(FieldError(field: fieldPath(key), message: "must be one of: \(allowed)"))
            return nil
        }
        return choice
    }

    public func uuid(_ key: String, required: Bool = true, errors: inout [FieldError]) -> UUID? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .string(let text) = value, let id = UUID(uuidString: text) else {
            errors.append(FieldError(field: fieldPath(key), message: "must be a UUID"))
            return nil
        }
        return id
    }

    public func bool(_ key: String, required: Bool = true, errors: inout [FieldError]) -> Bool? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .bool(let flag) = value else {
            errors.append(FieldError(field: fieldPath(key), message: "must be true or false"))
            return nil
        }
        return flag
    }

    public func object(_ key: String, required: Bool = true, errors: inout [FieldError]) -> FieldReader? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .object(let members) = value else {
            errors.append(FieldError(field: fieldPath(key), message: "must be an object, not \(value.typeName)"))
            return nil
        }
        return FieldReader(members, path: fieldPath(key))
    }

    public func array(_ key: String, required: Bool = true, errors: inout [FieldError]) -> [JSONValue]? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .array(let elements) = value else {
            errors.append(FieldError(field: fieldPath(key), message: "must be an array, not \(value.typeName)"))
            return nil
        }
        return elements
    }

    /// An array of objects, each as a reader with its index in the path (`lienholders[2]`).
    public func objects(_ key: String, required: Bool = true, errors: inout [FieldError]) -> [FieldReader]? {
        guard let elements = array(key, required: required, errors: &errors) else { return nil }
        var readers: [FieldReader] = []
        var failed = false
        for (index, element) in elements.enumerated() {
            let at = "\(fieldPath(key))[\(index)]"
            guard case .object(let members) = element else {
                errors.append(FieldError(field: at, message: "must be an object, not \(element.typeName)"))
                failed = true
                continue
            }
            readers.append(FieldReader(members, path: at))
        }
        return failed ? nil : readers
    }

    public func date(_ key: String, required: Bool = true, errors: inout [FieldError]) -> CalendarDate? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .string(let text) = value, let date = CalendarDate(iso: text) else {
            errors.append(FieldError(field: fieldPath(key), message: "must be a date YYYY-MM-DD"))
            return nil
        }
        return date
    }

    /// A condition grade 0.0...5.0 with one decimal, as tenths.
    public func grade(_ key: String, required: Bool = true, errors: inout [FieldError]) -> Int64? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        return Policy.gradeTenths(value, at: fieldPath(key), errors: &errors)
    }

    /// An RFC 3339 timestamp (`2026-11-20T08:00:00Z`, fractional seconds allowed).
    public func timestamp(_ key: String, required: Bool = true, errors: inout [FieldError]) -> Date? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .string(let text) = value, let date = Self.parseTimestamp(text) else {
            errors.append(FieldError(field: fieldPath(key), message: "must be an RFC 3339 timestamp such as 2026-11-20T08:00:00Z"))
            return nil
        }
        return date
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
