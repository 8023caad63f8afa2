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
        public init(name: String, guaranteeType: GuaranteeType = .general, cap: Int64? = nil) {
            self.name = name
            self.guaranteeType = guaranteeType
            self.cap = cap
        }

        public var name: String
        public var guaranteeType: GuaranteeType
        /// The most the guarantor answers for; nil for the whole debt.
        public var cap: Int64?
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
        public init(name: String, amount: Int64, priority: Int64, eligible: Bool) {
            self.name = name
            self.amount = amount
            self.priority = priority
            self.eligible = eligible
        }

        public var name: String
        public var amount: Int64
        public var priority: Int64
        /// UCC: an authenticated demand was received; PRC: the lien is registered.
        public var eligible: Bool
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
        // Each lien and credit is bounded; so are their sums, which the settlement adds up.
        FieldReader.ensureTotal(lienholders.map(\.amount), field: "lienholders", errors: &errors)
        FieldReader.ensureTotal(credits.map(\.amount), field: "credits", errors: &errors)
        guard errors.isEmpty, let consignorId, let loanNumber, let borrower, let balances else {
            throw ValidationFailure(errors)
        }
        return LoanCase(
            id: id, consignorId: consignorId, loanNumber: loanNumber, borrower: borrower, guarantors: guarantors,
            balances: balances, lienholders: lienholders.sorted { $0.priority < $1.priority }, credits: credits,
            status: .open)
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
        let cap = reader.has("cap") ? reader.amount("cap", errors: &errors) : nil
        if reader.has("cap") && cap == nil { return nil }
        guard let name, let type else { return nil }
        return Guarantor(name: name, guaranteeType: type, cap: cap)
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
        guard let name, let amount, let priority, let eligible else { return nil }
        return Lienholder(name: name, amount: amount, priority: priority, eligible: eligible)
    }
}
