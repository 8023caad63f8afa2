import Foundation

// An answer becomes an audit record's document, and the document becomes the row's text,
// on every audited change. Both went through Foundation's JSON coders (an answer encoded
// to text, parsed back, encoded again): a tenth of a payment's CPU in Gavel
// (Docs/benchmarks.md). These build the same values directly.

extension JSONValue {
    /// The document `value` encodes to: what `JSONEncoder` would write, read back as a
    /// `JSONValue` (dates as ISO 8601 instants, whole floating-point numbers as integers,
    /// a value that encodes nothing as an empty object, which JSONEncoder refuses only at
    /// the top).
    public init(encoding value: some Encodable) throws {
        if let scalar = JSONValueNode.scalar(value) {
            self = scalar
            return
        }
        let root = JSONValueNode()
        try value.encode(to: JSONValueNodeEncoder(node: root, codingPath: []))
        self = root.value
    }

    /// Compact JSON text with sorted keys and unescaped slashes: what JSONEncoder writes
    /// with those options.
    public var compactText: String {
        var text = ""
        write(to: &text)
        return text
    }

    private func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .integer(let value): text += String(value)
        case .number(let value): text += Self.numberText(value)
        case .string(let value): Self.writeQuoted(value, to: &text)
        case .array(let elements):
            text += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { text += "," }
                element.write(to: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                Self.writeQuoted(key, to: &text)
                text += ":"
                members[key]!.write(to: &text)
            }
            text += "}"
        }
    }

    /// A number as JSONEncoder writes it (its digits are its own; numbers with a fraction
    /// are rare in Gavel's documents, so it is asked for each).
    static func numberText(_ value: Double) -> String {
        guard value.isFinite, let data = try? JSONEncoder().encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON string literal (RFC 8259: quote, backslash and control characters escaped),
    /// appended to `text`; the JSON log lines write theirs with it too.
    public static func writeQuoted(_ value: String, to text: inout String) {
        text += "\""
        // Nearly every string needs no escape: appended whole, not scalar by scalar.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            text += value
            text += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

/// A value under construction: objects and arrays hold nodes so that nested containers,
/// handed out before they are filled, write into their parent.
final class JSONValueNode {
    private var scalar: JSONValue?
    private var members: [String: JSONValueNode]?
    private var elements: [JSONValueNode]?

    var value: JSONValue {
        if let scalar { return scalar }
        if let elements { return .array(elements.map(\.value)) }
        return .object((members ?? [:]).mapValues(\.value))
    }

    /// Values `JSONEncoder` writes itself rather than through their own `encode(to:)`.
    static func scalar(_ value: some Encodable) -> JSONValue? {
        switch value {
        case let json as JSONValue: json
        case let string as String: .string(string)
        case let bool as Bool: .bool(bool)
        case let date as Date: .string(date.formatted(.iso8601))
        case let url as URL: .string(url.absoluteString)
        case let double as Double: number(double)
        case let float as Float: number(Double("\(float)") ?? Double(float))
        case let integer as any FixedWidthInteger:
            Int64(exactly: integer).map(JSONValue.integer) ?? .number(Double(integer))
        default: nil
        }
    }

    /// `JSONEncoder` writes 3.0 as `3`, which reads back as an integer.
    static func number(_ value: Double) -> JSONValue {
        if value.rounded() == value, let integer = Int64(exactly: value) { return .integer(integer) }
        return .number(value)
    }

    func set(_ value: JSONValue) {
        scalar = value
        members = nil
        elements = nil
    }

    func set(_ value: some Encodable, codingPath: [any CodingKey]) throws {
        if let scalar = Self.scalar(value) {
            set(scalar)
        } else {
            try value.encode(to: JSONValueNodeEncoder(node: self, codingPath: codingPath))
        }
    }

    func member(_ key: String) -> JSONValueNode {
        becomeObject()
        if let node = members![key] { return node }
        let node = JSONValueNode()
        members![key] = node
        return node
    }

    func appended() -> JSONValueNode {
        becomeArray()
        let node = JSONValueNode()
        elements!.append(node)
        return node
    }

    var count: Int { elements?.count ?? 0 }

    func becomeObject() {
        guard members == nil else { return }
        (scalar, elements, members) = (nil, nil, [:])
    }

    func becomeArray() {
        guard elements == nil else { return }
        (scalar, members, elements) = (nil, nil, [])
    }
}

struct JSONValueNodeEncoder: Encoder {
    let node: JSONValueNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(JSONValueKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return JSONValueUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONValueSingleContainer(node: node, codingPath: codingPath)
    }
}

struct JSONValueKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONValueNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).set(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.member(key.stringValue).set(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = node.member(key.stringValue)
        child.becomeObject()
        return KeyedEncodingContainer(JSONValueKeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.member(key.stringValue)
        child.becomeArray()
        return JSONValueUnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        JSONValueNodeEncoder(node: node.member("super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        JSONValueNodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

struct JSONValueUnkeyedContainer: UnkeyedEncodingContainer {
    let node: JSONValueNode
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws { node.appended().set(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.appended().set(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appended()
        child.becomeObject()
        return KeyedEncodingContainer(JSONValueKeyedContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appended()
        child.becomeArray()
        return JSONValueUnkeyedContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { JSONValueNodeEncoder(node: node.appended(), codingPath: codingPath) }
}

struct JSONValueSingleContainer: SingleValueEncodingContainer {
    let node: JSONValueNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.set(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.set(value, codingPath: codingPath) }
}
