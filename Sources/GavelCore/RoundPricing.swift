/// Starting price, reserve and deposit of each round (domain rules section 4).
public enum RoundPricing {
    public struct Prices: Equatable, Sendable {
        public var start: Int64
        public var reserve: Int64
        public var deposit: Int64
        public init(start: Int64, reserve: Int64, deposit: Int64) {
            self.start = start
            self.reserve = reserve
            self.deposit = deposit
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        case overflow
        /// A manual override with the start above the reserve.
        case startAboveReserve
        /// Under `prc-judicial`, a start below 70% of the market value.
        case startBelowJudicialFloor(minimum: Int64)
        /// Under `prc-judicial`, no multiple of the rounding unit lies within 5-20% of the start.
        case depositOutsideJudicialRange
    }

    /// Round 1: start and reserve from the market value, rounded up to the unit.
    public static func firstRound(marketValue: Int64, policy: Policy) throws(Failure) -> Prices {
        let unit = policy.pricing.roundingUnit
        let start = try rounded(Money.mulBp(marketValue, policy.pricing.startBp), unit)
        let reserve = try rounded(Money.mulBp(marketValue, policy.pricing.reserveBp), unit)
        return try finish(start: start, reserve: reserve, policy: policy)
    }

    /// Round n > 1, after an unsold or defaulted round: both step down, and the reserve
    /// never falls below the liquidation value.
    public static func nextRound(previous: Prices, liquidationValue: Int64, policy: Policy) throws(Failure) -> Prices {
        let unit = policy.pricing.roundingUnit
        let keep = 10_000 - policy.pricing.stepDownBp
        let start = try rounded(Money.mulBp(previous.start, keep), unit)
        let steppedReserve = try rounded(Money.mulBp(previous.reserve, keep), unit)
        let floor = try rounded(liquidationValue, unit)
        return try finish(start: start, reserve: max(steppedReserve, floor), policy: policy)
    }

    /// A manager's own start and reserve (with a reason kept elsewhere).
    public static func override(start: Int64, reserve: Int64, marketValue: Int64, policy: Policy) throws(Failure) -> Prices {
        guard start <= reserve else { throw .startAboveReserve }
        if policy.ruleset == .prcJudicial {
            guard let minimum = Money.mulBp(marketValue, 7_000) else { throw .overflow }
            guard start >= minimum else { throw .startBelowJudicialFloor(minimum: minimum) }
        }
        return try finish(start: start, reserve: reserve, policy: policy)
    }

    /// `start = min(start, reserve)`, no hidden reserve under `prc-judicial`, and the deposit.
    static func finish(start: Int64, reserve: Int64, policy: Policy) throws(Failure) -> Prices {
        let start = min(start, reserve)
        let unit = policy.pricing.roundingUnit
        guard policy.ruleset == .prcJudicial else {
            return Prices(start: start, reserve: reserve, deposit: try rounded(Money.mulBp(start, policy.pricing.depositBp), unit))
        }
        return Prices(start: start, reserve: start, deposit: try judicialDeposit(start: start, policy: policy))
    }

    /// The deposit under `prc-judicial` stays within 5-20% of the start after rounding
    /// (SPC 2016 rules art. 17): rounded up as always, or down to the unit when rounding up
    /// would pass 20% (depositBp 2000, start 590 000: 120 000 is 20.3%, so 110 000).
    static func judicialDeposit(start: Int64, policy: Policy) throws(Failure) -> Int64 {
        let unit = policy.pricing.roundingUnit
        guard let exact = Money.mulBp(start, policy.pricing.depositBp) else { throw .overflow }
        let up = try rounded(exact, unit)
        func within(_ deposit: Int64) -> Bool {
            let (scaled, overflow) = deposit.multipliedReportingOverflow(by: 10_000)
            let (low, lowOverflow) = start.multipliedReportingOverflow(by: 500)
            let (high, highOverflow) = start.multipliedReportingOverflow(by: 2_000)
            return !overflow && !lowOverflow && !highOverflow && scaled >= low && scaled <= high
        }
        if within(up) { return up }
        let down = exact / unit * unit
        guard within(down) else { throw .depositOutsideJudicialRange }
        return down
    }

    static func rounded(_ amount: Int64?, _ unit: Int64) throws(Failure) -> Int64 {
        guard let amount, let result = Money.ceilTo(amount, unit: unit) else { throw .overflow }
        return result
    }
}
