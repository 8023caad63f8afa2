import Foundation
import GavelCore
import GavelStore

/// The remittance advice a lender receives for a period (domain rules section 10): each
/// case settled in it with how its proceeds were allocated, what was remitted to the
/// lender, and what the lender paid its cases.
public struct Remittances: Sendable {
    public init() {}

    /// The period defaults to the month to date.
    public func advice(
        consignorId: UUID, from requestedFrom: CalendarDate?, to requestedTo: CalendarDate?, for caller: Caller, in session: Session
    ) async throws -> RemittanceAnswer {
        try Scope.ensureVisible(consignorId: consignorId, to: caller, what: "consignor \(consignorId.uuidString.lowercased())")
        let today = try await session.today()
        let to = requestedTo ?? today
        let from = requestedFrom ?? CalendarDate(dayNumber: to.dayNumber - (Int(to.description.suffix(2)) ?? 1) + 1)
        guard from <= to else {
            throw ValidationFailure([FieldError(field: "from", message: "must not be after `to` (\(to))")])
        }
        let connection = session.connection
        let logger = session.logger
        guard let consignor = try await ConsignorRepository.find(id: consignorId, on: connection, logger: logger) else {
            throw Refusal.notFound("no consignor \(consignorId.uuidString.lowercased())")
        }
        let settled = try await RemittanceRepository.settled(consignorId: consignorId, from: from, to: to, on: connection, logger: logger)
        let remitted = try await RemittanceRepository.remitted(consignorId: consignorId, from: from, to: to, on: connection, logger: logger)
        let received = try await RemittanceRepository.received(consignorId: consignorId, from: from, to: to, on: connection, logger: logger)
        var cases: [RemittanceAnswer.SettledCase] = []
        for item in settled {
            let owed = try await CaseMoneyRepository.payables(caseId: item.caseId, on: connection, logger: logger)
                .first { $0.kind == PayoutKind.consignor.rawValue }?.amount ?? 0
            cases.append(RemittanceAnswer.SettledCase(item, stillOwedToLender: owed))
        }
        return RemittanceAnswer(
            consignorId: consignor.id.answer, consignor: consignor.name, currency: consignor.currency,
            from: from.description, to: to.description, cases: cases,
            remitted: remitted.map(RemittanceAnswer.Money.init), receivedFromLender: received.map(RemittanceAnswer.Money.init),
            totals: .init(
                toLender: cases.reduce(0) { $0 + $1.toLender }, remitted: remitted.reduce(0) { $0 + $1.amount },
                receivedFromLender: received.reduce(0) { $0 + $1.amount }))
    }
}

public struct RemittanceAnswer: Encodable, Sendable {
    public struct SettledCase: Encodable, Sendable {
        public var caseId: String
        public var loanNumber: String
        public var caseStatus: String
        public var statementId: String
        public var kind: String
        public var settlementDate: String
        public var proceeds: Int64
        public var expenses: Int64
        public var fees: Int64
        public var interest: Int64
        public var principal: Int64
        public var juniors: Int64
        public var surplus: Int64
        public var deficiency: Int64
        public var borrowerPayments: Int64
        /// What the statement gives the lender: its allocation to fees, interest and principal.
        public var toLender: Int64
        /// What is still to be remitted to the lender on the case, today.
        public var stillOwedToLender: Int64

        init(_ item: RemittedCase, stillOwedToLender: Int64) {
            func amount(_ bucket: String) -> Int64 {
                for step in item.body["allocation"]?.elements ?? [] where step["bucket"] == .string(bucket) {
                    if case .integer(let value)? = step["amount"] { return value }
                }
                return 0
            }
            func integer(_ value: JSONValue?) -> Int64 { if case .integer(let n)? = value { n } else { 0 } }
            caseId = item.caseId.answer
            loanNumber = item.loanNumber
            caseStatus = item.caseStatus
            statementId = item.statementId.answer
            kind = item.kind.rawValue
            settlementDate = item.settlementDate.description
            proceeds = integer(item.body["proceeds"]?["total"])
            expenses = amount("expenses")
            fees = amount("fees")
            interest = amount("interest")
            principal = amount("principal")
            juniors = amount("junior")
            surplus = integer(item.body["surplus"])
            deficiency = integer(item.body["deficiency"])
            borrowerPayments = integer(item.body["borrowerPayments"])
            toLender = fees + interest + principal
            self.stillOwedToLender = stillOwedToLender
        }
    }

    public struct Money: Encodable, Sendable {
        public var id: String
        public var caseId: String
        public var loanNumber: String
        public var amount: Int64
        public var reference: String
        public var date: String

        init(_ money: RemittedMoney) {
            id = money.id.answer
            caseId = money.caseId.answer
            loanNumber = money.loanNumber
            amount = money.amount
            reference = money.reference
            date = money.on.description
        }
    }

    public struct Totals: Encodable, Sendable {
        public var toLender: Int64
        public var remitted: Int64
        public var receivedFromLender: Int64
    }

    public var consignorId: String
    public var consignor: String
    public var currency: String
    public var from: String
    public var to: String
    public var cases: [SettledCase]
    public var remitted: [Money]
    public var receivedFromLender: [Money]
    public var totals: Totals
}
