import Foundation

/// Reads the members of a JSON object field by field, collecting every problem
/// with its path instead of stopping at the first, so a 422 can list them all.
public struct FieldReader: Sendable {
    public let path: String
    public let members: [String: JSONValue]
    /// The largest amount `amount` takes: `Money.inputMaximum` for what a caller sends
    /// (domain rules section 1), `Money.maximum` for rows Gavel wrote itself.
    public let amountLimit: Int64
    /// The dates `date` takes: for a request, 1980-01-01 to a year from today; nil
    /// (any) for rows Gavel wrote itself.
    public let dateRange: ClosedRange<CalendarDate>?

    public init(
        _ members: [String: JSONValue], path: String = "", amountLimit: Int64 = Money.inputMaximum,
        dateRange: ClosedRange<CalendarDate>? = nil
    ) {
        self.members = members
        self.path = path
        self.amountLimit = amountLimit
        self.dateRange = dateRange
    }

    /// The dates a caller may send (domain rules section 1).
    public static func requestDates(today: CalendarDate) -> ClosedRange<CalendarDate> {
        earliestDate...today.adding(days: 365)
    }

    /// A reader for a whole request body, which must be a JSON object.
    public static func body(_ value: JSONValue, today: CalendarDate, errors: inout [FieldError]) -> FieldReader? {
        guard case .object(let members) = value else {
            errors.append(FieldError(field: "", message: "the body must be a JSON object, not \(value.typeName)"))
            return nil
        }
        return FieldReader(members, dateRange: requestDates(today: today))
    }

    /// A reader of a nested object, with this one's bounds.
    func nested(_ members: [String: JSONValue], at path: String) -> FieldReader {
        FieldReader(members, path: path, amountLimit: amountLimit, dateRange: dateRange)
    }

    /// The earliest date a caller may send.
    public static let earliestDate = CalendarDate(year: 1980, month: 1, day: 1)!

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
            // A whole number too large for Int64 arrives as a double: it is out of range,
            // not "not an integer".
            if case .number(let double) = value, double.rounded() == double,
               double < Double(range.lowerBound) || double > Double(range.upperBound) {
                errors.append(FieldError(field: field, message: "must be between \(range.lowerBound) and \(range.upperBound)"))
            } else {
                errors.append(FieldError(field: field, message: "must be an integer, not \(value.typeName)"))
            }
            return nil
        }
        guard range.contains(number) else {
            errors.append(FieldError(field: field, message: "must be between \(range.lowerBound) and \(range.upperBound)"))
            return nil
        }
        return number
    }

    /// An amount of money in minor units; outside 0...`maximum` (by default this
    /// reader's `amountLimit`) is `amount-out-of-range`.
    public func amount(_ key: String, maximum: Int64? = nil, required: Bool = true, errors: inout [FieldError]) -> Int64? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        return Self.amount(value, at: fieldPath(key), maximum: maximum ?? amountLimit, errors: &errors)
    }

    public static func amount(
        _ value: JSONValue, at field: String, maximum: Int64 = Money.inputMaximum, errors: inout [FieldError]
    ) -> Int64? {
        let outOfRange = FieldError(
            field: field, message: "must be between 0 and \(maximum) minor units", code: .amountOutOfRange)
        guard case .integer(let number) = value else {
            // A whole number beyond Int64 (10^20) is read as a double: too large, not "not an integer".
            if case .number(let double) = value, double.rounded() == double, double < 0 || double > Double(maximum) {
                errors.append(outOfRange)
            } else {
                errors.append(FieldError(
                    field: field, message: "must be an integer number of minor units, not \(value.typeName)"))
            }
            return nil
        }
        guard (0...maximum).contains(number) else {
            errors.append(outOfRange)
            return nil
        }
        return number
    }

    /// Several amounts whose sum is a total of a case (liens, credits): each within the
    /// input bound, and together within `Money.maximum`.
    public static func ensureTotal(_ amounts: [Int64], field: String, errors: inout [FieldError]) {
        guard Money.total(amounts) == nil else { return }
        errors.append(FieldError(
            field: field, message: "together must not pass \(Money.maximum) minor units", code: .amountOutOfRange))
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
        // Counted as PostgreSQL counts (code points): 200 family emoji are 1 000 of them.
        guard trimmed.unicodeScalars.count <= maxLength else {
            errors.append(FieldError(
                field: fieldPath(key), message: "must be at most \(maxLength) characters (Unicode code points)"))
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
        choice(key, among: Array(T.allCases), required: required, errors: &errors)
    }

    /// One of `options` (a part of an enum's cases).
    public func choice<T: RawRepresentable>(
        _ key: String, among options: [T], required: Bool = true, errors: inout [FieldError]
    ) -> T? where T.RawValue == String {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        let allowed = options.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = value, let choice = T(rawValue: text), options.contains(where: { $0.rawValue == text }) else {
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
        return nested(members, at: fieldPath(key))
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
            readers.append(nested(members, at: at))
        }
        return failed ? nil : readers
    }

    public func date(_ key: String, required: Bool = true, errors: inout [FieldError]) -> CalendarDate? {
        guard let value = present(key, required: required, errors: &errors) else { return nil }
        guard case .string(let text) = value, let date = CalendarDate(iso: text) else {
            errors.append(FieldError(field: fieldPath(key), message: "must be a date YYYY-MM-DD"))
            return nil
        }
        if let dateRange, !dateRange.contains(date) {
            errors.append(FieldError(
                field: fieldPath(key), message: "must be between \(dateRange.lowerBound) and \(dateRange.upperBound)"))
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
