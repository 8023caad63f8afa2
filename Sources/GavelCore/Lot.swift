import Foundation

/// One vehicle offered in one round of sale.
public struct Lot: Equatable, Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case english, sealed, fixed
    }

    /// `open` is never stored: a scheduled lot is open from `startsAt` on, by the
    /// database's clock.
    public enum Status: String, Sendable, CaseIterable {
        case scheduled, open, closed, sold, unsold, pendingApproval = "pending-approval", defaulted, cancelled
        /// The closer could not close it (its sale would break a bound, or its row no
        /// longer reads): set aside for an operator instead of being retried for ever.
        case closeFailed = "close-failed"
    }

    public var id: UUID
    public var vehicleId: UUID
    public var consignorId: UUID
    public var appraisalId: UUID
    public var previousLotId: UUID?
    public var round: Int64
    public var format: Format
    public var status: Status
    public var currency: String
    public var startsAt: Date
    public var endsAt: Date
    public var extensionWindowSeconds: Int64
    public var extensionSeconds: Int64
    public var prices: RoundPricing.Prices
    public var increments: [Policy.Increment]
    public var overrideReason: String?
    /// The fees of its sale, frozen when the lot is created (domain rules section 4): a
    /// later policy change never alters a running lot's invoice.
    public var fees: Policy.Fees = Policy.defaults.fees
    /// Whether only verified bidders may bid, frozen when the lot is created.
    public var requireVerified = false
    /// From when bidders see the lot: seven days before it opens (the catalogue), or from
    /// its creation where it is a judicial public announcement (拍卖公告).
    public var publicFrom: Date
    /// Holders of a priority purchase right, in rank order, frozen when the lot is created.
    public var priorityHolders: [UUID] = []
    /// Public bidding state, kept on the lot's row.
    public var currentPrice: Int64? = nil
    public var leaderId: UUID? = nil
    public var bidCount: Int64 = 0

    public init(
        id: UUID, vehicleId: UUID, consignorId: UUID, appraisalId: UUID, previousLotId: UUID?, round: Int64,
        format: Format, status: Status, currency: String, startsAt: Date, endsAt: Date,
        extensionWindowSeconds: Int64, extensionSeconds: Int64, prices: RoundPricing.Prices,
        increments: [Policy.Increment], overrideReason: String?
    ) {
        self.id = id
        self.vehicleId = vehicleId
        self.consignorId = consignorId
        self.appraisalId = appraisalId
        self.previousLotId = previousLotId
        self.round = round
        self.format = format
        self.status = status
        self.currency = currency
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.extensionWindowSeconds = extensionWindowSeconds
        self.extensionSeconds = extensionSeconds
        self.prices = prices
        self.increments = increments
        self.overrideReason = overrideReason
        publicFrom = startsAt.addingTimeInterval(-Lot.catalogueLead)
    }

    /// How long before it opens a lot shows in the bidders' catalogue.
    public static let catalogueLead: TimeInterval = 7 * 86_400

    /// The engine's view of this lot, given the maxima it needs.
    public func auction(maxima: [Auction.Maximum]) -> Auction {
        Auction(
            format: format, startsAt: startsAt, endsAt: endsAt, start: prices.start, reserve: prices.reserve,
            increments: increments, extensionWindowSeconds: extensionWindowSeconds, extensionSeconds: extensionSeconds,
            maxima: maxima, price: currentPrice, leader: leaderId, bidCount: bidCount,
            soldAtFixedPrice: format == .fixed && bidCount > 0, priorityHolders: priorityHolders)
    }

    /// A lot that ended without a sale and may be offered again.
    public var isRelistable: Bool { status == .unsold || status == .defaulted }
}

/// Plans the next lot of a vehicle: its round, prices, timing and soft-close
/// settings, from the policy, the approved appraisal and the vehicle's last lot.
public enum LotPlanning {
    public struct Schedule: Equatable, Sendable {
        public var format: Lot.Format
        public var startsAt: Date
        public var endsAt: Date
        public var extensionWindowSeconds: Int64?
        public var extensionSeconds: Int64?
        public init(format: Lot.Format, startsAt: Date, endsAt: Date, extensionWindowSeconds: Int64?, extensionSeconds: Int64?) {
            self.format = format
            self.startsAt = startsAt
            self.endsAt = endsAt
            self.extensionWindowSeconds = extensionWindowSeconds
            self.extensionSeconds = extensionSeconds
        }
    }

    public struct Override: Equatable, Sendable {
        public var startingPrice: Int64
        public var reserve: Int64
        public var reason: String
        public init(startingPrice: Int64, reserve: Int64, reason: String) {
            self.startingPrice = startingPrice
            self.reserve = reserve
            self.reason = reason
        }
    }

    public struct Plan: Equatable, Sendable {
        public var round: Int64
        public var prices: RoundPricing.Prices
        public var extensionWindowSeconds: Int64
        public var extensionSeconds: Int64
    }

    public enum Refusal: Error, Equatable, Sendable {
        /// The vehicle's last lot is live or sold: there is nothing to relist.
        case previousRoundNotFinished(status: Lot.Status)
        case invalid(ValidationFailure)
    }

    public static let judicialMinimumWindow: TimeInterval = 24 * 3_600

    static let englishOnly = FieldError(
        field: "format", message: "prc-judicial: auction rounds take ascending bids only (format english; SPC rules art. 20)",
        rule: "prc-judicial.english-auction-only")

    /// The auction rounds a vehicle's lots (oldest first) count, a re-auction after a
    /// default not counted where the policy re-runs the defaulted round.
    public static func roundsHeld(_ lots: [Lot], policy: Policy) -> Int64 {
        guard policy.reauctionsAfterDefault else { return lots.last?.round ?? 0 }
        let reauctions = zip(lots, lots.dropFirst()).filter { $0.0.status == .defaulted }.count
        return Int64(lots.count - reauctions)
    }

    /// `roundsHeld`: the auction rounds the vehicle has been through, re-auctions after a
    /// default not counted (nil: the previous lot's round).
    public static func plan(
        schedule: Schedule, override: Override?, previous: Lot?, roundsHeld: Int64? = nil, marketValue: Int64,
        liquidationValue: Int64, policy: Policy, now: Date
    ) throws(Refusal) -> Plan {
        var errors: [FieldError] = []
        let judicial = policy.ruleset == .prcJudicial
        if schedule.endsAt <= schedule.startsAt {
            errors.append(FieldError(field: "endsAt", message: "must be after startsAt"))
        } else if schedule.endsAt <= now {
            errors.append(FieldError(field: "endsAt", message: "must be in the future"))
        } else if judicial && schedule.endsAt.timeIntervalSince(schedule.startsAt) < judicialMinimumWindow {
            errors.append(FieldError(
                field: "endsAt", message: "prc-judicial: the bidding window must be at least 24 hours",
                rule: "prc-judicial.bidding-window-24-hours"))
        }
        let window = schedule.extensionWindowSeconds ?? policy.bidding.extensionWindowSeconds
        let extensionSeconds = schedule.extensionSeconds ?? policy.bidding.extensionSeconds
        if judicial && (window != 300 || extensionSeconds != 300) {
            errors.append(FieldError(
                field: window != 300 ? "extensionWindowSeconds" : "extensionSeconds",
                message: "prc-judicial: a bid in the last 5 minutes extends the sale by 5 minutes (300 s / 300 s)",
                rule: "prc-judicial.soft-close-300-seconds"))
        }

        var round: Int64 = 1
        var prices: RoundPricing.Prices?
        do {
            if let previous {
                guard previous.isRelistable else { throw Refusal.previousRoundNotFinished(status: previous.status) }
                round = previous.round + 1
                let held = roundsHeld ?? previous.round
                if previous.status == .defaulted && policy.reauctionsAfterDefault {
                    // A buyer's default (悔拍, SPC rules art. 24): the same sale again at the
                    // same prices, at the same stage, not a further round.
                    if judicial && schedule.format != previous.format {
                        errors.append(FieldError(
                            field: "format",
                            message: "prc-judicial: a re-auction after a default is held as the defaulted round was (\(previous.format.rawValue))",
                            rule: "prc-judicial.reauction-after-default"))
                    }
                    prices = previous.prices
                } else if held >= policy.pricing.maxRounds {
                    // Rounds exhausted: only a fixed-price sale (PRC 变卖) at the last round's start.
                    if schedule.format != .fixed {
                        errors.append(FieldError(
                            field: "format",
                            message: "after \(policy.pricing.maxRounds) rounds without a sale only a fixed-price sale is possible",
                            rule: judicial ? "prc-judicial.sale-at-fixed-price-after-two-auctions" : nil))
                    }
                    prices = try RoundPricing.finish(
                        start: previous.prices.start, reserve: previous.prices.start, policy: policy)
                } else {
                    prices = try RoundPricing.nextRound(previous: previous.prices, liquidationValue: liquidationValue, policy: policy)
                    if judicial && schedule.format != .english { errors.append(englishOnly) }
                }
            } else {
                prices = try RoundPricing.firstRound(marketValue: marketValue, policy: policy)
                if judicial && schedule.format != .english { errors.append(englishOnly) }
            }
            if let override {
                prices = try RoundPricing.override(
                    start: override.startingPrice, reserve: override.reserve, marketValue: marketValue, policy: policy)
            }
        } catch let refusal as Refusal {
            throw refusal
        } catch let failure as RoundPricing.Failure {
            switch failure {
            case .startAboveReserve:
                errors.append(FieldError(field: "override.startingPrice", message: "must not exceed override.reserve"))
            case .startBelowJudicialFloor(let minimum):
                errors.append(FieldError(
                    field: "override.startingPrice",
                    message: "prc-judicial: the starting price may not be below 70% of the market value (\(minimum))",
                    rule: "prc-judicial.start-at-least-70-percent"))
            case .overflow:
                errors.append(FieldError(field: "override", message: "the prices are out of range", code: .amountOutOfRange))
            case .depositOutsideJudicialRange:
                errors.append(FieldError(
                    field: override == nil ? "pricing.roundingUnit" : "override.startingPrice",
                    message: "prc-judicial: no deposit in multiples of the rounding unit is within 5% to 20% of the starting price",
                    rule: "prc-judicial.deposit-5-to-20-percent"))
            }
        } catch {
            // Only the two error types above are thrown in this block.
            errors.append(FieldError(field: "", message: "\(error)"))
        }
        guard errors.isEmpty, let prices else { throw .invalid(ValidationFailure(errors)) }
        return Plan(round: round, prices: prices, extensionWindowSeconds: window, extensionSeconds: extensionSeconds)
    }
}

// MARK: - What a lot shows, and when it opens: one place each in Swift (their SQL twins
// are listed in Docs/architecture.md with the tests that keep them equal).

extension Lot {
    /// A scheduled lot is open from `startsAt` (by the database's clock), until `endsAt`.
    public static func hasStarted(startsAt: Date, at now: Date) -> Bool { startsAt <= now }

    /// Sealed amounts (the price, whether the reserve is met, the bids) stay secret while
    /// bidding runs; after the close the winning price shows.
    public static func amountsHidden(format: Format, status: Status?) -> Bool {
        format == .sealed && (status == .scheduled || status == .open)
    }

    public var amountsHidden: Bool { Self.amountsHidden(format: format, status: status) }
}
