/// Appraisal of one vehicle from comparable sales (domain rules section 3).
public enum Valuation {
    public struct Comparable: Equatable, Sendable {
        public var price: Int64
        public var year: Int64
        public var mileageKm: Int64
        public var soldOn: CalendarDate
        public init(price: Int64, year: Int64, mileageKm: Int64, soldOn: CalendarDate) {
            self.price = price
            self.year = year
            self.mileageKm = mileageKm
            self.soldOn = soldOn
        }
    }

    public struct Damage: Equatable, Sendable {
        public var item: String
        public var repairCost: Int64
        public init(item: String, repairCost: Int64) {
            self.item = item
            self.repairCost = repairCost
        }
    }

    public struct Input: Equatable, Sendable {
        public var subjectYear: Int64
        public var subjectMileageKm: Int64
        public var gradeTenths: Int64
        public var damages: [Damage]
        public var comparables: [Comparable]
        public var valuationDate: CalendarDate
        public init(
            subjectYear: Int64, subjectMileageKm: Int64, gradeTenths: Int64, damages: [Damage],
            comparables: [Comparable], valuationDate: CalendarDate
        ) {
            self.subjectYear = subjectYear
            self.subjectMileageKm = subjectMileageKm
            self.gradeTenths = gradeTenths
            self.damages = damages
            self.comparables = comparables
            self.valuationDate = valuationDate
        }
    }

    /// Each comparable as shown to the appraiser: adjusted to the subject, and whether
    /// it counted (a sale after the valuation date or too old does not).
    public struct AdjustedComparable: Equatable, Sendable {
        public init(comparable: Comparable, adjustedPrice: Int64?, used: Bool, reason: String?) {
            self.comparable = comparable
            self.adjustedPrice = adjustedPrice
            self.used = used
            self.reason = reason
        }

        public var comparable: Comparable
        public var adjustedPrice: Int64?
        public var used: Bool
        public var reason: String?
    }

    public struct Result: Equatable, Sendable {
        public var comparables: [AdjustedComparable]
        public var baseValue: Int64
        public var conditionBp: Int64
        public var damageTotal: Int64
        public var marketValue: Int64
        public var liquidationValue: Int64
    }

    public enum Failure: Error, Equatable, Sendable {
        /// The depreciation factor for this comparable is zero or negative.
        case factorNotPositive(index: Int)
        /// The adjusted price of this comparable is below zero.
        case negativeAdjustedValue(index: Int)
        case insufficientComparables(counted: Int, required: Int64)
        /// The price of this comparable adjusted to the vehicle passes the bound of a price.
        case adjustedValueOutOfRange(index: Int)
        /// The repair costs together pass the bound of an amount a caller may send.
        case damagesOutOfRange
        /// An intermediate value left the range of `Int64`, or the market value passes
        /// the bound of a price.
        case overflow
    }

    public static func appraise(_ input: Input, policy: Policy.Valuation) throws(Failure) -> Result {
        var adjusted: [AdjustedComparable] = []
        var counted: [Int64] = []
        let oldest = input.valuationDate.adding(days: -Int(policy.maxComparableAgeDays))
        for (index, comparable) in input.comparables.enumerated() {
            if comparable.soldOn > input.valuationDate {
                adjusted.append(.init(comparable: comparable, adjustedPrice: nil, used: false, reason: "sold after the valuation date"))
                continue
            }
            if comparable.soldOn < oldest {
                adjusted.append(.init(comparable: comparable, adjustedPrice: nil, used: false,
                                      reason: "sold more than \(policy.maxComparableAgeDays) days before the valuation date"))
                continue
            }
            let price = try adjust(comparable, index: index, input: input, policy: policy)
            adjusted.append(.init(comparable: comparable, adjustedPrice: price, used: true, reason: nil))
            counted.append(price)
        }
        guard counted.count >= policy.minComparables else {
            throw .insufficientComparables(counted: counted.count, required: policy.minComparables)
        }
        let baseValue = median(counted)
        let conditionBp = conditionBasisPoints(gradeTenths: input.gradeTenths, curve: policy.conditionCurve)
        var damageTotal: Int64 = 0
        for damage in input.damages {
            let (sum, overflow) = damageTotal.addingReportingOverflow(damage.repairCost)
            guard !overflow, sum <= Money.inputMaximum else { throw .damagesOutOfRange }
            damageTotal = sum
        }
        guard let conditioned = Money.mulBp(baseValue, conditionBp) else { throw .overflow }
        let marketValue = max(0, conditioned - damageTotal)
        guard marketValue <= Money.inputMaximum else { throw .overflow }
        guard let liquidationValue = Money.mulBp(marketValue, policy.liquidationBp) else { throw .overflow }
        return Result(
            comparables: adjusted, baseValue: baseValue, conditionBp: conditionBp, damageTotal: damageTotal,
            marketValue: marketValue, liquidationValue: liquidationValue)
    }

    /// `mulBp(price, 10000 - depreciation * (compYear - subjectYear)) + (compKm - subjectKm) * rate`.
    static func adjust(_ comparable: Comparable, index: Int, input: Input, policy: Policy.Valuation) throws(Failure) -> Int64 {
        let (yearsNewer, o1) = comparable.year.subtractingReportingOverflow(input.subjectYear)
        let (depreciation, o2) = policy.depreciationBpPerYear.multipliedReportingOverflow(by: yearsNewer)
        let (factor, o3) = Int64(10_000).subtractingReportingOverflow(depreciation)
        guard !(o1 || o2 || o3) else { throw .overflow }
        guard factor > 0 else { throw .factorNotPositive(index: index) }
        guard let depreciated = Money.mulBp(comparable.price, factor) else { throw .overflow }
        let (kmDifference, o4) = comparable.mileageKm.subtractingReportingOverflow(input.subjectMileageKm)
        let (mileageAdjustment, o5) = kmDifference.multipliedReportingOverflow(by: policy.mileageRatePerKm)
        let (price, o6) = depreciated.addingReportingOverflow(mileageAdjustment)
        guard !(o4 || o5 || o6) else { throw .overflow }
        guard price >= 0 else { throw .negativeAdjustedValue(index: index) }
        // A value is a price, and prices are bounded like every input (section 1).
        guard price <= Money.inputMaximum else { throw .adjustedValueOutOfRange(index: index) }
        return price
    }

    /// The middle value; for an even count `(a + b + 1) / 2` of the middle two.
    public static func median(_ values: [Int64]) -> Int64 {
        precondition(!values.isEmpty, "median of no values")
        let sorted = values.sorted()
        let middle = sorted.count / 2
        if sorted.count % 2 == 1 { return sorted[middle] }
        // Both are non-negative and bounded, so the sum cannot overflow.
        return (sorted[middle - 1] + sorted[middle] + 1) / 2
    }

    /// Linear interpolation on the condition curve, rounded half up to a whole bp.
    public static func conditionBasisPoints(gradeTenths: Int64, curve: [Policy.ConditionPoint]) -> Int64 {
        precondition(curve.count >= 2, "a validated curve has at least two points")
        if let exact = curve.first(where: { $0.gradeTenths == gradeTenths }) { return exact.bp }
        let upperIndex = curve.firstIndex(where: { $0.gradeTenths > gradeTenths }) ?? curve.count - 1
        let lower = curve[max(0, upperIndex - 1)], upper = curve[upperIndex]
        let numerator = (upper.bp - lower.bp) * (gradeTenths - lower.gradeTenths)
        let denominator = upper.gradeTenths - lower.gradeTenths
        // floor((2n + d) / 2d) rounds half up for negative slopes too.
        let twice = 2 * numerator + denominator
        let step = twice >= 0 ? twice / (2 * denominator) : -((-twice + 2 * denominator - 1) / (2 * denominator))
        return lower.bp + step
    }
}
