import Foundation
import GavelCore
import GavelStore

// The API's answers as Encodable types: what api-contract.md shows of each record, and
// nothing of how the store keeps it (the jsonb formats are GavelStore's
// `StoredDocuments.swift`). The audit trail keeps the same shapes (`record`), so that
// the trail reads like the answers.
//
// Encoded with sorted keys by `JSONText`. A member the contract shows as null when there
// is nothing is `@Nullable`; a member only some callers see is a plain optional, left
// out when nil. IDs are lowercase, instants RFC 3339 to the second (`Date.rfc3339`).

/// A member written as `null` when it has no value, instead of being left out.
@propertyWrapper
public struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension JSONValue {
    /// An answer as a document (for the audit trail, and for tests).
    public init(answer: some Encodable) {
        // Our answers always encode (JSONText.encode relies on the same).
        self = try! JSONValue(encoding: answer)
    }
}

extension UUID {
    /// How an answer writes an ID.
    public var answer: String { uuidString.lowercased() }
}

/// One page of a list and the cursor of the next.
public struct PageAnswer<Item: Encodable & Sendable>: Encodable, Sendable {
    public var items: [Item]
    @Nullable public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

// MARK: - Parties

public struct UserAnswer: Encodable, Sendable {
    public var id: String
    public var name: String
    public var role: String
    @Nullable public var consignorId: String?
    /// Only in the answer that creates the user (and withheld from its replay).
    public var token: Nullable<String>?
    public var tokenWithheld: Bool?
    /// In the admin's list and the revocation's answer: its tokens no longer work.
    public var revoked: Bool?

    public init(_ user: User, token: String?) {
        id = user.id.answer
        name = user.name
        role = user.role.rawValue
        consignorId = user.consignorId?.answer
        self.token = token.map(Nullable.init)
    }
}

public struct ConsignorAnswer: Encodable, Sendable {
    public var id: String
    public var name: String
    public var currency: String
    /// The policy in the contract's shape, which `Policy.parse` reads back.
    public var policy: JSONValue

    public init(_ consignor: Consignor) {
        id = consignor.id.answer
        name = consignor.name
        currency = consignor.currency
        policy = consignor.policy.json
    }
}

// MARK: - Cases, vehicles, appraisals

public struct CaseAnswer: Encodable, Sendable {
    public struct Borrower: Encodable, Sendable {
        public var name: String
        @Nullable public var idNumber: String?
        @Nullable public var address: String?
    }

    public struct Guarantor: Encodable, Sendable {
        public var name: String
        public var guaranteeType: String
        @Nullable public var cap: Int64?
        /// Where its notices go, when known.
        public var address: String?
    }

    public struct Balances: Encodable, Sendable {
        public var principal: Int64
        public var interest: Int64
        public var fees: Int64
        public var perDiemInterest: Int64
        public var asOf: String
    }

    public struct Lienholder: Encodable, Sendable {
        public var name: String
        public var amount: Int64
        public var priority: Int64
        public var eligible: Bool
        public var address: String?
        /// The day its authenticated demand arrived, once recorded.
        public var demandReceivedAt: String?
    }

    public struct Credit: Encodable, Sendable {
        public var label: String
        public var amount: Int64
    }

    public var id: String
    public var consignorId: String
    public var loanNumber: String
    public var currency: String
    public var borrower: Borrower
    public var guarantors: [Guarantor]
    public var balances: Balances
    public var lienholders: [Lienholder]
    public var credits: [Credit]
    /// The collateral's owner where it is not the borrower (a surplus is refunded to it).
    @Nullable public var collateralOwner: Borrower?
    /// ID numbers of people related to the consignor: they may not bid on the case's lots.
    public var excludedIdNumbers: [String]
    public var status: String
    /// In the case read by its ID, not in lists.
    public var vehicles: [VehicleAnswer]?

    public init(_ loanCase: LoanCase, currency: String, vehicles: [Vehicle]?) {
        id = loanCase.id.answer
        consignorId = loanCase.consignorId.answer
        loanNumber = loanCase.loanNumber
        self.currency = currency
        borrower = Borrower(name: loanCase.borrower.name, idNumber: loanCase.borrower.idNumber, address: loanCase.borrower.address)
        guarantors = loanCase.guarantors.map {
            Guarantor(name: $0.name, guaranteeType: $0.guaranteeType.rawValue, cap: $0.cap, address: $0.address)
        }
        let b = loanCase.balances
        balances = Balances(
            principal: b.principal, interest: b.interest, fees: b.fees, perDiemInterest: b.perDiemInterest, asOf: b.asOf.description)
        lienholders = loanCase.lienholders.map {
            Lienholder(
                name: $0.name, amount: $0.amount, priority: $0.priority, eligible: $0.eligible, address: $0.address,
                demandReceivedAt: $0.demandReceivedAt?.description)
        }
        credits = loanCase.credits.map { Credit(label: $0.label, amount: $0.amount) }
        collateralOwner = loanCase.collateralOwner.map {
            Borrower(name: $0.name, idNumber: $0.idNumber, address: $0.address)
        }
        excludedIdNumbers = loanCase.excludedIdNumbers
        status = loanCase.status.rawValue
        self.vehicles = vehicles?.map(VehicleAnswer.init)
    }
}

public struct VehicleAnswer: Encodable, Sendable {
    public var id: String
    public var caseId: String
    public var vin: String
    public var make: String
    public var model: String
    public var year: Int64
    public var mileageKm: Int64
    @Nullable public var color: String?
    @Nullable public var location: String?
    public var hasKeys: Bool
    public var titleStatus: String
    public var repossessedOn: String
    public var status: String
    /// Why it went back to the consignor, once returned.
    public var returnReason: String?
    /// In the vehicle read by its ID (staff), with its lots.
    public var appraisals: [AppraisalAnswer]?
    public var lots: [LotAnswer]?

    public init(_ vehicle: Vehicle) {
        id = vehicle.id.answer
        caseId = vehicle.caseId.answer
        vin = vehicle.vin.value
        make = vehicle.make
        model = vehicle.model
        year = vehicle.year
        mileageKm = vehicle.mileageKm
        color = vehicle.color
        location = vehicle.location
        hasKeys = vehicle.hasKeys
        titleStatus = vehicle.titleStatus
        repossessedOn = vehicle.repossessedOn.description
        status = vehicle.status.rawValue
    }
}

public struct AppraisalAnswer: Encodable, Sendable {
    public struct Damage: Encodable, Sendable {
        public var item: String
        public var repairCost: Int64
    }

    public struct Comparable: Encodable, Sendable {
        public var price: Int64
        public var year: Int64
        public var mileageKm: Int64
        public var soldOn: String
        @Nullable public var adjustedPrice: Int64?
        public var used: Bool
        /// Why a comparable was left out; absent for one that was used.
        public var reason: String?
    }

    public var id: String
    public var vehicleId: String
    public var authorId: String
    public var method: String
    public var status: String
    public var valuationDate: String
    /// The grade as a decimal (3.5).
    public var conditionGrade: Double
    public var damages: [Damage]
    public var comparables: [Comparable]
    @Nullable public var baseValue: Int64?
    @Nullable public var conditionBp: Int64?
    public var damageTotal: Int64
    public var marketValue: Int64
    public var liquidationValue: Int64
    @Nullable public var reason: String?
    /// In the answer to a rejection.
    public var rejectionReason: String?

    public init(_ appraisal: Appraisal) {
        id = appraisal.id.answer
        vehicleId = appraisal.vehicleId.answer
        authorId = appraisal.authorId.answer
        method = appraisal.method.rawValue
        status = appraisal.status.rawValue
        valuationDate = appraisal.valuationDate.description
        conditionGrade = Double(appraisal.gradeTenths) / 10
        damages = appraisal.damages.map { Damage(item: $0.item, repairCost: $0.repairCost) }
        comparables = appraisal.comparables.map {
            Comparable(
                price: $0.comparable.price, year: $0.comparable.year, mileageKm: $0.comparable.mileageKm,
                soldOn: $0.comparable.soldOn.description, adjustedPrice: $0.adjustedPrice, used: $0.used, reason: $0.reason)
        }
        baseValue = appraisal.baseValue
        conditionBp = appraisal.conditionBp
        damageTotal = appraisal.damageTotal
        marketValue = appraisal.marketValue
        liquidationValue = appraisal.liquidationValue
        reason = appraisal.reason
    }
}

// MARK: - Lots

public struct FeesAnswer: Encodable, Sendable {
    public var buyerPremiumBp: Int64
    public var buyerPremiumMin: Int64
    public var buyerPremiumMax: Int64
    public var docFee: Int64
    public var sellerFeeBp: Int64
    public var paymentDueDays: Int64

    public init(_ fees: Policy.Fees) {
        buyerPremiumBp = fees.buyerPremiumBp
        buyerPremiumMin = fees.buyerPremiumMin
        buyerPremiumMax = fees.buyerPremiumMax
        docFee = fees.docFee
        sellerFeeBp = fees.sellerFeeBp
        paymentDueDays = fees.paymentDueDays
    }
}

public struct IncrementAnswer: Encodable, Sendable {
    @Nullable public var below: Int64?
    public var step: Int64
}

/// A lot as the caller may see it: the reserve, the appraisal and an override's reason
/// are for staff only; a bidder sees whether it leads and its own maximum. Sealed lots
/// show only the bid count until they close.
public struct LotAnswer: Encodable, Sendable {
    public var id: String
    public var vehicleId: String
    public var consignorId: String
    public var round: Int64
    public var format: String
    public var status: String
    public var currency: String
    public var startsAt: String
    public var endsAt: String
    public var extensionWindowSeconds: Int64
    public var extensionSeconds: Int64
    public var startingPrice: Int64
    public var depositAmount: Int64
    public var increments: [IncrementAnswer]
    @Nullable public var currentPrice: Int64?
    public var bidCount: Int64
    public var reserveMet: Bool
    public var minimumNextBid: Int64
    /// Frozen at creation: what the winner's invoice will charge (domain rules section 4).
    public var fees: FeesAnswer
    public var vehicle: VehicleAnswer?
    // Staff only.
    public var reserve: Int64?
    public var appraisalId: String?
    public var previousLotId: Nullable<String>?
    public var overrideReason: Nullable<String>?
    /// Admins only.
    public var leaderId: Nullable<String>?
    /// Staff only: the holders of a priority purchase right, in rank order.
    public var priorityHolders: [String]?
    // Bidders only.
    public var leading: Nullable<Bool>?
    public var myMaxAmount: Nullable<Int64>?
    /// Whether this bidder holds a priority purchase right on the lot (its minimum next
    /// bid is then the current price while it does not lead).
    public var priorityHolder: Bool?

    public init(_ lot: Lot, vehicle: Vehicle?, for caller: Caller, myMaximum: Int64? = nil) {
        let auction = lot.auction(maxima: [])
        // Sealed amounts stay secret while bidding runs; after the close the winning price shows.
        let sealed = lot.amountsHidden
        id = lot.id.answer
        vehicleId = lot.vehicleId.answer
        consignorId = lot.consignorId.answer
        round = lot.round
        format = lot.format.rawValue
        status = lot.status.rawValue
        currency = lot.currency
        startsAt = lot.startsAt.rfc3339
        endsAt = lot.endsAt.rfc3339
        extensionWindowSeconds = lot.extensionWindowSeconds
        extensionSeconds = lot.extensionSeconds
        startingPrice = lot.prices.start
        depositAmount = lot.prices.deposit
        increments = lot.increments.map { IncrementAnswer(below: $0.below, step: $0.step) }
        currentPrice = sealed ? nil : lot.currentPrice
        bidCount = lot.bidCount
        reserveMet = !sealed && auction.reserveMet
        minimumNextBid = caller.role == .bidder ? auction.minimumNextBid(for: caller.user.id) : auction.minimumNextBid
        fees = FeesAnswer(lot.fees)
        self.vehicle = vehicle.map(VehicleAnswer.init)
        if caller.role.isStaff {
            reserve = lot.prices.reserve
            appraisalId = lot.appraisalId.answer
            previousLotId = Nullable(wrappedValue: lot.previousLotId?.answer)
            overrideReason = Nullable(wrappedValue: lot.overrideReason)
            priorityHolders = lot.priorityHolders.map(\.answer)
            if caller.role == .admin { leaderId = Nullable(wrappedValue: lot.leaderId?.answer) }
        } else {
            leading = Nullable(wrappedValue: sealed ? nil : lot.leaderId == caller.user.id)
            myMaxAmount = Nullable(wrappedValue: myMaximum)
            priorityHolder = lot.priorityHolders.contains(caller.user.id)
        }
    }
}

// MARK: - Money

public struct DepositAnswer: Encodable, Sendable {
    public var id: String
    public var lotId: String
    public var bidderId: String
    public var amount: Int64
    public var currency: String
    public var reference: String
    public var status: String
    /// Once refunded: the payout's bank reference and its day.
    public var payoutReference: String?
    public var refundedOn: String?

    public init(_ deposit: Deposit) {
        id = deposit.id.answer
        lotId = deposit.lotId.answer
        bidderId = deposit.bidderId.answer
        amount = deposit.amount
        currency = deposit.currency
        reference = deposit.reference
        status = deposit.status.rawValue
        payoutReference = deposit.payoutReference
        refundedOn = deposit.refundedOn?.description
    }
}

public struct InvoiceAnswer: Encodable, Sendable {
    public var id: String
    public var lotId: String
    public var caseId: String
    public var bidderId: String
    public var currency: String
    public var price: Int64
    public var buyerPremium: Int64
    public var docFee: Int64
    public var total: Int64
    public var depositApplied: Int64
    public var amountDue: Int64
    public var paid: Int64
    public var outstanding: Int64
    public var status: String
    public var dueAt: String
    /// In lists: open past its due time.
    public var overdue: Bool?

    public init(_ invoice: StoredInvoice) {
        id = invoice.id.answer
        lotId = invoice.lotId.answer
        caseId = invoice.caseId.answer
        bidderId = invoice.bidderId.answer
        currency = invoice.currency
        price = invoice.terms.price
        buyerPremium = invoice.terms.buyerPremium
        docFee = invoice.terms.docFee
        total = invoice.terms.total
        depositApplied = invoice.terms.depositApplied
        amountDue = invoice.terms.amountDue
        paid = invoice.paid
        outstanding = invoice.balance.outstanding
        status = invoice.status.rawValue
        dueAt = invoice.dueAt.rfc3339
    }
}

public struct ExpenseAnswer: Encodable, Sendable {
    public var id: String
    public var caseId: String
    public var kind: String
    public var amount: Int64
    public var currency: String
    public var incurredOn: String
    @Nullable public var vendor: String?
    @Nullable public var reference: String?

    public init(_ expense: Expense) {
        id = expense.id.answer
        caseId = expense.caseId.answer
        kind = expense.kind.rawValue
        amount = expense.amount
        currency = expense.currency
        incurredOn = expense.incurredOn.description
        vendor = expense.vendor
        reference = expense.reference
    }
}

public struct SurplusRefundAnswer: Encodable, Sendable {
    public var id: String
    public var caseId: String
    public var statementId: String
    public var currency: String
    public var amount: Int64
    public var borrower: String
    public var status: String
    @Nullable public var payoutReference: String?

    public init(_ refund: SurplusRefund) {
        id = refund.id.answer
        caseId = refund.caseId.answer
        statementId = refund.statementId.answer
        currency = refund.currency
        amount = refund.amount
        borrower = refund.borrower
        status = refund.status.rawValue
        payoutReference = refund.payoutReference
    }
}

public struct DeficiencyClaimAnswer: Encodable, Sendable {
    public struct Debtor: Encodable, Sendable {
        public var name: String
        /// `borrower` or `guarantor`.
        public var role: String
        /// A guarantor's: `joint` (连带责任保证) or `general` (一般保证).
        public var guaranteeType: String?
        public var cap: Int64?
    }

    public struct RecoveryAnswer: Encodable, Sendable {
        public var id: String
        public var amount: Int64
        public var reference: String
        public var receivedOn: String
        /// Who paid: the borrower or a guarantor, by name.
        @Nullable public var payer: String?
    }

    public var id: String
    public var caseId: String
    public var statementId: String
    public var currency: String
    public var amount: Int64
    public var recovered: Int64
    public var outstanding: Int64
    public var debtors: [Debtor]
    /// The borrower and the guarantors who answer jointly with it; a general guarantor
    /// answers only for what the borrower cannot pay.
    public var jointlyLiable: [String]
    public var recoveries: [RecoveryAnswer]
    public var status: String
    @Nullable public var writeOffReason: String?

    public init(_ claim: DeficiencyClaim) {
        id = claim.id.answer
        caseId = claim.caseId.answer
        statementId = claim.statementId.answer
        currency = claim.currency
        amount = claim.amount
        recovered = claim.recovered
        outstanding = claim.outstanding
        debtors = claim.debtors.map { Debtor(name: $0.name, role: $0.role, guaranteeType: $0.guaranteeType, cap: $0.cap) }
        jointlyLiable = claim.debtors.filter { $0.role == "borrower" || $0.guaranteeType == "joint" }.map(\.name)
        recoveries = claim.recoveries.map {
            RecoveryAnswer(id: $0.id.answer, amount: $0.amount, reference: $0.reference, receivedOn: $0.receivedOn.description, payer: $0.payer)
        }
        status = claim.status.rawValue
        writeOffReason = claim.writeOffReason
    }
}

// MARK: - The records as the audit trail keeps them

extension Deposit { public var record: JSONValue { JSONValue(answer: DepositAnswer(self)) } }
extension StoredInvoice { public var record: JSONValue { JSONValue(answer: InvoiceAnswer(self)) } }
extension Expense { public var record: JSONValue { JSONValue(answer: ExpenseAnswer(self)) } }
extension SurplusRefund { public var record: JSONValue { JSONValue(answer: SurplusRefundAnswer(self)) } }
extension DeficiencyClaim { public var record: JSONValue { JSONValue(answer: DeficiencyClaimAnswer(self)) } }
extension Vehicle { public var record: JSONValue { JSONValue(answer: VehicleAnswer(self)) } }
extension Appraisal { public var record: JSONValue { JSONValue(answer: AppraisalAnswer(self)) } }
extension Consignor { public var record: JSONValue { JSONValue(answer: ConsignorAnswer(self)) } }
