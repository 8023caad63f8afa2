import Foundation

/// The bidding engine (domain rules section 5): proxy bidding for English lots,
/// sealed first-price bids, fixed-price sales, soft close, and the closing outcome.
/// Pure: the clock, bid sequence numbers and bidder IDs come in as values.
public struct Auction: Equatable, Sendable {
    /// A bidder's latest maximum (English), sealed amount, or fixed-price bid.
    public struct Maximum: Equatable, Sendable {
        public var bidder: UUID
        public var amount: Int64
        /// When it was placed, as the store's bid sequence: earlier wins ties.
        public var sequence: Int64
        public init(bidder: UUID, amount: Int64, sequence: Int64) {
            self.bidder = bidder
            self.amount = amount
            self.sequence = sequence
        }
    }

    public var format: Lot.Format
    public var startsAt: Date
    public var endsAt: Date
    public var start: Int64
    public var reserve: Int64
    public var increments: [Policy.Increment]
    public var extensionWindowSeconds: Int64
    public var extensionSeconds: Int64
    /// The maxima the decision needs: at least the two highest and the bidder's own.
    public var maxima: [Maximum]
    /// The public price; nil before the first accepted bid.
    public var price: Int64?
    public var leader: UUID?
    public var bidCount: Int64
    /// A fixed-price lot closes at its first accepted bid.
    public var soldAtFixedPrice: Bool
    /// Holders of a priority purchase right (优先购买权), earlier ranks first (domain rules
    /// section 11): they may bid the current price, and win ties.
    public var priorityHolders: [UUID] = []

    public init(
        format: Lot.Format, startsAt: Date, endsAt: Date, start: Int64, reserve: Int64, increments: [Policy.Increment],
        extensionWindowSeconds: Int64, extensionSeconds: Int64, maxima: [Maximum] = [], price: Int64? = nil,
        leader: UUID? = nil, bidCount: Int64 = 0, soldAtFixedPrice: Bool = false, priorityHolders: [UUID] = []
    ) {
        self.format = format
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.start = start
        self.reserve = reserve
        self.increments = increments
        self.extensionWindowSeconds = extensionWindowSeconds
        self.extensionSeconds = extensionSeconds
        self.maxima = maxima
        self.price = price
        self.leader = leader
        self.bidCount = bidCount
        self.soldAtFixedPrice = soldAtFixedPrice
        self.priorityHolders = priorityHolders
    }

    public enum Rejection: Error, Equatable, Sendable {
        case lotNotOpen
        case bidTooLow(minimumNextBid: Int64)
        case bidNotHigher(currentMaximum: Int64)
        /// A fixed-price bid that is not the price.
        case notTheFixedPrice(price: Int64)
    }

    public struct Acceptance: Equatable, Sendable {
        public var price: Int64
        public var leader: UUID
        public var endsAt: Date
        public var extended: Bool
        public var minimumNextBid: Int64
        /// Fixed price: this bid bought the vehicle and closed the lot.
        public var closesLot: Bool

        public init(price: Int64, leader: UUID, endsAt: Date, extended: Bool, minimumNextBid: Int64, closesLot: Bool) {
            self.price = price
            self.leader = leader
            self.endsAt = endsAt
            self.extended = extended
            self.minimumNextBid = minimumNextBid
            self.closesLot = closesLot
        }
    }

    // MARK: - Rules

    /// The step above `price`, from the lot's increment table.
    public static func increment(at price: Int64, in table: [Policy.Increment]) -> Int64 {
        for band in table {
            guard let below = band.below else { return band.step }
            if price < below { return band.step }
        }
        return table.last?.step ?? 1
    }

    /// The lowest maximum this bidder may place: a priority holder that does not lead may
    /// meet the current price itself (SPC 2016 rules art. 19); everyone else must beat it.
    public func minimumNextBid(for bidder: UUID) -> Int64 {
        if format == .english, let price, leader != bidder, priorityHolders.contains(bidder) { return price }
        return minimumNextBid
    }

    public var minimumNextBid: Int64 {
        guard let price else { return start }
        switch format {
        case .english:
            let (next, overflow) = price.addingReportingOverflow(Self.increment(at: price, in: increments))
            return overflow ? .max : next
        case .sealed, .fixed:
            return start
        }
    }

    public func isOpen(at now: Date) -> Bool {
        !soldAtFixedPrice && Lot.hasStarted(startsAt: startsAt, at: now) && now < endsAt
    }

    public var reserveMet: Bool { price.map { $0 >= reserve } ?? false }

    /// Maxima ranked: highest first; among equals a priority holder first (earlier in the
    /// list before later), then the earlier maximum.
    public static func ranked(_ maxima: [Maximum], priorityHolders: [UUID] = []) -> [Maximum] {
        func rank(_ bidder: UUID) -> Int { priorityHolders.firstIndex(of: bidder) ?? Int.max }
        return maxima.sorted { a, b in
            if a.amount != b.amount { return a.amount > b.amount }
            let (ra, rb) = (rank(a.bidder), rank(b.bidder))
            if ra != rb { return ra < rb }
            return a.sequence < b.sequence
        }
    }

    /// This lot's maxima ranked.
    public var ranking: [Maximum] { Self.ranked(maxima, priorityHolders: priorityHolders) }

    // MARK: - Placing a bid

    /// Decides one bid. On acceptance the state is updated (maximum, price, leader,
    /// possibly `endsAt`); on rejection it is unchanged.
    public mutating func place(bidder: UUID, amount: Int64, sequence: Int64, now: Date) -> Result<Acceptance, Rejection> {
        guard isOpen(at: now) else { return .failure(.lotNotOpen) }
        switch format {
        case .english: return placeProxy(bidder: bidder, amount: amount, sequence: sequence, now: now)
        case .sealed: return placeSealed(bidder: bidder, amount: amount, sequence: sequence, now: now)
        case .fixed: return placeFixed(bidder: bidder, amount: amount, sequence: sequence, now: now)
        }
    }

    private mutating func placeProxy(bidder: UUID, amount: Int64, sequence: Int64, now: Date) -> Result<Acceptance, Rejection> {
        let own = maxima.first { $0.bidder == bidder }
        if leader == bidder, let own {
            // The leader may only raise their own maximum.
            guard amount > own.amount else { return .failure(.bidNotHigher(currentMaximum: own.amount)) }
        } else {
            let minimum = minimumNextBid(for: bidder)
            guard amount >= minimum else { return .failure(.bidTooLow(minimumNextBid: minimum)) }
        }
        maxima.removeAll { $0.bidder == bidder }
        maxima.append(Maximum(bidder: bidder, amount: amount, sequence: sequence))
        let ranking = self.ranking
        let first = ranking[0]
        var newPrice: Int64
        if ranking.count == 1 {
            newPrice = start
        } else {
            let second = ranking[1].amount
            let (challenge, overflow) = second.addingReportingOverflow(Self.increment(at: second, in: increments))
            newPrice = min(first.amount, overflow ? first.amount : challenge)
        }
        if first.amount >= reserve && newPrice < reserve { newPrice = reserve }
        // The public price never goes down (a leader raising their own maximum leaves it
        // where the second bidder put it).
        newPrice = max(newPrice, price ?? newPrice)
        price = newPrice
        leader = first.bidder
        bidCount += 1
        let extended = extendIfClosing(now: now)
        return .success(Acceptance(
            price: newPrice, leader: first.bidder, endsAt: endsAt, extended: extended, minimumNextBid: minimumNextBid,
            closesLot: false))
    }

    private mutating func placeSealed(bidder: UUID, amount: Int64, sequence: Int64, now: Date) -> Result<Acceptance, Rejection> {
        guard amount >= start else { return .failure(.bidTooLow(minimumNextBid: start)) }
        maxima.removeAll { $0.bidder == bidder }
        maxima.append(Maximum(bidder: bidder, amount: amount, sequence: sequence))
        bidCount += 1
        // Nothing about the amounts is public until the close: the price stays the start
        // (as `place_bid` stores it), the amounts are only in the maxima.
        let top = ranking[0]
        leader = top.bidder
        price = start
        return .success(Acceptance(
            price: start, leader: top.bidder, endsAt: endsAt, extended: false, minimumNextBid: start, closesLot: false))
    }

    private mutating func placeFixed(bidder: UUID, amount: Int64, sequence: Int64, now: Date) -> Result<Acceptance, Rejection> {
        guard amount >= start else { return .failure(.bidTooLow(minimumNextBid: start)) }
        guard amount == start else { return .failure(.notTheFixedPrice(price: start)) }
        maxima = [Maximum(bidder: bidder, amount: amount, sequence: sequence)]
        price = start
        leader = bidder
        bidCount += 1
        soldAtFixedPrice = true
        // The sale ends the lot at the bid's instant; the closer takes it from there.
        endsAt = now
        return .success(Acceptance(
            price: start, leader: bidder, endsAt: now, extended: false, minimumNextBid: start, closesLot: true))
    }

    /// Soft close: a bid in the last `extensionWindowSeconds` moves the end to
    /// `now + extensionSeconds`, never earlier.
    private mutating func extendIfClosing(now: Date) -> Bool {
        let windowStart = endsAt.addingTimeInterval(-TimeInterval(extensionWindowSeconds))
        guard now >= windowStart else { return false }
        let proposed = now.addingTimeInterval(TimeInterval(extensionSeconds))
        guard proposed > endsAt else { return false }
        endsAt = proposed
        return true
    }

    // MARK: - Closing

    public enum Outcome: Equatable, Sendable, CustomStringConvertible {
        case unsold
        case sold(price: Int64, winner: UUID)
        /// Below the reserve: a manager accepts or rejects within the approval period.
        case pendingApproval(price: Int64, leader: UUID)

        /// For the closer's log line, one per lot closed: written out here because the
        /// reflection Swift falls back on was a twentieth of a close storm's CPU.
        public var description: String {
            switch self {
            case .unsold: "unsold"
            case .sold(let price, let winner): "sold for \(price) to \(winner.uuidString.lowercased())"
            case .pendingApproval(let price, let leader): "pending approval at \(price), led by \(leader.uuidString.lowercased())"
            }
        }
    }

    public var outcome: Outcome {
        switch format {
        case .english, .fixed:
            guard let price, let leader else { return .unsold }
            return price >= reserve ? .sold(price: price, winner: leader) : .pendingApproval(price: price, leader: leader)
        case .sealed:
            guard let top = ranking.first else { return .unsold }
            // First-price: the winner pays their own amount.
            return top.amount >= reserve
                ? .sold(price: top.amount, winner: top.bidder)
                : .pendingApproval(price: top.amount, leader: top.bidder)
        }
    }
}

// MARK: - The whole bid decision, as `place_bid` (SQL/0005) takes it

/// Why a bid is refused before or by the engine's rules.
public enum BidRefusal: Error, Equatable, Sendable {
    case lotNotFound
    case depositRequired(amount: Int64)
    case bidderBarred
    /// The lot asks for a verified identity (with its licence in force) and the bidder has none.
    case bidderNotVerified
    /// The bidder is related to the consignor (UCC §9-615(f)).
    case bidderRelatedParty
    case rejected(Auction.Rejection)
}

/// What `place_bid` looks at besides the engine's state: the lot's status as stored,
/// bars after a default, and deposits held (domain rules section 5). With the engine,
/// the Swift reference of every answer `place_bid` gives.
public struct BidAdmission: Equatable, Sendable {
    /// Only a lot stored `scheduled` takes bids (open from its start by the clock);
    /// every other status is after the close (or a cancellation).
    public var storedStatus: Lot.Status
    public var depositAmount: Int64
    /// Bidders barred from this lot's vehicle.
    public var barred: Set<UUID>
    /// Each bidder's deposit held for this lot.
    public var heldDeposits: [UUID: Int64]
    /// The lot takes bids from verified bidders only (frozen at its creation).
    public var requireVerified: Bool
    /// Bidders with a verified identity whose licence is in force.
    public var verified: Set<UUID>
    /// Bidders related to the consignor.
    public var related: Set<UUID>

    public init(
        storedStatus: Lot.Status, depositAmount: Int64, barred: Set<UUID>, heldDeposits: [UUID: Int64],
        requireVerified: Bool = false, verified: Set<UUID> = [], related: Set<UUID> = []
    ) {
        self.storedStatus = storedStatus
        self.depositAmount = depositAmount
        self.barred = barred
        self.heldDeposits = heldDeposits
        self.requireVerified = requireVerified
        self.verified = verified
        self.related = related
    }
}

extension Auction {
    /// Decides a bid as `place_bid` does, checks in its order (domain rules section 5):
    /// the lot open (its stored status and its times), a verified identity where the lot
    /// asks for one, not a related party, then a bar (a barred bidder could not cure it
    /// with a deposit), then the deposit, then the engine's rules.
    public mutating func decide(
        bidder: UUID, amount: Int64, sequence: Int64, now: Date, admission: BidAdmission
    ) -> Result<Acceptance, BidRefusal> {
        guard admission.storedStatus == .scheduled, isOpen(at: now) else { return .failure(.rejected(.lotNotOpen)) }
        if admission.requireVerified && !admission.verified.contains(bidder) { return .failure(.bidderNotVerified) }
        if admission.related.contains(bidder) { return .failure(.bidderRelatedParty) }
        if admission.barred.contains(bidder) { return .failure(.bidderBarred) }
        if admission.depositAmount > 0 && (admission.heldDeposits[bidder] ?? -1) < admission.depositAmount {
            return .failure(.depositRequired(amount: admission.depositAmount))
        }
        return place(bidder: bidder, amount: amount, sequence: sequence, now: now).mapError { .rejected($0) }
    }
}
