/// Money in Gavel is a count of minor units (fen, cents) in an `Int64`.
/// Domain rules section 1: no floating point anywhere near money, every amount
/// bounded to 0...10^13, arithmetic that reports overflow instead of trapping.
public enum Money {
    public static let maximum: Int64 = 10_000_000_000_000
    public static let range: ClosedRange<Int64> = 0...maximum
    /// The most any single amount a caller sends may be (a bid, a price, an expense, a
    /// payment, a balance, a lien): low enough that nothing derived from such inputs (an
    /// invoice total, a sum of expenses) can pass `maximum`.
    public static let inputMaximum: Int64 = 1_000_000_000_000
    /// The most a policy's fixed fee may be (`docFee`, `buyerPremiumMin`, `buyerPremiumMax`).
    public static let feeMaximum: Int64 = 10_000_000_000
    /// The most a case's daily interest may be.
    public static let perDiemMaximum: Int64 = 1_000_000_000

    public static func isInRange(_ amount: Int64) -> Bool { range.contains(amount) }

    /// The sum of amounts, or nil when it passes `maximum` (or any amount is negative)
    /// on the way: never a trap.
    public static func total<S: Sequence>(_ amounts: S) -> Int64? where S.Element == Int64 {
        var sum: Int64 = 0
        for amount in amounts {
            guard amount >= 0 else { return nil }
            let (next, overflow) = sum.addingReportingOverflow(amount)
            guard !overflow, next <= maximum else { return nil }
            sum = next
        }
        return sum
    }

    /// `mulBp(x, bp) = (x * bp + 5000) / 10000`, half-up for x >= 0.
    /// Returns nil when the intermediate product overflows `Int64`.
    public static func mulBp(_ amount: Int64, _ basisPoints: Int64) -> Int64? {
        let (product, overflowProduct) = amount.multipliedReportingOverflow(by: basisPoints)
        guard !overflowProduct else { return nil }
        let (rounded, overflowSum) = product.addingReportingOverflow(5_000)
        guard !overflowSum else { return nil }
        return rounded / 10_000
    }

    /// `ceilTo(x, unit) = ((x + unit - 1) / unit) * unit` for a positive unit.
    public static func ceilTo(_ amount: Int64, unit: Int64) -> Int64? {
        precondition(unit > 0, "rounding unit must be positive")
        let (padded, overflowSum) = amount.addingReportingOverflow(unit - 1)
        guard !overflowSum else { return nil }
        let (result, overflowProduct) = (padded / unit).multipliedReportingOverflow(by: unit)
        guard !overflowProduct else { return nil }
        return result
    }

    /// An amount as a letter or a table shows it: major units, two places, thousands
    /// separated (`8,430.00`). For people only; the API always carries minor units.
    public static func display(_ minor: Int64) -> String {
        let sign = minor < 0 ? "-" : ""
        var whole = String(minor.magnitude / 100)
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole.removeLast(3)
        }
        let cents = minor.magnitude % 100
        return sign + whole + grouped + (cents < 10 ? ".0" : ".") + String(cents)
    }
}
