import Foundation

/// One defaulted loan handed over for disposal: who owes, how much as of when, who
/// else holds a lien, and what the borrower is credited.
public struct LoanCase: Equatable, Sendable {
    public struct Borrower: Equatable, Sendable {
        public init(name: String, idNumber: String?, address: String?) {
            self.name = name
            self.idNumber = idNumber
            self.address = address
        }

        public var name: String
        public var idNumber: String?
        public var address: String?
    }

    /// How a guarantor answers for the debt (PRC Civil Code arts. 686-688): `joint`
    /// (连带责任保证) may be pursued at once, like the borrower; `general` (一般保证)
    /// only for what the borrower cannot pay. Where the type was not agreed, the
    /// guarantee is general (art. 686).
    public enum GuaranteeType: String, Sendable, CaseIterable {
        case joint, general
    }

    public struct Guarantor: Equatable, Sendable {
        public init(name: String, guaranteeType: GuaranteeType = .general, cap: Int64? = nil, address: String? = nil) {
            self.name = name
            self.guaranteeType = guaranteeType
            self.cap = cap
            self.address = address
        }

        public var name: String
        public var guaranteeType: GuaranteeType
        /// The most the guarantor answers for; nil for the whole debt.
        public var cap: Int64?
        /// Where its notices go.
        public var address: String?
    }

    public struct Balances: Equatable, Sendable {
        public init(principal: Int64, interest: Int64, fees: Int64, perDiemInterest: Int64, asOf: CalendarDate) {
            self.principal = principal
            self.interest = interest
            self.fees = fees
            self.perDiemInterest = perDiemInterest
            self.asOf = asOf
        }

        public var principal: Int64
        public var interest: Int64
        public var fees: Int64
        public var perDiemInterest: Int64
        public var asOf: CalendarDate
    }

    public struct Lienholder: Equatable, Sendable {
        public init(
            name: String, amount: Int64, priority: Int64, eligible: Bool, address: String? = nil, demandReceivedAt: CalendarDate? = nil
        ) {
            self.name = name
            self.amount = amount
            self.priority = priority
            self.eligible = eligible
            self.address = address
            self.demandReceivedAt = demandReceivedAt
        }

        public var name: String
        public var amount: Int64
        public var priority: Int64
        /// UCC: an authenticated demand was received; PRC: the lien is registered.
        public var eligible: Bool
        /// Where its notices go.
        public var address: String?
        /// UCC §9-615(a)(3): the day its authenticated demand for proceeds arrived.
        public var demandReceivedAt: CalendarDate?
    }

    public struct Credit: Equatable, Sendable {
        public init(label: String, amount: Int64) {
            self.label = label
            self.amount = amount
        }

        public var label: String
        public var amount: Int64
    }

    public var id: UUID
    public var consignorId: UUID
    public var loanNumber: String
    public var borrower: Borrower
    public var guarantors: [Guarantor]
    public var balances: Balances
    public var lienholders: [Lienholder]
    public var credits: [Credit]
    public var status: CaseStatus
    /// The collateral's owner where it is not the borrower (domain rules section 11): a
    /// surplus is refunded to it.
    public var collateralOwner: Borrower? = nil
    /// ID or USCC numbers of people related to the consignor, who may not bid on the
    /// case's lots (UCC §9-615(f)).
    public var excludedIdNumbers: [String] = []

    /// Who a surplus is refunded to: the collateral's owner, else the borrower.
    public var surplusPayee: String { collateralOwner?.name ?? borrower.name }

    public init(
        id: UUID, consignorId: UUID, loanNumber: String, borrower: Borrower, guarantors: [Guarantor], balances: Balances,
        lienholders: [Lienholder], credits: [Credit], status: CaseStatus
    ) {
        self.id = id
        self.consignorId = consignorId
        self.loanNumber = loanNumber
        self.borrower = borrower
        self.guarantors = guarantors
        self.balances = balances
        self.lienholders = lienholders
        self.credits = credits
        self.status = status
    }

    /// Reads a new case from a request body; every problem is listed.
    public static func parse(_ body: FieldReader, id: UUID, today: CalendarDate) throws(ValidationFailure) -> LoanCase {
        var errors: [FieldError] = []
        let consignorId = body.uuid("consignorId", errors: &errors)
        let loanNumber = body.string("loanNumber", maxLength: 100, errors: &errors)
        let borrower = body.object("borrower", errors: &errors).flatMap { parseBorrower($0, errors: &errors) }
        let guarantors = body.objects("guarantors", required: false, errors: &errors)?
            .compactMap { parseGuarantor($0, errors: &errors) } ?? []
        var balances = body.object("balances", errors: &errors).flatMap { parseBalances($0, errors: &errors) }
        if let asOf = balances?.asOf, asOf > today {
            errors.append(FieldError(field: "balances.asOf", message: "must not be in the future (today is \(today))"))
            balances = nil
        }
        let lienholders = body.objects("lienholders", required: false, errors: &errors)?
            .compactMap { parseLienholder($0, errors: &errors) } ?? []
        let priorities = lienholders.map(\.priority)
        if Set(priorities).count != priorities.count {
            errors.append(FieldError(field: "lienholders", message: "each lienholder needs its own priority"))
        }
        let credits = body.objects("credits", required: false, errors: &errors)?.compactMap { parseCredit($0, errors: &errors) } ?? []
        let owner = body.has("collateralOwner")
            ? body.object("collateralOwner", errors: &errors).flatMap { parseBorrower($0, errors: &errors) } : nil
        let excluded = parseIdNumbers(body, errors: &errors) ?? []
        // Each lien and credit is bounded; so are their sums, which the settlement adds up.
        FieldReader.ensureTotal(lienholders.map(\.amount), field: "lienholders", errors: &errors)
        FieldReader.ensureTotal(credits.map(\.amount), field: "credits", errors: &errors)
        guard errors.isEmpty, let consignorId, let loanNumber, let borrower, let balances else {
            throw ValidationFailure(errors)
        }
        var loanCase = LoanCase(
            id: id, consignorId: consignorId, loanNumber: loanNumber, borrower: borrower, guarantors: guarantors,
            balances: balances, lienholders: lienholders.sorted { $0.priority < $1.priority }, credits: credits,
            status: .open)
        loanCase.collateralOwner = owner
        loanCase.excludedIdNumbers = excluded
        return loanCase
    }

    /// `excludedIdNumbers`: ID or USCC numbers, each 1 to 64 characters, at most 100.
    static func parseIdNumbers(_ body: FieldReader, errors: inout [FieldError]) -> [String]? {
        guard let values = body.array("excludedIdNumbers", required: false, errors: &errors) else { return nil }
        var numbers: [String] = []
        for (index, value) in values.enumerated() {
            guard case .string(let text) = value, !text.isEmpty, text.unicodeScalars.count <= 64, !text.contains("\u{0}") else {
                errors.append(FieldError(field: "excludedIdNumbers[\(index)]", message: "must be an ID number of 1 to 64 characters"))
                continue
            }
            numbers.append(text)
        }
        if values.count > 100 { errors.append(FieldError(field: "excludedIdNumbers", message: "at most 100 numbers")) }
        return numbers
    }

    /// A change to a case before its settlement (`PATCH /v1/cases/{id}`): the borrower's
    /// details merged, the guarantors, credits, exclusion list and collateral owner
    /// replaced, and each named junior's `eligible`, `demandReceivedAt` and `address`
    /// (a junior is named by its `priority`). Unknown members are refused.
    public func applying(_ patch: FieldReader, today: CalendarDate) throws(ValidationFailure) -> LoanCase {
        var errors: [FieldError] = []
        let known: Set<String> = ["borrower", "guarantors", "collateralOwner", "excludedIdNumbers", "credits", "lienholders"]
        for key in patch.members.keys.sorted() where !known.contains(key) {
            errors.append(FieldError(field: key, message: "cannot be changed here (parties, credits, exclusions, juniors' demands)"))
        }
        // Only the collateral's owner may be cleared with null; a list is cleared with [].
        for key in known.sorted() where key != "collateralOwner" && patch.members[key] == .null {
            errors.append(FieldError(field: key, message: "must not be null"))
        }
        var changed = self
        if let reader = patch.object("borrower", required: false, errors: &errors) {
            let name = reader.has("name") ? reader.string("name", errors: &errors) : borrower.name
            let idNumber = reader.has("idNumber") ? reader.string("idNumber", maxLength: 64, required: false, errors: &errors) : borrower.idNumber
            let address = reader.has("address") ? reader.string("address", maxLength: 500, required: false, errors: &errors) : borrower.address
            if let name { changed.borrower = Borrower(name: name, idNumber: idNumber, address: address) }
        }
        if let guarantors = patch.objects("guarantors", required: false, errors: &errors) {
            changed.guarantors = guarantors.compactMap { Self.parseGuarantor($0, errors: &errors) }
        }
        // Present and null: the borrower owns the collateral after all.
        if let owner = patch.members["collateralOwner"] {
            changed.collateralOwner = owner == .null
                ? nil : patch.object("collateralOwner", errors: &errors).flatMap { Self.parseBorrower($0, errors: &errors) }
        }
        if let numbers = Self.parseIdNumbers(patch, errors: &errors) { changed.excludedIdNumbers = numbers }
        if let credits = patch.objects("credits", required: false, errors: &errors) {
            changed.credits = credits.compactMap { Self.parseCredit($0, errors: &errors) }
            FieldReader.ensureTotal(changed.credits.map(\.amount), field: "credits", errors: &errors)
        }
        if let juniors = patch.objects("lienholders", required: false, errors: &errors) {
            for junior in juniors {
                guard let priority = junior.integer("priority", in: 1...1_000, errors: &errors) else { continue }
                guard let index = changed.lienholders.firstIndex(where: { $0.priority == priority }) else {
                    errors.append(FieldError(field: junior.fieldPath("priority"), message: "the case has no lienholder of priority \(priority)"))
                    continue
                }
                if junior.has("eligible"), let eligible = junior.bool("eligible", errors: &errors) { changed.lienholders[index].eligible = eligible }
                if junior.has("demandReceivedAt") {
                    let day = junior.date("demandReceivedAt", errors: &errors)
                    if let day, day > today {
                        errors.append(FieldError(field: junior.fieldPath("demandReceivedAt"), message: "must not be in the future"))
                    } else if let day {
                        changed.lienholders[index].demandReceivedAt = day
                        // A demand received is what makes a junior eligible (UCC §9-615(a)(3)).
                        if !junior.has("eligible") { changed.lienholders[index].eligible = true }
                    }
                }
                if junior.has("address") {
                    changed.lienholders[index].address = junior.string("address", maxLength: 500, required: false, errors: &errors)
                }
            }
        }
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        return changed
    }

    static func parseBorrower(_ reader: FieldReader, errors: inout [FieldError]) -> Borrower? {
        let name = reader.string("name", errors: &errors)
        let idNumber = reader.string("idNumber", maxLength: 64, required: false, errors: &errors)
        let address = reader.string("address", maxLength: 500, required: false, errors: &errors)
        return name.map { Borrower(name: $0, idNumber: idNumber, address: address) }
    }

    static func parseGuarantor(_ reader: FieldReader, errors: inout [FieldError]) -> Guarantor? {
        let name = reader.string("name", errors: &errors)
        let type = reader.has("guaranteeType") ? reader.choice("guaranteeType", GuaranteeType.self, errors: &errors) : .general
        let capGiven = reader.has("cap") && reader.members["cap"] != .null
        let cap = capGiven ? reader.amount("cap", errors: &errors) : nil
        let address = reader.string("address", maxLength: 500, required: false, errors: &errors)
        if capGiven && cap == nil { return nil }
        guard let name, let type else { return nil }
        return Guarantor(name: name, guaranteeType: type, cap: cap, address: address)
    }

    static func parseBalances(_ reader: FieldReader, errors: inout [FieldError]) -> Balances? {
        let principal = reader.amount("principal", errors: &errors)
        let interest = reader.amount("interest", errors: &errors)
        let fees = reader.amount("fees", errors: &errors)
        let perDiem = reader.amount("perDiemInterest", maximum: Money.perDiemMaximum, errors: &errors)
        let asOf = reader.date("asOf", errors: &errors)
        guard let principal, let interest, let fees, let perDiem, let asOf else { return nil }
        return Balances(principal: principal, interest: interest, fees: fees, perDiemInterest: perDiem, asOf: asOf)
    }

    static func parseCredit(_ reader: FieldReader, errors: inout [FieldError]) -> Credit? {
        let label = reader.string("label", errors: &errors)
        let amount = reader.amount("amount", errors: &errors)
        guard let label, let amount else { return nil }
        return Credit(label: label, amount: amount)
    }

    static func parseLienholder(_ reader: FieldReader, errors: inout [FieldError]) -> Lienholder? {
        let name = reader.string("name", errors: &errors)
        let amount = reader.amount("amount", errors: &errors)
        let priority = reader.integer("priority", in: 1...1_000, errors: &errors)
        let eligible = reader.bool("eligible", errors: &errors)
        let address = reader.string("address", maxLength: 500, required: false, errors: &errors)
        let demand = reader.has("demandReceivedAt") ? reader.date("demandReceivedAt", errors: &errors) : nil
        guard let name, let amount, let priority, let eligible else { return nil }
        return Lienholder(name: name, amount: amount, priority: priority, eligible: eligible, address: address, demandReceivedAt: demand)
    }
}
