import Foundation
import GavelCore
import Hummingbird

/// API answers as values the templates render: objects as dictionaries without their
/// nulls, and beside every integer `<name>Text` (as money: 1,234.56) and beside every
/// timestamp `<name>Text` (2026-11-30 19:26 UTC), so that templates print amounts the way
/// the statements do and never do arithmetic.
enum ConsoleView {
    static func model(_ value: JSONValue) -> Any {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag
        case .integer(let number): return String(number)
        case .number(let number): return String(number)
        case .string(let text): return text
        case .array(let elements): return elements.map(model)
        case .object(let members):
            var dictionary: [String: Any] = [:]
            for (key, member) in members {
                switch member {
                case .null: continue
                case .integer(let number):
                    dictionary[key] = String(number)
                    dictionary[key + "Text"] = Money.display(number)
                case .string(let text):
                    dictionary[key] = text
                    if let shown = timestamp(text) { dictionary[key + "Text"] = shown }
                    // An ID in a table reads by its start, as in a bank's reference column.
                    if key == "id" || key.hasSuffix("Id"), text.utf8.count == 36 { dictionary[key + "Short"] = String(text.prefix(8)) }
                default:
                    dictionary[key] = model(member)
                }
            }
            return dictionary
        }
    }

    static func items(_ answer: JSONValue) -> [Any] {
        (answer["items"]?.elements ?? answer.elements ?? []).map(model)
    }

    /// `2026-11-30T19:26:22Z` as `2026-11-30 19:26 UTC`; anything else is not a timestamp.
    static func timestamp(_ text: String) -> String? {
        let scalars = Array(text.utf8)
        guard scalars.count >= 20, scalars.count <= 30, scalars[10] == UInt8(ascii: "T"), text.hasSuffix("Z"),
              scalars[4] == UInt8(ascii: "-"), scalars[13] == UInt8(ascii: ":") else { return nil }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }
}

/// One input of a console form, named by the API field it fills (`borrower.name`,
/// `comparables[0].price`), so that a field error the API answers lands beside it.
struct ConsoleField: Sendable {
    enum Kind: Sendable, Equatable {
        case text, money, integer, decimal, date, datetime, textarea, checkbox, password
        case choice([String])
    }

    var name: String
    var label: String
    var kind: Kind = .text
    var required = false
    var hint: String?

    var id: String {
        "f-" + String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}

/// A form the user sent back: its values as typed, and what was wrong with them.
struct ConsoleFormState: Sendable {
    var form: String
    var values: [String: String]
    var errors: [String: String] = [:]
    /// Errors that name no field of the form, and the problem's own detail.
    var summary: [String] = []
}

enum ConsoleForms {
    /// The JSON body the API takes, from the typed values: amounts as minor units, a
    /// `datetime-local` as UTC, paths with dots and `[n]` as nested objects and arrays.
    /// A blank input is left out. What cannot be read is an error beside its field.
    static func body(_ fields: [ConsoleField], _ values: [String: String], words: [String: String]) -> (JSONValue, [String: String]) {
        var root: JSONValue = .object([:])
        var errors: [String: String] = [:]
        for field in fields {
            let raw = (values[field.name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            var value: JSONValue?
            switch field.kind {
            case .checkbox:
                value = .bool(values[field.name] != nil)
            case _ where raw.isEmpty:
                value = nil
            case .money:
                if let minor = minorUnits(raw) { value = .integer(minor) } else { errors[field.name] = words["badAmount"] }
            case .integer:
                if let number = Int64(raw.replacingOccurrences(of: ",", with: "")) { value = .integer(number) } else { errors[field.name] = words["badInteger"] }
            case .decimal:
                if let number = Double(raw), number.isFinite {
                    value = number.rounded() == number && abs(number) < 1e15 ? .integer(Int64(number)) : .number(number)
                } else { errors[field.name] = words["badNumber"] }
            case .datetime:
                // `datetime-local` has no zone: the console's times are UTC, as its labels say.
                value = .string(raw.count == 16 ? raw + ":00Z" : raw.hasSuffix("Z") ? raw : raw + "Z")
            default:
                value = .string(raw)
            }
            if let value { set(&root, path: path(field.name), value) }
        }
        return (root, errors)
    }

    /// `1,234.56`, `1234.5`, `1234` as minor units; more than two decimals is not an amount.
    static func minorUnits(_ text: String) -> Int64? {
        let plain = text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: " ", with: "")
        let parts = plain.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let wholeText = parts.first, !wholeText.isEmpty, wholeText.allSatisfy(\.isASCII),
              let whole = Int64(wholeText), whole >= 0, whole < 100_000_000_000_000 else { return nil }
        var cents: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...2).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int64(fraction) else { return nil }
            cents = fraction.count == 1 ? number * 10 : number
        }
        return whole * 100 + cents
    }

    enum Step { case key(String), index(Int) }

    static func path(_ name: String) -> [Step] {
        var steps: [Step] = []
        for part in name.split(separator: ".") {
            var rest = Substring(part)
            if let open = rest.firstIndex(of: "[") {
                steps.append(.key(String(rest[..<open])))
                rest = rest[open...]
                while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    steps.append(.index(Int(rest[rest.index(after: rest.startIndex)..<close]) ?? 0))
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                steps.append(.key(String(rest)))
            }
        }
        return steps
    }

    static func set(_ node: inout JSONValue, path: [Step], _ value: JSONValue) {
        guard let first = path.first else {
            node = value
            return
        }
        let rest = Array(path.dropFirst())
        switch first {
        case .key(let key):
            var members: [String: JSONValue] = if case .object(let existing) = node { existing } else { [:] }
            var child = members[key] ?? (rest.first.map { if case .index = $0 { JSONValue.array([]) } else { .object([:]) } } ?? .null)
            set(&child, path: rest, value)
            members[key] = child
            node = .object(members)
        case .index(let index):
            var elements: [JSONValue] = if case .array(let existing) = node { existing } else { [] }
            while elements.count <= index { elements.append(.object([:])) }
            set(&elements[index], path: rest, value)
            node = .array(elements)
        }
    }

    /// The fields as the `fields` partial renders them, with what was typed and the error
    /// beside each.
    /// `form` names a form a page repeats (one per vehicle, per invoice): its fields' IDs
    /// carry it, so that every label points at its own input.
    static func render(
        _ fields: [ConsoleField], state: ConsoleFormState?, defaults: [String: String] = [:], words: [String: String], form: String = ""
    ) -> [[String: Any]] {
        fields.map { field in
            let id = form.isEmpty ? field.id : "f-" + String(form.map { $0.isLetter || $0.isNumber ? $0 : "-" }) + "-" + field.id.dropFirst(2)
            let value = state?.values[field.name] ?? defaults[field.name] ?? ""
            let error = state?.errors[field.name]
            // Every key is set, false when it does not apply: Mustache would otherwise look a
            // missing one up in the enclosing sections (a vehicle's, a lot's).
            var row: [String: Any] = [
                "id": id, "name": field.name, "label": field.label, "value": value, "required": field.required,
                "error": error ?? false, "hint": field.hint ?? false, "isTextarea": false, "isCheckbox": false, "isChoice": false,
                "isInput": false, "checked": false, "options": [Any](), "type": "text", "inputmode": false,
            ]
            switch field.kind {
            case .textarea: row["isTextarea"] = true
            case .checkbox:
                row["isCheckbox"] = true
                row["checked"] = state.map { $0.values[field.name] != nil } ?? (defaults[field.name] == "on")
            case .choice(let options):
                row["isChoice"] = true
                row["options"] = options.map { option in
                    ["value": option, "label": words["option." + option] ?? option, "selected": option == value] as [String: Any]
                }
            default:
                row["isInput"] = true
                row["type"] = switch field.kind {
                case .date: "date"
                case .datetime: "datetime-local"
                case .password: "password"
                case .integer: "number"
                default: "text"
                }
                if field.kind == .money || field.kind == .decimal { row["inputmode"] = "decimal" }
            }
            return row
        }
    }

    /// The API's refusal as a form state: field errors beside their fields, the rest above.
    static func refused(_ problem: Problem, form: String, fields: [ConsoleField], values: [String: String]) -> ConsoleFormState {
        var state = ConsoleFormState(form: form, values: values)
        let names = Set(fields.map(\.name))
        for error in problem.errors {
            // An error about a whole object ("borrower is required") stands beside its first field.
            let field = names.contains(error.field) ? error.field
                : fields.first { $0.name.hasPrefix(error.field + ".") || $0.name.hasPrefix(error.field + "[") }?.name ?? error.field
            if names.contains(field), state.errors[field] == nil {
                state.errors[field] = error.message
            } else {
                state.summary.append(error.field.isEmpty ? error.message : "\(error.field): \(error.message)")
            }
        }
        if problem.errors.isEmpty || !state.summary.isEmpty || state.errors.isEmpty {
            state.summary.insert(problem.detail.isEmpty ? problem.title : problem.title + ": " + problem.detail, at: 0)
        }
        return state
    }
}
