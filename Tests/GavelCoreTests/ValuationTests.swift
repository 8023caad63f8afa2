import GavelCore
import Testing

func date(_ text: String) -> CalendarDate { CalendarDate(iso: text)! }

@Suite("Appraisal (domain rules section 3)")
struct ValuationTests {
    /// Test vector A, verbatim.
    static let vectorA = Valuation.Input(
        subjectYear: 2019, subjectMileageKm: 86_000, gradeTenths: 35,
        damages: [.init(item: "front bumper", repairCost: 180_000), .init(item: "windscreen", repairCost: 120_000)],
        comparables: [
            .init(price: 9_200_000, year: 2019, mileageKm: 80_000, soldOn: date("2026-10-01")),
            .init(price: 10_500_000, year: 2020, mileageKm: 60_000, soldOn: date("2026-09-15")),
            .init(price: 7_800_000, year: 2018, mileageKm: 110_000, soldOn: date("2026-08-20")),
        ],
        valuationDate: date("2026-11-01"))

    @Test("test vector A")
    func vectorA() throws {
        let result = try Valuation.appraise(Self.vectorA, policy: Policy.defaults.valuation)
        #expect(result.comparables.map(\.adjustedPrice) == [9_080_000, 8_720_000, 9_216_000])
        #expect(result.comparables.allSatisfy { $0.used })
        #expect(result.baseValue == 9_080_000)
        #expect(result.conditionBp == 9_600)
        #expect(result.damageTotal == 300_000)
        #expect(result.marketValue == 8_416_800)
        #expect(result.liquidationValue == 6_312_600)
    }

    @Test("comparables after the valuation date or older than the window do not count")
    func window() throws {
        var input = Self.vectorA
        input.comparables += [
            .init(price: 1, year: 2019, mileageKm: 86_000, soldOn: date("2026-11-02")),
            .init(price: 1, year: 2019, mileageKm: 86_000, soldOn: date("2026-05-04")),  // 181 days before
        ]
        let result = try Valuation.appraise(input, policy: Policy.defaults.valuation)
        #expect(result.baseValue == 9_080_000)
        #expect(result.comparables.map(\.used) == [true, true, true, false, false])
        // Exactly 180 days before still counts.
        input.comparables[4].soldOn = date("2026-05-05")
        #expect(try Valuation.appraise(input, policy: Policy.defaults.valuation).comparables[4].used)
    }

    @Test("fewer counted comparables than the minimum is insufficient-comparables")
    func insufficient() {
        var input = Self.vectorA
        input.comparables[0].soldOn = date("2027-01-01")
        #expect(throws: Valuation.Failure.insufficientComparables(counted: 2, required: 3)) {
            try Valuation.appraise(input, policy: Policy.defaults.valuation)
        }
    }

    @Test("a comparable with a non-positive factor or a negative adjusted value is refused by index")
    func refusedComparables() {
        var old = Self.vectorA
        old.comparables[1].year = 2028  // 9 years newer: 10000 - 10800 < 0
        #expect(throws: Valuation.Failure.factorNotPositive(index: 1)) {
            try Valuation.appraise(old, policy: Policy.defaults.valuation)
        }
        var cheap = Self.vectorA
        cheap.comparables[2] = .init(price: 10_000, year: 2019, mileageKm: 0, soldOn: date("2026-10-01"))
        #expect(throws: Valuation.Failure.negativeAdjustedValue(index: 2)) {
            try Valuation.appraise(cheap, policy: Policy.defaults.valuation)
        }
    }

    @Test("median of an even count rounds the middle pair half up")
    func median() {
        #expect(Valuation.median([1, 2]) == 2)
        #expect(Valuation.median([10, 20, 31, 40]) == 26)
        #expect(Valuation.median([5, 1, 3]) == 3)
    }

    @Test("condition interpolation rounds half up", arguments: [
        (Int64(35), Int64(9_600)), (0, 4_500), (50, 10_500), (15, 7_250), (1, 4_700), (33, 9_440),
    ])
    func condition(grade: Int64, expected: Int64) {
        #expect(Valuation.conditionBasisPoints(gradeTenths: grade, curve: Policy.defaults.valuation.conditionCurve) == expected)
    }

    @Test("damage beyond the value leaves a market value of zero")
    func zeroFloor() throws {
        var input = Self.vectorA
        input.damages = [.init(item: "engine", repairCost: 20_000_000)]
        let result = try Valuation.appraise(input, policy: Policy.defaults.valuation)
        #expect(result.marketValue == 0)
        #expect(result.liquidationValue == 0)
    }

    @Test("properties over random appraisals: market >= 0, liquidation <= market, no trap at the bounds", arguments: 0..<300)
    func properties(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        let subjectYear = Int64.random(in: 1980...2027, using: &random)
        let comparables = (0..<Int.random(in: 3...7, using: &random)).map { _ in
            Valuation.Comparable(
                price: Int64.random(in: 0...Money.maximum, using: &random),
                year: Int64.random(in: 1980...2027, using: &random),
                mileageKm: Int64.random(in: 0...2_000_000, using: &random),
                soldOn: date("2026-10-01"))
        }
        let input = Valuation.Input(
            subjectYear: subjectYear, subjectMileageKm: Int64.random(in: 0...2_000_000, using: &random),
            gradeTenths: Int64.random(in: 0...50, using: &random),
            damages: [.init(item: "x", repairCost: Int64.random(in: 0...Money.maximum, using: &random))],
            comparables: comparables, valuationDate: date("2026-11-01"))
        do {
            let result = try Valuation.appraise(input, policy: Policy.defaults.valuation)
            // A value is a price: bounded like every price a caller sends (section 1).
            #expect(result.marketValue <= Money.inputMaximum)
            #expect(result.comparables.compactMap(\.adjustedPrice).allSatisfy { $0 <= Money.inputMaximum })
            #expect(result.damageTotal <= Money.inputMaximum)
            #expect(result.marketValue >= 0)
            #expect(result.liquidationValue <= result.marketValue)
            #expect(result.liquidationValue >= 0)
        } catch {
            // Refusals are values, never traps; each names its comparable.
            switch error {
            case .factorNotPositive(let index), .negativeAdjustedValue(let index), .adjustedValueOutOfRange(let index):
                #expect(index < comparables.count)
            case .insufficientComparables, .overflow, .damagesOutOfRange: break
            }
        }
    }
}

@Suite("Round pricing (domain rules section 4)")
struct RoundPricingTests {
    @Test("test vector B")
    func vectorB() throws {
        let round1 = try RoundPricing.firstRound(marketValue: 8_416_800, policy: .defaults)
        #expect(round1 == .init(start: 5_900_000, reserve: 7_580_000, deposit: 590_000))
        let round2 = try RoundPricing.nextRound(previous: round1, liquidationValue: 6_312_600, policy: .defaults)
        #expect(round2 == .init(start: 4_720_000, reserve: 6_320_000, deposit: 480_000))
    }

    @Test("prc-judicial has no hidden reserve")
    func judicial() throws {
        var policy = Policy.defaults
        policy.ruleset = .prcJudicial
        let round1 = try RoundPricing.firstRound(marketValue: 8_416_800, policy: policy)
        #expect(round1 == .init(start: 5_900_000, reserve: 5_900_000, deposit: 590_000))
        #expect(throws: RoundPricing.Failure.startBelowJudicialFloor(minimum: 5_891_760)) {
            try RoundPricing.override(start: 5_800_000, reserve: 7_000_000, marketValue: 8_416_800, policy: policy)
        }
    }

    @Test("prc-judicial: the deposit stays within 5-20% of the start after rounding, rounded down when up would pass 20%")
    func judicialDeposit() throws {
        var policy = Policy.defaults
        policy.ruleset = .prcJudicial
        policy.pricing.depositBp = 2_000
        // The example: start 5 900 yuan, 20% is 1 180 yuan; up to the 100 yuan unit
        // is 1 200 (20.3%), so 1 100.
        let small = try RoundPricing.override(start: 590_000, reserve: 590_000, marketValue: 800_000, policy: policy)
        #expect(small.deposit == 110_000)
        // Rounding up that stays within 20% is kept.
        #expect(try RoundPricing.firstRound(marketValue: 8_416_800, policy: policy).deposit == 1_180_000)
        policy.pricing.depositBp = 500
        #expect(try RoundPricing.override(start: 590_000, reserve: 590_000, marketValue: 800_000, policy: policy).deposit == 30_000)
        // A unit too coarse for any deposit in range.
        policy.pricing.roundingUnit = 1_000_000
        #expect(throws: RoundPricing.Failure.depositOutsideJudicialRange) {
            try RoundPricing.override(start: 2_000_000, reserve: 2_000_000, marketValue: 2_000_000, policy: policy)
        }
        // The commercial ruleset rounds up as always.
        var commercial = Policy.defaults
        commercial.pricing.depositBp = 2_000
        #expect(try RoundPricing.override(start: 590_000, reserve: 590_000, marketValue: 800_000, policy: commercial).deposit == 120_000)
    }

    @Test("an override needs start <= reserve")
    func override() throws {
        #expect(throws: RoundPricing.Failure.startAboveReserve) {
            try RoundPricing.override(start: 7_000_000, reserve: 6_000_000, marketValue: 8_416_800, policy: .defaults)
        }
        #expect(try RoundPricing.override(start: 6_000_000, reserve: 7_000_000, marketValue: 8_416_800, policy: .defaults)
                == .init(start: 6_000_000, reserve: 7_000_000, deposit: 600_000))
    }

    @Test("properties over random market values and policies", arguments: 0..<300)
    func properties(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed) &+ 99)
        var policy = Policy.defaults
        policy.pricing.startBp = Int64.random(in: 1...10_000, using: &random)
        policy.pricing.reserveBp = Int64.random(in: 1...20_000, using: &random)
        policy.pricing.stepDownBp = Int64.random(in: 0...9_999, using: &random)
        policy.pricing.roundingUnit = [1, 100, 10_000, 1_000_000].randomElement(using: &random)!
        policy.ruleset = Bool.random(using: &random) ? .commercial : .prcJudicial
        let market = Int64.random(in: 0...Money.maximum, using: &random)
        let liquidation = Money.mulBp(market, Int64.random(in: 1...10_000, using: &random))!
        policy.pricing.depositBp = Int64.random(in: 500...2_000, using: &random)
        // Under prc-judicial a unit too coarse for any deposit within 5-20% of the start is
        // refused, naming the rule; every deposit it does give is within them.
        func judged(_ make: () throws(RoundPricing.Failure) -> RoundPricing.Prices) throws -> RoundPricing.Prices? {
            do { return try make() } catch {
                #expect(error == .depositOutsideJudicialRange && policy.ruleset == .prcJudicial, "\(error)")
                return nil
            }
        }
        guard var prices = try judged({ () throws(RoundPricing.Failure) in try RoundPricing.firstRound(marketValue: market, policy: policy) })
        else { return }
        for round in 1...4 {
            #expect(prices.start <= prices.reserve)
            #expect(prices.start % policy.pricing.roundingUnit == 0)
            #expect(prices.reserve % policy.pricing.roundingUnit == 0)
            #expect(prices.deposit % policy.pricing.roundingUnit == 0)
            if policy.ruleset == .prcJudicial {
                #expect(prices.reserve == prices.start)
                #expect(prices.deposit * 10_000 >= prices.start * 500 && prices.deposit * 10_000 <= prices.start * 2_000,
                        "deposit \(prices.deposit) outside 5-20% of \(prices.start)")
            }
            guard let next = try judged({ () throws(RoundPricing.Failure) in
                try RoundPricing.nextRound(previous: prices, liquidationValue: liquidation, policy: policy)
            }) else { return }
            #expect(next.start <= prices.start || prices.start < policy.pricing.roundingUnit, "round \(round + 1) start rose")
            if policy.ruleset == .commercial {
                #expect(next.reserve >= Money.ceilTo(liquidation, unit: policy.pricing.roundingUnit)!)
            }
            prices = next
        }
    }
}

@Suite("Calendar dates")
struct CalendarDateTests {
    @Test("ISO parsing is strict and day numbers round-trip")
    func parsing() {
        #expect(CalendarDate(iso: "2026-11-20")?.description == "2026-11-20")
        for bad in ["2026-02-30", "2026-13-01", "26-11-20", "2026-1-20", "2026-11-20T00:00:00Z", "", "２０２６-11-20"] {
            #expect(CalendarDate(iso: bad) == nil, "\(bad)")
        }
        #expect(CalendarDate(iso: "1970-01-01")?.dayNumber == 0)
        #expect(date("2026-10-01").days(until: date("2026-11-20")) == 50)
        #expect(date("2024-02-28").adding(days: 1) == date("2024-02-29"))
        for day in stride(from: -1_000, through: 30_000, by: 37) {
            #expect(CalendarDate(dayNumber: day).dayNumber == day)
        }
    }
}

@Suite("VIN (domain rules section 2)")
struct VINTests {
    @Test("real VINs are valid", arguments: [
        "1HGCM82633A004352", "1M8GDM9AXKP042788", "JH4KA7561PC008269", "2T1BURHE0JC014702", "1G1JC524417418958",
        "3VWFE21C04M000001",
    ])
    func valid(vin: String) throws {
        #expect(try VIN(vin).value == vin)
        #expect(try VIN(" \(vin.lowercased()) ").value == vin)
    }

    @Test("each failure names its reason")
    func invalid() {
        #expect(throws: VIN.Invalid.length(16)) { try VIN("1HGCM82633A00435") }
        #expect(throws: VIN.Invalid.forbiddenLetter("O", position: 1)) { try VIN("OHGCM82633A004352") }
        #expect(throws: VIN.Invalid.invalidCharacter("-", position: 5)) { try VIN("1HGC-82633A004352") }
        #expect(throws: VIN.Invalid.checkDigit(expected: "3", found: "4")) { try VIN("1HGCM82643A004352") }
        #expect(VIN.Invalid.checkDigit(expected: "3", found: "4").rule == "check-digit")
    }
}
