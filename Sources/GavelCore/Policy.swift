/// A consignor's policy: every default of domain-rules.md, stored per consignor and
/// returned by the API. All rates are basis points, all amounts minor units.
public struct Policy: Equatable, Sendable {
    public enum Ruleset: String, CaseIterable, Sendable {
        case commercial
        case prcJudicial = "prc-judicial"
    }

    public struct ConditionPoint: Equatable, Sendable {
        /// Condition grade in tenths (grade 3.5 is 35), so no floating point is kept.
        public var gradeTenths: Int64
        public var bp: Int64
        public init(gradeTenths: Int64, bp: Int64) {
            self.gradeTenths = gradeTenths
            self.bp = bp
        }
    }

    public struct Valuation: Equatable, Sendable {
        public var depreciationBpPerYear: Int64 = 1_200
        public var mileageRatePerKm: Int64 = 20
        public var minComparables: Int64 = 3
        public var maxComparableAgeDays: Int64 = 180
        public var liquidationBp: Int64 = 7_500
        public var conditionCurve: [ConditionPoint] = [
            .init(gradeTenths: 0, bp: 4_500), .init(gradeTenths: 10, bp: 6_500),
            .init(gradeTenths: 20, bp: 8_000), .init(gradeTenths: 30, bp: 9_200),
            .init(gradeTenths: 40, bp: 10_000), .init(gradeTenths: 50, bp: 10_500),
        ]
    }

    public struct Pricing: Equatable, Sendable {
        public var startBp: Int64 = 7_000
        public var reserveBp: Int64 = 9_000
        public var stepDownBp: Int64 = 2_000
        public var depositBp: Int64 = 1_000
        public var roundingUnit: Int64 = 10_000
        public var maxRounds: Int64 = 2
        /// What a relisting after a buyer's default costs (commercial ruleset; under
        /// `prc-judicial` it is always a re-auction at the same prices, SPC rules art. 24).
        public var relistAfterDefault: RelistAfterDefault = .stepDown
    }

    public enum RelistAfterDefault: String, CaseIterable, Sendable {
        /// The next round steps down like one after an unsold round (vector F).
        case stepDown = "step-down"
        /// A re-auction at the defaulted round's prices, not counted as a further round.
        case same
    }

    /// Whether a relisting after a buyer's default re-runs the defaulted round at its prices.
    public var reauctionsAfterDefault: Bool { ruleset == .prcJudicial || pricing.relistAfterDefault == .same }

    /// Notices of disposition (domain rules section 11).
    public struct Notice: Equatable, Sendable {
        /// Days from the last notice sent to the earliest start of a lot; 0: no notice required.
        public var minDays: Int64 = 10
    }

    public struct Increment: Equatable, Sendable {
        /// The step applies while the current price is below this; nil for the last band.
        public var below: Int64?
        public var step: Int64
        public init(below: Int64?, step: Int64) {
            self.below = below
            self.step = step
        }
    }

    public struct Bidding: Equatable, Sendable {
        public var increments: [Increment] = [
            .init(below: 1_000_000, step: 20_000), .init(below: 5_000_000, step: 50_000),
            .init(below: 10_000_000, step: 100_000), .init(below: 50_000_000, step: 200_000),
            .init(below: nil, step: 500_000),
        ]
        public var extensionWindowSeconds: Int64 = 300
        public var extensionSeconds: Int64 = 300
        public var approvalHours: Int64 = 48
        /// Bids only from bidders with a verified identity (domain rules section 11).
        public var requireVerifiedBidder = false
    }

    /// Whether a lot under this policy takes bids from verified bidders only: as the
    /// policy says, and always under `prc-judicial` (real names, SPC 2016 rules).
    public var requiresVerifiedBidders: Bool { ruleset == .prcJudicial || bidding.requireVerifiedBidder }

    public struct Fees: Equatable, Sendable {
        public var buyerPremiumBp: Int64 = 500
        public var buyerPremiumMin: Int64 = 50_000
        public var buyerPremiumMax: Int64 = 500_000
        public var docFee: Int64 = 30_000
        public var sellerFeeBp: Int64 = 200
        public var paymentDueDays: Int64 = 3
    }

    public enum ObligationBucket: String, CaseIterable, Sendable {
        case fees, interest, principal
    }

    public struct Settlement: Equatable, Sendable {
        public var allocationOrder: [ObligationBucket] = [.fees, .interest, .principal]
        /// Where a borrower asks about a statement: a telephone number or an address
        /// (UCC §9-616(a)(1)(D)), printed on every statement.
        public var contact: String = Settlement.defaultContact

        public static let defaultContact = "the disposal department of the lender named on this statement"
    }

    public var ruleset: Ruleset = .commercial
    public var valuation = Valuation()
    public var pricing = Pricing()
    public var bidding = Bidding()
    public var fees = Fees()
    public var settlement = Settlement()
    public var notice = Notice()

    public init() {}

    public static let defaults = Policy()
}

// MARK: - JSON form (the contract's policy shape)

extension Policy.Fees {
    /// The policy's `fees` member, and a lot's (frozen at its creation) as answered.
    public var json: JSONValue {
        .object([
            "buyerPremiumBp": .integer(buyerPremiumBp),
            "buyerPremiumMin": .integer(buyerPremiumMin),
            "buyerPremiumMax": .integer(buyerPremiumMax),
            "docFee": .integer(docFee),
            "sellerFeeBp": .integer(sellerFeeBp),
            "paymentDueDays": .integer(paymentDueDays),
        ])
    }
}

extension Policy {
    public var json: JSONValue {
        .object([
            "ruleset": .string(ruleset.rawValue),
            "valuation": .object([
                "depreciationBpPerYear": .integer(valuation.depreciationBpPerYear),
                "mileageRatePerKm": .integer(valuation.mileageRatePerKm),
                "minComparables": .integer(valuation.minComparables),
                "maxComparableAgeDays": .integer(valuation.maxComparableAgeDays),
                "liquidationBp": .integer(valuation.liquidationBp),
                "conditionCurve": .array(valuation.conditionCurve.map { point in
                    .object(["grade": .number(Double(point.gradeTenths) / 10), "bp": .integer(point.bp)])
                }),
            ]),
            "pricing": .object([
                "startBp": .integer(pricing.startBp),
                "reserveBp": .integer(pricing.reserveBp),
                "stepDownBp": .integer(pricing.stepDownBp),
                "depositBp": .integer(pricing.depositBp),
                "roundingUnit": .integer(pricing.roundingUnit),
                "maxRounds": .integer(pricing.maxRounds),
                "relistAfterDefault": .string(pricing.relistAfterDefault.rawValue),
            ]),
            "bidding": .object([
                "increments": Policy.incrementsJSON(bidding.increments),
                "extensionWindowSeconds": .integer(bidding.extensionWindowSeconds),
                "extensionSeconds": .integer(bidding.extensionSeconds),
                "approvalHours": .integer(bidding.approvalHours),
                "requireVerifiedBidder": .bool(bidding.requireVerifiedBidder),
            ]),
            "fees": fees.json,
            "settlement": .object([
                "allocationOrder": .array(settlement.allocationOrder.map { .string($0.rawValue) }),
                "contact": .string(settlement.contact),
            ]),
            "notice": .object(["minDays": .integer(notice.minDays)]),
        ])
    }

    /// The policy checked as one sent to the API is: each range, the rules between its
    /// members and its ruleset's (a stored policy read back passes the same checks).
    public func validated() throws(ValidationFailure) -> Policy { try Policy.parse(json) }

    /// Applies a partial policy (a JSON merge patch) to this one and validates the result,
    /// including the chosen ruleset. Unknown members are refused so a typo cannot pass
    /// for a change.
    public func applying(_ patch: JSONValue) throws(ValidationFailure) -> Policy {
        guard case .object = patch else {
            throw ValidationFailure([FieldError(field: "policy", message: "must be an object")])
        }
        let unknown = patch.unknownPaths(comparedTo: Policy.defaults.json)
        if !unknown.isEmpty {
            throw ValidationFailure(unknown.map { FieldError(field: $0, message: "is not a policy setting") })
        }
        // `null` would delete a member in a merge patch; a policy setting cannot be unset.
        let nulls = Self.nullPaths(in: patch)
        if !nulls.isEmpty {
            throw ValidationFailure(nulls.map { FieldError(field: $0, message: "must not be null") })
        }
        return try Policy.parse(json.merged(with: patch))
    }

    private static func nullPaths(in value: JSONValue, prefix: String = "") -> [String] {
        guard case .object(let members) = value else { return [] }
        return members.keys.sorted().flatMap { key -> [String] in
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            return members[key]! == .null ? [path] : nullPaths(in: members[key]!, prefix: path)
        }
    }

    /// Reads a complete policy, checking every setting's range and consistency.
    public static func parse(_ value: JSONValue) throws(ValidationFailure) -> Policy {
        var errors: [FieldError] = []
        guard case .object(let members) = value else {
            throw ValidationFailure([FieldError(field: "policy", message: "must be an object")])
        }
        let root = FieldReader(members)
        var policy = Policy()
        policy.ruleset = root.choice("ruleset", Ruleset.self, errors: &errors) ?? policy.ruleset

        if let v = root.object("valuation", errors: &errors) {
            var p = policy.valuation
            p.depreciationBpPerYear = v.integer("depreciationBpPerYear", in: 0...10_000, errors: &errors) ?? p.depreciationBpPerYear
            p.mileageRatePerKm = v.amount("mileageRatePerKm", errors: &errors) ?? p.mileageRatePerKm
            p.minComparables = v.integer("minComparables", in: 1...100, errors: &errors) ?? p.minComparables
            p.maxComparableAgeDays = v.integer("maxComparableAgeDays", in: 1...3_650, errors: &errors) ?? p.maxComparableAgeDays
            p.liquidationBp = v.integer("liquidationBp", in: 1...10_000, errors: &errors) ?? p.liquidationBp
            if let curve = parseConditionCurve(v, errors: &errors) { p.conditionCurve = curve }
            policy.valuation = p
        }
        if let v = root.object("pricing", errors: &errors) {
            var p = policy.pricing
            p.startBp = v.integer("startBp", in: 1...10_000, errors: &errors) ?? p.startBp
            p.reserveBp = v.integer("reserveBp", in: 1...20_000, errors: &errors) ?? p.reserveBp
            p.stepDownBp = v.integer("stepDownBp", in: 0...9_999, errors: &errors) ?? p.stepDownBp
            p.depositBp = v.integer("depositBp", in: 0...10_000, errors: &errors) ?? p.depositBp
            p.roundingUnit = v.integer("roundingUnit", in: 1...1_000_000_000, errors: &errors) ?? p.roundingUnit
            p.maxRounds = v.integer("maxRounds", in: 1...10, errors: &errors) ?? p.maxRounds
            p.relistAfterDefault = v.choice("relistAfterDefault", RelistAfterDefault.self, errors: &errors) ?? p.relistAfterDefault
            policy.pricing = p
        }
        if let v = root.object("bidding", errors: &errors) {
            var p = policy.bidding
            if let bands = parseIncrements(v, errors: &errors) { p.increments = bands }
            p.extensionWindowSeconds = v.integer("extensionWindowSeconds", in: 1...86_400, errors: &errors) ?? p.extensionWindowSeconds
            p.extensionSeconds = v.integer("extensionSeconds", in: 1...86_400, errors: &errors) ?? p.extensionSeconds
            p.approvalHours = v.integer("approvalHours", in: 1...720, errors: &errors) ?? p.approvalHours
            p.requireVerifiedBidder = v.bool("requireVerifiedBidder", errors: &errors) ?? p.requireVerifiedBidder
            policy.bidding = p
        }
        if let v = root.object("fees", errors: &errors) {
            var p = policy.fees
            p.buyerPremiumBp = v.integer("buyerPremiumBp", in: 0...10_000, errors: &errors) ?? p.buyerPremiumBp
            p.buyerPremiumMin = v.amount("buyerPremiumMin", maximum: Money.feeMaximum, errors: &errors) ?? p.buyerPremiumMin
            p.buyerPremiumMax = v.amount("buyerPremiumMax", maximum: Money.feeMaximum, errors: &errors) ?? p.buyerPremiumMax
            p.docFee = v.amount("docFee", maximum: Money.feeMaximum, errors: &errors) ?? p.docFee
            p.sellerFeeBp = v.integer("sellerFeeBp", in: 0...10_000, errors: &errors) ?? p.sellerFeeBp
            p.paymentDueDays = v.integer("paymentDueDays", in: 1...90, errors: &errors) ?? p.paymentDueDays
            if p.buyerPremiumMin > p.buyerPremiumMax {
                errors.append(FieldError(field: "fees.buyerPremiumMin", message: "must not exceed fees.buyerPremiumMax"))
            }
            policy.fees = p
        }
        if let v = root.object("settlement", errors: &errors) {
            policy.settlement.contact = v.string("contact", maxLength: 500, errors: &errors) ?? policy.settlement.contact
        }
        if let v = root.object("settlement", errors: &errors),
           let order = v.array("allocationOrder", errors: &errors) {
            let buckets = order.compactMap { element -> ObligationBucket? in
                if case .string(let name) = element { return ObligationBucket(rawValue: name) }
                return nil
            }
            if buckets.count == 3, Set(buckets).count == 3, order.count == 3 {
                policy.settlement.allocationOrder = buckets
            } else {
                errors.append(FieldError(
                    field: "settlement.allocationOrder",
                    message: "must name fees, interest and principal, each exactly once"))
            }
        }
        if let v = root.object("notice", errors: &errors) {
            policy.notice.minDays = v.integer("minDays", in: 0...365, errors: &errors) ?? policy.notice.minDays
        }
        errors += policy.rulesetViolations()
        if !errors.isEmpty { throw ValidationFailure(errors) }
        return policy
    }

    private static func parseConditionCurve(_ v: FieldReader, errors: inout [FieldError]) -> [ConditionPoint]? {
        guard let elements = v.array("conditionCurve", errors: &errors) else { return nil }
        let field = v.fieldPath("conditionCurve")
        var points: [ConditionPoint] = []
        var failed = false
        for (index, element) in elements.enumerated() {
            let at = "\(field)[\(index)]"
            guard case .object(let members) = element else {
                errors.append(FieldError(field: at, message: "must be an object {grade, bp}"))
                failed = true
                continue
            }
            let point = FieldReader(members, path: at)
            let tenths = gradeTenths(members["grade"], at: point.fieldPath("grade"), errors: &errors)
            let bp = point.integer("bp", in: 0...20_000, errors: &errors)
            if let tenths, let bp { points.append(.init(gradeTenths: tenths, bp: bp)) } else { failed = true }
        }
        guard !failed else { return nil }
        let grades = points.map(\.gradeTenths)
        guard points.count >= 2, grades.first == 0, grades.last == 50,
              zip(grades, grades.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            errors.append(FieldError(
                field: field,
                message: "must have at least two points with grades increasing from 0.0 to 5.0"))
            return nil
        }
        return points
    }

    /// Grades are Manheim-style with one decimal; they are kept as tenths.
    static func gradeTenths(_ value: JSONValue?, at field: String, errors: inout [FieldError]) -> Int64? {
        let tenths: Int64?
        switch value {
        case .integer(let whole)?: tenths = whole <= 1_000 && whole >= -1_000 ? whole * 10 : nil
        case .number(let number)?:
            let scaled = (number * 10).rounded()
            tenths = abs(number * 10 - scaled) < 1e-6 && abs(scaled) <= 10_000 ? Int64(scaled) : nil
        default: tenths = nil
        }
        guard let tenths, (0...50).contains(tenths) else {
            errors.append(FieldError(field: field, message: "must be a grade from 0.0 to 5.0 with one decimal"))
            return nil
        }
        return tenths
    }

    public static func incrementsJSON(_ bands: [Increment]) -> JSONValue {
        .array(bands.map { band in
            .object(["below": band.below.map(JSONValue.integer) ?? .null, "step": .integer(band.step)])
        })
    }

    private static func parseIncrements(_ v: FieldReader, errors: inout [FieldError]) -> [Increment]? {
        guard let elements = v.array("increments", errors: &errors) else { return nil }
        let field = v.fieldPath("increments")
        var bands: [Increment] = []
        var failed = false
        for (index, element) in elements.enumerated() {
            let at = "\(field)[\(index)]"
            guard case .object(let members) = element else {
                errors.append(FieldError(field: at, message: "must be an object {below, step}"))
                failed = true
                continue
            }
            let band = FieldReader(members, path: at)
            let below = band.has("below") ? band.amount("below", errors: &errors) : nil
            let step = band.integer("step", in: 1...Money.inputMaximum, errors: &errors)
            if band.has("below") && below == nil || step == nil { failed = true; continue }
            bands.append(.init(below: below, step: step!))
        }
        guard !failed else { return nil }
        let limits = bands.dropLast().compactMap(\.below)
        guard !bands.isEmpty, bands.last?.below == nil, limits.count == bands.count - 1,
              zip(limits, limits.dropFirst()).allSatisfy({ $0 < $1 }), limits.allSatisfy({ $0 > 0 })
        else {
            errors.append(FieldError(
                field: field,
                message: "must list bands with increasing `below` limits, the last with `below: null`"))
            return nil
        }
        return bands
    }

    /// The PRC Supreme People's Court rules for online judicial auctions, checked when
    /// the policy chooses `prc-judicial`. Each violation names its rule.
    public func rulesetViolations() -> [FieldError] {
        guard ruleset == .prcJudicial else { return [] }
        var errors: [FieldError] = []
        if pricing.startBp < 7_000 {
            errors.append(FieldError(
                field: "pricing.startBp", message: "prc-judicial: the starting price may not be below 70% of the appraisal (startBp >= 7000)",
                rule: "prc-judicial.start-at-least-70-percent"))
        }
        if pricing.stepDownBp > 2_000 {
            errors.append(FieldError(
                field: "pricing.stepDownBp", message: "prc-judicial: a further round may be at most 20% lower (stepDownBp <= 2000)",
                rule: "prc-judicial.step-down-at-most-20-percent"))
        }
        if pricing.maxRounds > 2 {
            errors.append(FieldError(
                field: "pricing.maxRounds", message: "prc-judicial: at most two auctions, then a sale at a fixed price (变卖) (maxRounds <= 2)",
                rule: "prc-judicial.at-most-two-auctions"))
        }
        if !(500...2_000).contains(pricing.depositBp) {
            errors.append(FieldError(
                field: "pricing.depositBp", message: "prc-judicial: the deposit must be 5% to 20% of the starting price (500 <= depositBp <= 2000)",
                rule: "prc-judicial.deposit-5-to-20-percent"))
        }
        if bidding.extensionWindowSeconds != 300 || bidding.extensionSeconds != 300 {
            let field = bidding.extensionWindowSeconds != 300 ? "bidding.extensionWindowSeconds" : "bidding.extensionSeconds"
            errors.append(FieldError(
                field: field, message: "prc-judicial: a bid in the last 5 minutes extends the sale by 5 minutes (300 s / 300 s)",
                rule: "prc-judicial.soft-close-300-seconds"))
        }
        return errors
    }
}
