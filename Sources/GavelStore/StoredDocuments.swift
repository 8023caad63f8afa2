import Foundation
import GavelCore
import Synchronization

// The formats of the jsonb columns: written and read only here, as Codable documents.
// The API's shapes (GavelCore's `json` forms, GavelWorkflows' records) are another
// thing: they may change without a stored row becoming unreadable, and a change to a
// format here is a migration. Today each document has the keys the API shows, because
// that is what the rows written so far hold. `place_bid` (SQL/0005) reads the
// increments' keys `below` and `step` as well.
//
// Two columns keep documents as they were issued and are not formats of this kind: a
// settlement statement's `body` (the statement as issued, answered verbatim) and the
// audit trail's `before` and `after`.

/// A jsonb column's format: its Codable `Form`, made from the domain value and read back to it.
protocol StoredDocument {
    associatedtype Value
    associatedtype Form: Codable
    static func form(_ value: Value) -> Form
    static func value(_ form: Form) throws -> Value
}

extension StoredDocument {
    /// The column's text.
    static func text(_ value: Value) -> String { JSONText.encode(form(value)) }

    /// The column's value read back; `what` names the row in the error.
    static func read(_ text: String, _ what: @autoclosure () -> String) throws -> Value {
        try decoded(text, what())
    }

    /// The column's value decoded from its text (what `read` does, past any cache).
    static func decoded(_ text: String, _ what: @autoclosure () -> String) throws -> Value {
        do {
            return try value(JSONText.decode(Form.self, from: text))
        } catch {
            throw StoredDataCorrupt(description: "\(what()) no longer reads: \(error)")
        }
    }
}

/// A document many rows hold the same copy of: a consignor's lots all carry its fees and
/// increments, and each read of a lot decoded them again (JSONDecoder was a fifth of the
/// closer's CPU in a close storm, Docs/benchmarks.md). Read through a cache of the
/// column's text: the value is a pure function of the text, so a copy kept in memory is
/// never stale, whatever another instance writes.
protocol RepeatedDocument: StoredDocument where Value: Sendable {}

extension RepeatedDocument {
    static func read(_ text: String, _ what: @autoclosure () -> String) throws -> Value {
        let key = DocumentCache.Key(document: ObjectIdentifier(Self.self), text: text)
        if let value = DocumentCache.shared.value(for: key) as? Value { return value }
        let value = try decoded(text, what())
        DocumentCache.shared.store(value, for: key)
        return value
    }
}

/// The values of repeated documents by their text, shared by every connection. Bounded:
/// past `capacity` texts it starts again empty (a few policies and fee schedules are
/// what it holds in practice).
final class DocumentCache: Sendable {
    struct Key: Hashable, Sendable {
        var document: ObjectIdentifier
        var text: String
    }

    static let shared = DocumentCache(capacity: 512)

    private let capacity: Int
    private let values = Mutex<[Key: any Sendable]>([:])

    init(capacity: Int) { self.capacity = capacity }

    func value(for key: Key) -> (any Sendable)? { values.withLock { $0[key] } }

    func store(_ value: any Sendable, for key: Key) {
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[key] = value
        }
    }
}

/// A document that is its own form: a struct of the column's members.
protocol SelfFormed: StoredDocument, Codable where Form == Self {
    init(_ value: Value)
    func value() throws -> Value
}

extension SelfFormed {
    static func form(_ value: Value) -> Self { Self(value) }
    static func value(_ form: Self) throws -> Value { try form.value() }
}

/// A stored value out of its range (the document decoded, the value cannot be).
struct StoredValueOutOfRange: Error, CustomStringConvertible {
    let description: String
}

// MARK: - consignors.policy and lots.fees, lots.increments

struct FeesDocument: SelfFormed, RepeatedDocument, Equatable {
    typealias Value = Policy.Fees

    var buyerPremiumBp: Int64
    var buyerPremiumMin: Int64
    var buyerPremiumMax: Int64
    var docFee: Int64
    var sellerFeeBp: Int64
    var paymentDueDays: Int64

    init(_ fees: Policy.Fees) {
        buyerPremiumBp = fees.buyerPremiumBp
        buyerPremiumMin = fees.buyerPremiumMin
        buyerPremiumMax = fees.buyerPremiumMax
        docFee = fees.docFee
        sellerFeeBp = fees.sellerFeeBp
        paymentDueDays = fees.paymentDueDays
    }

    /// The bounds the policy's validation gives them: a lot's fees are read when it is
    /// invoiced, and a copy altered outside Gavel must not reach an invoice.
    func value() throws -> Policy.Fees {
        guard (0...10_000).contains(buyerPremiumBp), (0...10_000).contains(sellerFeeBp), (1...90).contains(paymentDueDays),
              [buyerPremiumMin, buyerPremiumMax, docFee].allSatisfy(Money.range.contains)
        else { throw StoredValueOutOfRange(description: "fees out of their ranges") }
        var fees = Policy.defaults.fees
        fees.buyerPremiumBp = buyerPremiumBp
        fees.buyerPremiumMin = buyerPremiumMin
        fees.buyerPremiumMax = buyerPremiumMax
        fees.docFee = docFee
        fees.sellerFeeBp = sellerFeeBp
        fees.paymentDueDays = paymentDueDays
        return fees
    }
}

struct IncrementDocument: Codable, Equatable {
    /// nil (JSON null) for the last band; encoded explicitly, as `place_bid` reads it.
    var below: Int64?
    var step: Int64

    init(_ band: Policy.Increment) {
        below = band.below
        step = band.step
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(below, forKey: .below)
        try container.encode(step, forKey: .step)
    }
}

enum IncrementsDocument: RepeatedDocument {
    static func form(_ value: [Policy.Increment]) -> [IncrementDocument] { value.map(IncrementDocument.init) }

    static func value(_ bands: [IncrementDocument]) throws -> [Policy.Increment] {
        guard !bands.isEmpty, bands.allSatisfy({ $0.step > 0 }) else {
            throw StoredValueOutOfRange(description: "an increment table needs bands with positive steps")
        }
        return bands.map { Policy.Increment(below: $0.below, step: $0.step) }
    }
}

struct PolicyDocument: SelfFormed, RepeatedDocument {
    typealias Value = Policy

    struct ConditionPoint: Codable {
        /// The grade as a decimal number (3.5), as the policy was first stored.
        var grade: Double
        var bp: Int64
    }

    struct Valuation: Codable {
        var depreciationBpPerYear: Int64
        var mileageRatePerKm: Int64
        var minComparables: Int64
        var maxComparableAgeDays: Int64
        var liquidationBp: Int64
        var conditionCurve: [ConditionPoint]
    }

    struct Pricing: Codable {
        var startBp: Int64
        var reserveBp: Int64
        var stepDownBp: Int64
        var depositBp: Int64
        var roundingUnit: Int64
        var maxRounds: Int64
        /// Absent from policies stored before it: step-down.
        var relistAfterDefault: String?
    }

    struct Notice: Codable {
        var minDays: Int64
    }

    struct Bidding: Codable {
        var increments: [IncrementDocument]
        var extensionWindowSeconds: Int64
        var extensionSeconds: Int64
        var approvalHours: Int64
        /// Absent from policies stored before it: false.
        var requireVerifiedBidder: Bool?
    }

    struct Settlement: Codable {
        var allocationOrder: [String]
        /// Absent from policies stored before the second round: they read the default.
        var contact: String?
    }

    var ruleset: String
    var valuation: Valuation
    var pricing: Pricing
    var bidding: Bidding
    var fees: FeesDocument
    var settlement: Settlement
    /// Absent from policies stored before it: the default period.
    var notice: Notice?

    init(_ policy: Policy) {
        ruleset = policy.ruleset.rawValue
        let v = policy.valuation
        valuation = Valuation(
            depreciationBpPerYear: v.depreciationBpPerYear, mileageRatePerKm: v.mileageRatePerKm,
            minComparables: v.minComparables, maxComparableAgeDays: v.maxComparableAgeDays, liquidationBp: v.liquidationBp,
            conditionCurve: v.conditionCurve.map { ConditionPoint(grade: Double($0.gradeTenths) / 10, bp: $0.bp) })
        let p = policy.pricing
        pricing = Pricing(
            startBp: p.startBp, reserveBp: p.reserveBp, stepDownBp: p.stepDownBp, depositBp: p.depositBp,
            roundingUnit: p.roundingUnit, maxRounds: p.maxRounds, relistAfterDefault: p.relistAfterDefault.rawValue)
        let b = policy.bidding
        bidding = Bidding(
            increments: IncrementsDocument.form(b.increments), extensionWindowSeconds: b.extensionWindowSeconds,
            extensionSeconds: b.extensionSeconds, approvalHours: b.approvalHours, requireVerifiedBidder: b.requireVerifiedBidder)
        fees = FeesDocument(policy.fees)
        settlement = Settlement(
            allocationOrder: policy.settlement.allocationOrder.map(\.rawValue), contact: policy.settlement.contact)
        notice = Notice(minDays: policy.notice.minDays)
    }

    /// The policy, validated again as a whole (the rules between its members, the
    /// ruleset's) by the same function that validates a policy sent to the API.
    func value() throws -> Policy {
        guard let ruleset = Policy.Ruleset(rawValue: ruleset),
              let order = Optional(settlement.allocationOrder.compactMap(Policy.ObligationBucket.init(rawValue:))),
              order.count == settlement.allocationOrder.count
        else { throw StoredValueOutOfRange(description: "unknown ruleset or allocation bucket") }
        var policy = Policy()
        policy.ruleset = ruleset
        policy.valuation.depreciationBpPerYear = valuation.depreciationBpPerYear
        policy.valuation.mileageRatePerKm = valuation.mileageRatePerKm
        policy.valuation.minComparables = valuation.minComparables
        policy.valuation.maxComparableAgeDays = valuation.maxComparableAgeDays
        policy.valuation.liquidationBp = valuation.liquidationBp
        policy.valuation.conditionCurve = valuation.conditionCurve.map {
            Policy.ConditionPoint(gradeTenths: Int64(($0.grade * 10).rounded()), bp: $0.bp)
        }
        policy.pricing.startBp = pricing.startBp
        policy.pricing.reserveBp = pricing.reserveBp
        policy.pricing.stepDownBp = pricing.stepDownBp
        policy.pricing.depositBp = pricing.depositBp
        policy.pricing.roundingUnit = pricing.roundingUnit
        policy.pricing.maxRounds = pricing.maxRounds
        if let relist = pricing.relistAfterDefault {
            guard let value = Policy.RelistAfterDefault(rawValue: relist) else {
                throw StoredValueOutOfRange(description: "unknown relistAfterDefault \(relist)")
            }
            policy.pricing.relistAfterDefault = value
        }
        policy.bidding.increments = try IncrementsDocument.value(bidding.increments)
        policy.bidding.extensionWindowSeconds = bidding.extensionWindowSeconds
        policy.bidding.extensionSeconds = bidding.extensionSeconds
        policy.bidding.approvalHours = bidding.approvalHours
        policy.bidding.requireVerifiedBidder = bidding.requireVerifiedBidder ?? false
        policy.fees = try fees.value()
        policy.settlement.allocationOrder = order
        policy.settlement.contact = settlement.contact ?? Policy.Settlement.defaultContact
        policy.notice.minDays = notice?.minDays ?? Policy.defaults.notice.minDays
        return try policy.validated()
    }
}

// MARK: - cases: borrower, guarantors, lienholders, credits

struct BorrowerDocument: SelfFormed {
    typealias Value = LoanCase.Borrower

    var name: String
    var idNumber: String?
    var address: String?

    init(_ borrower: LoanCase.Borrower) {
        name = borrower.name
        idNumber = borrower.idNumber
        address = borrower.address
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(idNumber, forKey: .idNumber)
        try container.encode(address, forKey: .address)
    }

    func value() -> LoanCase.Borrower { LoanCase.Borrower(name: name, idNumber: idNumber, address: address) }
}

enum GuarantorsDocument: StoredDocument {
    /// Cases stored before the second round hold only names: their guarantees read as
    /// general, as PRC Civil Code art. 686 reads a guarantee whose type was not agreed.
    struct Guarantor: Codable {
        var name: String
        var guaranteeType: String?
        var cap: Int64?
        var address: String?
    }

    static func form(_ guarantors: [LoanCase.Guarantor]) -> [Guarantor] {
        guarantors.map { Guarantor(name: $0.name, guaranteeType: $0.guaranteeType.rawValue, cap: $0.cap, address: $0.address) }
    }

    static func value(_ form: [Guarantor]) throws -> [LoanCase.Guarantor] {
        try form.map { stored in
            guard let type = LoanCase.GuaranteeType(rawValue: stored.guaranteeType ?? "general"),
                  stored.cap.map(Money.isInRange) ?? true
            else { throw StoredValueOutOfRange(description: "a guarantor's type or cap is out of range") }
            return LoanCase.Guarantor(name: stored.name, guaranteeType: type, cap: stored.cap, address: stored.address)
        }
    }
}

enum LienholdersDocument: StoredDocument {
    struct Lienholder: Codable {
        var name: String
        var amount: Int64
        var priority: Int64
        var eligible: Bool
        var address: String?
        var demandReceivedAt: String?
    }

    static func form(_ value: [LoanCase.Lienholder]) -> [Lienholder] {
        value.map {
            Lienholder(
                name: $0.name, amount: $0.amount, priority: $0.priority, eligible: $0.eligible, address: $0.address,
                demandReceivedAt: $0.demandReceivedAt?.description)
        }
    }

    static func value(_ form: [Lienholder]) throws -> [LoanCase.Lienholder] {
        try form.map { stored in
            let demand = try stored.demandReceivedAt.map { text -> CalendarDate in
                guard let day = CalendarDate(iso: text) else { throw StoredValueOutOfRange(description: "a junior's demand day does not parse") }
                return day
            }
            return LoanCase.Lienholder(
                name: stored.name, amount: stored.amount, priority: stored.priority, eligible: stored.eligible, address: stored.address,
                demandReceivedAt: demand)
        }
    }
}

enum CreditsDocument: StoredDocument {
    struct Credit: Codable {
        var label: String
        var amount: Int64
    }

    static func form(_ value: [LoanCase.Credit]) -> [Credit] { value.map { Credit(label: $0.label, amount: $0.amount) } }
    static func value(_ form: [Credit]) -> [LoanCase.Credit] { form.map { LoanCase.Credit(label: $0.label, amount: $0.amount) } }
}

/// The collateral's owner, where it is not the borrower: the borrower's form.
enum OwnerDocument: StoredDocument {
    static func form(_ value: LoanCase.Borrower) -> BorrowerDocument { BorrowerDocument(value) }
    static func value(_ form: BorrowerDocument) -> LoanCase.Borrower { form.value() }
}

enum IdNumbersDocument: StoredDocument {
    static func form(_ value: [String]) -> [String] { value }
    static func value(_ form: [String]) -> [String] { form }
}

// MARK: - appraisals: damages, comparables

enum DamagesDocument: StoredDocument {
    struct Damage: Codable {
        var item: String
        var repairCost: Int64
    }

    static func form(_ value: [Valuation.Damage]) -> [Damage] { value.map { Damage(item: $0.item, repairCost: $0.repairCost) } }
    static func value(_ form: [Damage]) -> [Valuation.Damage] { form.map { Valuation.Damage(item: $0.item, repairCost: $0.repairCost) } }
}

enum ComparablesDocument: StoredDocument {
    struct Comparable: Codable {
        var price: Int64
        var year: Int64
        var mileageKm: Int64
        var soldOn: String
        var adjustedPrice: Int64?
        var used: Bool
        /// Absent, not null, when there is none.
        var reason: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(price, forKey: .price)
            try container.encode(year, forKey: .year)
            try container.encode(mileageKm, forKey: .mileageKm)
            try container.encode(soldOn, forKey: .soldOn)
            try container.encode(adjustedPrice, forKey: .adjustedPrice)
            try container.encode(used, forKey: .used)
            try container.encodeIfPresent(reason, forKey: .reason)
        }
    }
    static func form(_ value: [Valuation.AdjustedComparable]) -> [Comparable] {
        value.map {
            Comparable(
                price: $0.comparable.price, year: $0.comparable.year, mileageKm: $0.comparable.mileageKm,
                soldOn: $0.comparable.soldOn.description, adjustedPrice: $0.adjustedPrice, used: $0.used, reason: $0.reason)
        }
    }
    static func value(_ form: [Comparable]) throws -> [Valuation.AdjustedComparable] {
        try form.map { entry in
            guard let soldOn = CalendarDate(iso: entry.soldOn) else {
                throw StoredValueOutOfRange(description: "soldOn \(entry.soldOn) is not a date")
            }
            return Valuation.AdjustedComparable(
                comparable: Valuation.Comparable(price: entry.price, year: entry.year, mileageKm: entry.mileageKm, soldOn: soldOn),
                adjustedPrice: entry.adjustedPrice, used: entry.used, reason: entry.reason)
        }
    }
}
