import Foundation
import GavelCore
import Testing

@Suite("Money arithmetic (domain rules section 1)")
struct MoneyTests {
    @Test("mulBp rounds half up", arguments: [
        (Int64(10_000), Int64(7_000), Int64(7_000)),
        (8_416_800, 7_000, 5_891_760),
        (8_416_800, 9_000, 7_575_120),
        (8_000_000, 500, 400_000),
        (1, 5_000, 1),       // 0.5 rounds up
        (1, 4_999, 0),       // 0.4999 rounds down
        (3, 5_000, 2),       // 1.5 rounds up
        (0, 10_000, 0),
    ])
    func mulBp(amount: Int64, bp: Int64, expected: Int64) {
        #expect(Money.mulBp(amount, bp) == expected)
    }

    @Test("ceilTo rounds up to the unit", arguments: [
        (Int64(5_891_760), Int64(10_000), Int64(5_900_000)),
        (7_575_120, 10_000, 7_580_000),
        (5_900_000, 10_000, 5_900_000),
        (0, 10_000, 0),
        (1, 10_000, 10_000),
    ])
    func ceilTo(amount: Int64, unit: Int64, expected: Int64) {
        #expect(Money.ceilTo(amount, unit: unit) == expected)
    }

    @Test("arithmetic at and past the bounds reports overflow instead of trapping")
    func overflowIsReported() {
        #expect(Money.mulBp(Money.maximum, 10_000) == Money.maximum)
        #expect(Money.mulBp(Money.maximum, 20_000) == 2 * Money.maximum)
        #expect(Money.mulBp(.max, 2) == nil)
        #expect(Money.mulBp(.max / 10_000, 10_000) != nil)
        #expect(Money.ceilTo(.max, unit: 10_000) == nil)
        #expect(Money.ceilTo(Money.maximum, unit: 10_000) == Money.maximum)
    }

    @Test("amount bounds are 0...10^13")
    func bounds() {
        #expect(Money.isInRange(0))
        #expect(Money.isInRange(10_000_000_000_000))
        #expect(!Money.isInRange(10_000_000_000_001))
        #expect(!Money.isInRange(-1))
    }

    @Test("mulBp never traps over the whole bounded range", arguments: 0..<200)
    func mulBpTotal(seed: Int) {
        var generator = SplitMix64(seed: UInt64(seed))
        let amount = Int64.random(in: Money.range, using: &generator)
        let bp = Int64.random(in: 0...20_000, using: &generator)
        let result = Money.mulBp(amount, bp)
        #expect(result != nil)
        // Half-up: the result is within half a minor unit of the exact product.
        if let result {
            #expect(result * 10_000 - amount * bp <= 5_000)
            #expect(amount * bp - result * 10_000 < 5_000)
        }
    }
}

/// A small deterministic generator, so property tests replay exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Amounts for people")
struct MoneyDisplayTests {
    @Test("major units, two places, thousands separated")
    func display() {
        #expect(Money.display(843_000_000) == "8,430,000.00")
        #expect(Money.display(525_000) == "5,250.00")
        #expect(Money.display(7) == "0.07")
        #expect(Money.display(-155_500_000) == "-1,555,000.00")
        #expect(Money.display(0) == "0.00")
        #expect(Money.display(Money.maximum) == "100,000,000,000.00")
    }
}

struct TestFailure: Error { let reason: String; init(_ reason: String) { self.reason = reason } }

@Suite("Amounts as a caller writes them")
struct AmountReadingTests {
    func read(_ json: String) throws -> [FieldError] {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"amount": \#(json)}"#.utf8))
        var errors: [FieldError] = []
        guard case .object(let members) = value else { throw TestFailure("not an object") }
        _ = FieldReader(members).amount("amount", errors: &errors)
        return errors
    }

    @Test("past Int64 is out of range; a fraction or a float within range is not an integer; the bound itself is taken")
    func reading() throws {
        #expect(try read("100000000000000000000").map(\.code) == [.amountOutOfRange])
        #expect(try read("-100000000000000000000").map(\.code) == [.amountOutOfRange])
        #expect(try read("1000000000001").map(\.code) == [.amountOutOfRange])
        #expect(try read("-1").map(\.code) == [.amountOutOfRange])
        #expect(try read("1.5").map(\.message).first?.contains("integer") == true)
        #expect(try read("1000000000000").isEmpty)
        #expect(try read("0").isEmpty)
    }
}
