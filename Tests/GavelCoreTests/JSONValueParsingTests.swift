import Foundation
import GavelCore
import Testing

/// `JSONValue(parsing:)` replaces JSONDecoder on every request body: on well-formed and
/// broken texts alike it must answer what JSONDecoder answered.
@Suite("JSON bodies read without JSONDecoder")
struct JSONValueParsingTests {
    static func foundation(_ text: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text))
    }

    static let numbers = [
        "0", "-0", "5", "-17", "5.0", "2.50", "1e2", "1E+2", "0.5e1", "1e-2", "-1.25e-3", "100.0", "1.5e3",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "12345678901234567890",
        "3.141592653589793", "1e308", "1e400", "-1e-400", "01", "1.", ".5", "+1", "-", "1e", "0x10",
    ]
    static let strings = [
        #""""#, #""plain""#, #""a\"b""#, #""back\\slash""#, #""\/""#, #""\b\f\n\r\t""#, #""\u0041\u00e9\u4e2d""#,
        #""\ud83d\ude97""#, #""\ud800""#, #""\udc00x""#, #""\u12""#, #""\x""#, "\"é€李🚗\"", "\"tab\there\"", #""\u0000""#,
    ]

    static func randomText(_ random: inout SplitMix64, depth: Int) -> String {
        func space() -> String { ["", " ", "\n", "\t ", "\r\n"].randomElement(using: &random)! }
        switch Int.random(in: 0...(depth > 3 ? 3 : 5), using: &random) {
        case 0: return numbers.randomElement(using: &random)!
        case 1: return strings.randomElement(using: &random)!
        case 2: return ["true", "false", "null", "nul", "True"].randomElement(using: &random)!
        case 3: return numbers.randomElement(using: &random)!
        case 4:
            let elements = (0..<Int.random(in: 0...3, using: &random)).map { _ in space() + randomText(&random, depth: depth + 1) + space() }
            return "[" + elements.joined(separator: ",") + (Bool.random(using: &random) && !elements.isEmpty ? "," : "") + "]"
        default:
            // Distinct keys: JSONDecoder never reads the value of a repeated key, so it lets
            // a broken one through; this parser refuses it (the edges below pin the rest).
            let keys = ["\"a\"", "\"b\"", "\"k\\u0065y\"", "\"\""].shuffled(using: &random)
            let members = keys.prefix(Int.random(in: 0...3, using: &random)).map { key in
                space() + key + space() + ":" + space() + randomText(&random, depth: depth + 1) + space()
            }
            return "{" + members.joined(separator: ",") + (Int.random(in: 0..<4, using: &random) == 0 && !members.isEmpty ? "," : "") + "}"
        }
    }

    @Test("well-formed and broken documents read as JSONDecoder reads them")
    func sameAsFoundation() {
        var random = SplitMix64(seed: 2026_12_01)
        var compared = 0, refused = 0
        for _ in 0..<4_000 {
            var text = Array(Self.randomText(&random, depth: 0).utf8)
            if Bool.random(using: &random) { text = [0x20] + text + [0x0A] }
            // Half of them broken at one byte: cut, doubled, replaced.
            if Bool.random(using: &random), !text.isEmpty {
                let at = Int.random(in: 0..<text.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: text.remove(at: at)
                case 1: text.insert(text[at], at: at)
                default: text[at] = [UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "\""), 0xFF, 0x01, UInt8(ascii: "\\")].randomElement(using: &random)!
                }
            }
            let expected = Self.foundation(text)
            #expect(JSONValue(parsing: text) == expected, "\(String(decoding: text, as: UTF8.self))")
            compared += 1
            if expected == nil { refused += 1 }
        }
        // Both kinds were compared in numbers.
        #expect(refused > 500 && compared - refused > 500)
    }

    @Test("the edges: byte order mark, depth, trailing text, empty input")
    func edges() {
        #expect(JSONValue(parsing: Array("\u{FEFF}{\"a\":1}".utf8)) == .object(["a": .integer(1)]))
        #expect(JSONValue(parsing: [UInt8]()) == nil)
        #expect(JSONValue(parsing: Array("[1] x".utf8)) == nil)
        #expect(JSONValue(parsing: Array("{\"a\":1,\"a\":2}".utf8)) == .object(["a": .integer(1)]))
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(JSONValue(parsing: Array(deep.utf8)) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONValue(parsing: Array(fine.utf8)) == Self.foundation(Array(fine.utf8)))
        // Not contiguous: read all the same.
        #expect(JSONValue(parsing: "[true]".utf8.reversed().reversed()) == .array([.bool(true)]))
    }
}
