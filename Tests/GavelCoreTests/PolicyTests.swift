import GavelCore
import Testing

@Suite("Consignor policy")
struct PolicyTests {
    @Test("the defaults are exactly those of domain-rules.md")
    func defaults() throws {
        let policy = Policy.defaults
        #expect(policy.ruleset == .commercial)
        #expect(policy.valuation.depreciationBpPerYear == 1_200)
        #expect(policy.valuation.mileageRatePerKm == 20)
        #expect(policy.valuation.minComparables == 3)
        #expect(policy.valuation.maxComparableAgeDays == 180)
        #expect(policy.valuation.liquidationBp == 7_500)
        #expect(policy.valuation.conditionCurve.map(\.gradeTenths) == [0, 10, 20, 30, 40, 50])
        #expect(policy.valuation.conditionCurve.map(\.bp) == [4_500, 6_500, 8_000, 9_200, 10_000, 10_500])
        #expect(policy.pricing.startBp == 7_000)
        #expect(policy.pricing.reserveBp == 9_000)
        #expect(policy.pricing.stepDownBp == 2_000)
        #expect(policy.pricing.depositBp == 1_000)
        #expect(policy.pricing.roundingUnit == 10_000)
        #expect(policy.pricing.maxRounds == 2)
        #expect(policy.bidding.increments == [
            .init(below: 1_000_000, step: 20_000), .init(below: 5_000_000, step: 50_000),
            .init(below: 10_000_000, step: 100_000), .init(below: 50_000_000, step: 200_000),
            .init(below: nil, step: 500_000),
        ])
        #expect(policy.bidding.extensionWindowSeconds == 300)
        #expect(policy.bidding.extensionSeconds == 300)
        #expect(policy.bidding.approvalHours == 48)
        #expect(policy.fees.buyerPremiumBp == 500)
        #expect(policy.fees.buyerPremiumMin == 50_000)
        #expect(policy.fees.buyerPremiumMax == 500_000)
        #expect(policy.fees.docFee == 30_000)
        #expect(policy.fees.sellerFeeBp == 200)
        #expect(policy.fees.paymentDueDays == 3)
        #expect(policy.settlement.allocationOrder == [.fees, .interest, .principal])
        #expect(policy.pricing.relistAfterDefault == .stepDown)
        #expect(policy.bidding.requireVerifiedBidder == false)
        #expect(policy.notice.minDays == 10)
    }

    @Test("the JSON form parses back to the same policy")
    func roundTrip() throws {
        #expect(try Policy.parse(Policy.defaults.json) == Policy.defaults)
        var custom = Policy.defaults
        custom.valuation.conditionCurve = [.init(gradeTenths: 0, bp: 5_000), .init(gradeTenths: 35, bp: 9_000), .init(gradeTenths: 50, bp: 10_000)]
        custom.settlement.allocationOrder = [.interest, .fees, .principal]
        #expect(try Policy.parse(custom.json) == custom)
    }

    @Test("a partial policy changes only what it names")
    func patch() throws {
        let patched = try Policy.defaults.applying(.object([
            "pricing": .object(["startBp": .integer(7_500)]),
            "fees": .object(["docFee": .integer(25_000)]),
        ]))
        var expected = Policy.defaults
        expected.pricing.startBp = 7_500
        expected.fees.docFee = 25_000
        #expect(patched == expected)
    }

    @Test("unknown settings and nulls are refused, with their paths")
    func unknownAndNull() {
        #expect(throws: ValidationFailure([
            FieldError(field: "pricing.startbp", message: "is not a policy setting"),
            FieldError(field: "surprise", message: "is not a policy setting"),
        ])) {
            try Policy.defaults.applying(.object(["pricing": .object(["startbp": .integer(1)]), "surprise": .bool(true)]))
        }
        #expect(throws: ValidationFailure([FieldError(field: "fees.docFee", message: "must not be null")])) {
            try Policy.defaults.applying(.object(["fees": .object(["docFee": .null])]))
        }
    }

    @Test("every range and consistency error is listed at once")
    func ranges() throws {
        do {
            _ = try Policy.defaults.applying(.object([
                "pricing": .object(["startBp": .integer(0), "roundingUnit": .string("100")]),
                "fees": .object(["buyerPremiumMin": .integer(600_000), "docFee": .integer(10_000_000_000_001)]),
                "settlement": .object(["allocationOrder": .array([.string("fees"), .string("fees"), .string("principal")])]),
            ]))
            Issue.record("an invalid policy was accepted")
        } catch {
            let fields = error.errors.map(\.field)
            #expect(fields == [
                "pricing.startBp", "pricing.roundingUnit", "fees.docFee", "fees.buyerPremiumMin",
                "settlement.allocationOrder",
            ])
            #expect(error.errors.first { $0.field == "fees.docFee" }?.code == .amountOutOfRange)
        }
    }

    @Test("a condition curve must run from grade 0.0 to 5.0, increasing, with one decimal")
    func conditionCurve() {
        let curves: [JSONValue] = [
            .array([.object(["grade": .number(0), "bp": .integer(4_500)])]),
            .array([.object(["grade": .number(0.5), "bp": .integer(4_500)]), .object(["grade": .number(5), "bp": .integer(10_500)])]),
            .array([.object(["grade": .number(0), "bp": .integer(4_500)]), .object(["grade": .number(3.55), "bp": .integer(9_000)]), .object(["grade": .number(5), "bp": .integer(10_500)])]),
            .array([.object(["grade": .number(0), "bp": .integer(4_500)]), .object(["grade": .number(4), "bp": .integer(9_000)]), .object(["grade": .number(3), "bp": .integer(9_000)]), .object(["grade": .number(5), "bp": .integer(10_500)])]),
        ]
        for curve in curves {
            #expect(throws: ValidationFailure.self) {
                try Policy.defaults.applying(.object(["valuation": .object(["conditionCurve": curve])]))
            }
        }
    }

    @Test("increment bands must rise and end open")
    func increments() {
        let bad: [JSONValue] = [
            .array([]),
            .array([.object(["below": .integer(1_000), "step": .integer(10)])]),
            .array([.object(["below": .integer(5_000), "step": .integer(10)]), .object(["below": .integer(1_000), "step": .integer(10)]), .object(["below": .null, "step": .integer(10)])]),
            .array([.object(["below": .null, "step": .integer(0)])]),
        ]
        for bands in bad {
            #expect(throws: ValidationFailure.self) {
                try Policy.defaults.applying(.object(["bidding": .object(["increments": bands])]))
            }
        }
    }

    @Test("prc-judicial refuses each broken rule, naming it")
    func prcJudicial() throws {
        let judicial = try Policy.defaults.applying(.object(["ruleset": .string("prc-judicial")]))
        #expect(judicial.ruleset == .prcJudicial)
        let cases: [(JSONValue, String, String)] = [
            (.object(["pricing": .object(["startBp": .integer(6_999)])]), "pricing.startBp", "prc-judicial.start-at-least-70-percent"),
            (.object(["pricing": .object(["stepDownBp": .integer(2_001)])]), "pricing.stepDownBp", "prc-judicial.step-down-at-most-20-percent"),
            (.object(["pricing": .object(["depositBp": .integer(499)])]), "pricing.depositBp", "prc-judicial.deposit-5-to-20-percent"),
            (.object(["pricing": .object(["depositBp": .integer(2_001)])]), "pricing.depositBp", "prc-judicial.deposit-5-to-20-percent"),
            (.object(["bidding": .object(["extensionSeconds": .integer(60)])]), "bidding.extensionSeconds", "prc-judicial.soft-close-300-seconds"),
            (.object(["bidding": .object(["extensionWindowSeconds": .integer(600)])]), "bidding.extensionWindowSeconds", "prc-judicial.soft-close-300-seconds"),
            (.object(["pricing": .object(["maxRounds": .integer(3)])]), "pricing.maxRounds", "prc-judicial.at-most-two-auctions"),
        ]
        for (patch, field, rule) in cases {
            do {
                _ = try judicial.applying(patch)
                Issue.record("accepted \(patch)")
            } catch {
                #expect(error.errors.count == 1)
                #expect(error.errors.first?.field == field)
                #expect(error.errors.first?.rule == rule)
            }
            // The same change is fine under the commercial ruleset.
            #expect(throws: Never.self) { try Policy.defaults.applying(patch) }
        }
        // The limits themselves are allowed.
        _ = try judicial.applying(.object(["pricing": .object(["startBp": .integer(7_000), "stepDownBp": .integer(2_000), "depositBp": .integer(500)])]))
        _ = try judicial.applying(.object(["pricing": .object(["depositBp": .integer(2_000)])]))
    }

    @Test("switching to prc-judicial checks the settings already in place")
    func switchingRuleset() throws {
        let lowStart = try Policy.defaults.applying(.object(["pricing": .object(["startBp": .integer(6_000)])]))
        #expect(throws: ValidationFailure.self) { try lowStart.applying(.object(["ruleset": .string("prc-judicial")])) }
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("merge patch replaces scalars and arrays, merges objects, null deletes")
    func merge() {
        let base: JSONValue = .object(["a": .integer(1), "b": .object(["c": .integer(2), "d": .array([.integer(1)])])])
        let patch: JSONValue = .object(["b": .object(["d": .array([]), "e": .bool(true)]), "a": .null])
        #expect(base.merged(with: patch) == .object(["b": .object(["c": .integer(2), "d": .array([]), "e": .bool(true)])]))
    }

    @Test("unknown paths are found at any depth")
    func unknownPaths() {
        let schema: JSONValue = .object(["a": .integer(1), "b": .object(["c": .integer(2)])])
        let value: JSONValue = .object(["a": .integer(1), "b": .object(["c": .integer(2), "x": .integer(3)]), "y": .null])
        #expect(value.unknownPaths(comparedTo: schema) == ["b.x", "y"])
    }
}
