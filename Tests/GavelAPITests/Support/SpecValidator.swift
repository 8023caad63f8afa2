import Foundation
import GavelCore
import GavelStore
@testable import GavelAPI
import Yams

/// Checks an answer against `Docs/openapi.yaml`: the operation's schema for that status
/// and media type (a problem against `Problem` wherever the spec does not say more).
/// Every answer the harness receives goes through it, so the spec cannot drift from the
/// answers: a member the spec does not list, a type or an enum it does not allow, a
/// required member missing, a status with no JSON described, each fails the test that
/// received it.
///
/// The subset of OpenAPI 3.0 the spec uses: `$ref`, `allOf`, `type`, `nullable`,
/// `properties`/`required`/`additionalProperties`, `items`, `enum`, and the formats
/// `uuid`, `date` and `date-time`. An object schema that lists properties is closed
/// unless it says `additionalProperties`.
final class SpecValidator: @unchecked Sendable {
    // Immutable after init: the parsed YAML, read from many tests at once.
    private let document: [String: Any]
    private let paths: [(template: [String], key: String)]

    static let shared: SpecValidator = {
        do {
            return try SpecValidator(path: repositoryRoot + "/Docs/openapi.yaml")
        } catch {
            fatalError("Docs/openapi.yaml does not parse: \(error)")
        }
    }()

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let document = try Yams.load(yaml: text) as? [String: Any] else {
            throw TestSetupError("Docs/openapi.yaml is not a mapping")
        }
        self.document = document
        let keys = (document["paths"] as? [String: Any])?.keys ?? [:].keys
        paths = keys.map { (template: $0.split(separator: "/").map(String.init), key: $0) }
    }

    /// What is wrong with the answer, empty when it matches.
    func problems(method: String, path: String, status: Int, contentType: String?, body: String) -> [String] {
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType, mediaType == "application/json" || mediaType == "application/problem+json" else { return [] }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) else {
            return ["the \(mediaType) answer is not JSON"]
        }
        let problemSchema: Any = ["$ref": "#/components/schemas/Problem"]
        guard let operation = operation(method: method, path: path) else {
            // No such route: whatever it is, it is a problem.
            return mediaType == "application/problem+json"
                ? validate(value, problemSchema, at: "$") : ["\(status) \(mediaType) for a route the spec does not have"]
        }
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard let declared = responses[String(status)] ?? responses["default"] else {
            // Statuses any route may answer (405, 408, 413, 429, 503, 500) are problems.
            return mediaType == "application/problem+json"
                ? validate(value, problemSchema, at: "$") : ["status \(status) is not in the spec for this operation"]
        }
        let response = resolve(declared) as? [String: Any] ?? [:]
        let content = response["content"] as? [String: Any] ?? [:]
        guard let media = content[mediaType] as? [String: Any], let schema = media["schema"] else {
            if mediaType == "application/problem+json" { return validate(value, problemSchema, at: "$") }
            return ["status \(status) answers \(mediaType), which the spec does not describe for it"]
        }
        return validate(value, schema, at: "$")
    }

    private func operation(method: String, path: String) -> [String: Any]? {
        let segments = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/").map(String.init) } ?? []
        // The most literal template wins: /v1/lots/{id}/bids over /v1/lots/{id}/{x}.
        let candidates = paths.filter { entry in
            entry.template.count == segments.count
                && zip(entry.template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.sorted { $0.template.filter { $0.hasPrefix("{") }.count < $1.template.filter { $0.hasPrefix("{") }.count }
        for candidate in candidates {
            let item = (document["paths"] as? [String: Any])?[candidate.key] as? [String: Any]
            if let operation = item?[method.lowercased()] as? [String: Any] { return operation }
        }
        return nil
    }

    private func resolve(_ node: Any) -> Any {
        guard let object = node as? [String: Any], let ref = object["$ref"] as? String, ref.hasPrefix("#/") else { return node }
        var current: Any = document
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let next = (current as? [String: Any])?[String(part)] else { return [:] as [String: Any] }
            current = next
        }
        return resolve(current)
    }

    private func validate(_ value: JSONValue, _ node: Any, at path: String) -> [String] {
        guard var schema = resolve(node) as? [String: Any] else { return [] }
        if let parts = schema["allOf"] as? [Any] {
            // One object made of its parts: their members together are the ones allowed.
            schema = parts.reduce(into: schema.filter { $0.key != "allOf" }) { merged, part in
                guard let part = resolve(part) as? [String: Any] else { return }
                for (key, value) in part where key != "properties" && key != "required" { merged[key] = merged[key] ?? value }
                merged["properties"] = (merged["properties"] as? [String: Any] ?? [:])
                    .merging(part["properties"] as? [String: Any] ?? [:]) { first, _ in first }
                merged["required"] = (merged["required"] as? [String] ?? []) + (part["required"] as? [String] ?? [])
            }
        }
        if value == .null {
            return (schema["nullable"] as? Bool) == true || schema["type"] == nil ? [] : ["\(path) is null, which the spec does not allow"]
        }
        var found: [String] = []
        if let allowed = schema["enum"] as? [Any] {
            let texts = allowed.map { "\($0)" }
            let text: String? = switch value {
            case .string(let s): s
            case .integer(let n): String(n)
            default: nil
            }
            if let text, !texts.contains(text) { found.append("\(path) is \(text), not one of \(texts.joined(separator: ", "))") }
        }
        switch (schema["type"] as? String, value) {
        case (let type, .object(let members)) where type == "object" || (type == nil && schema["properties"] != nil):
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] where members[name] == nil {
                found.append("\(path).\(name) is required and missing")
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let property = properties[name] {
                    found += validate(member, property, at: "\(path).\(name)")
                } else if let additional = schema["additionalProperties"] {
                    if let open = additional as? Bool {
                        if !open { found.append("\(path).\(name) is not in the spec") }
                    } else {
                        found += validate(member, additional, at: "\(path).\(name)")
                    }
                } else if !properties.isEmpty {
                    found.append("\(path).\(name) is not in the spec")
                }
            }
        case ("array", .array(let elements)):
            if let items = schema["items"] {
                for (index, element) in elements.enumerated() { found += validate(element, items, at: "\(path)[\(index)]") }
            }
        case ("string", .string(let text)):
            switch schema["format"] as? String {
            case "uuid" where UUID(uuidString: text) == nil || text != text.lowercased():
                found.append("\(path) is not a lowercase UUID: \(text)")
            case "date" where CalendarDate(iso: text) == nil:
                found.append("\(path) is not a date: \(text)")
            case "date-time" where ISO8601DateFormatter().date(from: text) == nil:
                found.append("\(path) is not an RFC 3339 timestamp: \(text)")
            default: break
            }
        case ("integer", .integer), ("number", .integer), ("number", .number), ("boolean", .bool):
            break
        case (nil, _):
            break
        case (let type?, _):
            found.append("\(path) should be \(type): \(JSONText.encode(value).prefix(80))")
        }
        return found
    }
}
