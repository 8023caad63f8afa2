import Foundation
import GavelCore
import Testing

/// `JSONValue(encoding:)` and `compactText` replace a round trip through Foundation's
/// coders on every audited change: they must give what that round trip gave.
@Suite("JSON documents without a round trip through text")
struct JSONValueEncodingTests {
    static func foundationText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func roundTrip(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(try foundationText(value).utf8))
    }

    struct Party: Encodable {
        var name: String
        var share: Double
        var cap: Int64?
    }

    struct Statement: Encodable {
        var id: UUID
        var at: Date
        var lines: [Int64]
        var parties: [Party]
        var byAccount: [String: Int64]
        var note: String?
        var grade: Float
        var flags: [Bool]
        var nested: [[String]]
        var empty: [String: String]
    }

    /// Writes `null` for a missing member, as the answers' `@Nullable` does.
    struct ExplicitNull: Encodable {
        var value: String?
        enum CodingKeys: String, CodingKey { case value, list }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if let value { try container.encode(value, forKey: .value) } else { try container.encodeNil(forKey: .value) }
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encodeNil()
            try list.encode(UInt8(7))
            var inner = list.nestedContainer(keyedBy: CodingKeys.self)
            try inner.encode("x", forKey: .value)
        }
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    @Test("a value encodes to the document its JSON text reads back as")
    func encodingMatchesRoundTrip() throws {
        let statement = Statement(
            id: UUID(), at: Date(timeIntervalSince1970: 1_790_000_000), lines: [1, -2, Int64.max],
            parties: [.init(name: "Bank \"B\" / branch\n", share: 0.125, cap: nil), .init(name: "Li", share: 3.0, cap: 5)],
            byAccount: ["1100": 5, "4000": -5], note: nil, grade: 3.5, flags: [true, false], nested: [[], ["a"]], empty: [:])
        #expect(try JSONValue(encoding: statement) == Self.roundTrip(statement))
        #expect(try JSONValue(encoding: ExplicitNull(value: nil)) == Self.roundTrip(ExplicitNull(value: nil)))
        #expect(try JSONValue(encoding: ExplicitNull(value: "v")) == Self.roundTrip(ExplicitNull(value: "v")))
        // JSONEncoder refuses a top-level value that writes nothing; inside, it is an empty object.
        #expect(try JSONValue(encoding: ["inner": Nothing()]) == Self.roundTrip(["inner": Nothing()]))
        #expect(try JSONValue(encoding: [Party(name: "a", share: 1, cap: 1)]) == Self.roundTrip([Party(name: "a", share: 1, cap: 1)]))
        #expect(try JSONValue(encoding: "alone") == .string("alone"))
        #expect(try JSONValue(encoding: 2.5) == .number(2.5))
        #expect(try JSONValue(encoding: 2.0) == .integer(2))
        // A member left out when nil is absent, not null.
        #expect(try JSONValue(encoding: statement)["note"] == nil)
        #expect(try JSONValue(encoding: ExplicitNull(value: nil))["value"] == .null)
    }

    static func randomString(_ random: inout SplitMix64) -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{01}", "\u{1F}", "é", "€", "李", "🚗"]
        return String((0..<Int.random(in: 0...8, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func randomValue(_ random: inout SplitMix64, depth: Int, numbers: Bool) -> JSONValue {
        switch Int.random(in: 0...(depth > 2 ? 4 : 6), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &random))
        case 3: return numbers ? .number(Double.random(in: -1e6...1e6, using: &random)) : .integer(-1)
        case 4: return .string(randomString(&random))
        case 5: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(&random, depth: depth + 1, numbers: numbers) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                members[randomString(&random)] = randomValue(&random, depth: depth + 1, numbers: numbers)
            }
            return .object(members)
        }
    }

    @Test("compact text is JSONEncoder's text with sorted keys, and reads back as the same value")
    func compactTextMatchesFoundation() throws {
        var random = SplitMix64(seed: 18)
        for _ in 0..<500 {
            let value = Self.randomValue(&random, depth: 0, numbers: false)
            #expect(value.compactText == (try Self.foundationText(value)))
            let withNumbers = Self.randomValue(&random, depth: 0, numbers: true)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(withNumbers.compactText.utf8)) == withNumbers)
        }
        #expect(JSONValue.object(["b": .integer(1), "a": .string("x/y")]).compactText == #"{"a":"x/y","b":1}"#)
        #expect(JSONValue.string("\u{01}\u{1F}").compactText == #""\u0001\u001f""#)
    }
}
