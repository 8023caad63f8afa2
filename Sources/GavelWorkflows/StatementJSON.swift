import Foundation
import GavelCore
import GavelStore

/// The settlement statement as the contract gives it, stored as issued: corrections
/// supersede it, nothing rewrites it.
enum StatementJSON {
    /// The §9-616(a)(1)(C) notice, in the statement's words.
    static let mayChange = """
        Future debits, credits, charges, including additional credit service charges or interest, rebates, and \
        expenses may affect the amount of the surplus or deficiency.
        """

    /// Borrower payments before the sale come off the obligation at settlement; interest
    /// is not recomputed on the lower balance (domain rules section 10), and says so.
    static let paymentsInterestNote = """
        Interest is charged at the case's daily rate on the obligation as of its balances' date; payments received \
        before the disposition are deducted from the obligation at settlement and do not reduce the interest charged.
        """

    static func make(
        id: UUID, caseId: UUID, kind: StatementKind, currency: String, statement s: Waterfall.Statement, loan: LoanCase,
        lender: String, contact: String, vehicles: [DisposedVehicle], supersedes: UUID?
    ) -> JSONValue {
        .object([
            "id": id.json, "caseId": caseId.json, "currency": .string(currency), "kind": .string(kind.rawValue),
            "settlementDate": .string(s.settlementDate.description), "interestTo": .string(s.interestTo.description),
            "supersedes": supersedes.json,
            "lender": .string(lender), "loanNumber": .string(loan.loanNumber),
            "borrower": .object(["name": .string(loan.borrower.name)]),
            "surplusPayee": .string(loan.surplusPayee),
            "guarantors": .array(loan.guarantors.map { guarantor in
                .object([
                    "name": .string(guarantor.name), "guaranteeType": .string(guarantor.guaranteeType.rawValue),
                    "cap": guarantor.cap.map(JSONValue.integer) ?? .null,
                ])
            }),
            "vehicles": .array(vehicles.map { vehicle in
                .object([
                    "vin": .string(vehicle.vin), "description": .string(vehicle.description), "status": .string(vehicle.status.rawValue),
                    "saleDate": vehicle.saleDate.map { .string($0.description) } ?? .null,
                    "price": vehicle.price.map(JSONValue.integer) ?? .null,
                ])
            }),
            "obligation": .object([
                "fees": .integer(s.obligation.fees), "interest": .integer(s.obligation.interest),
                "principal": .integer(s.obligation.principal), "total": .integer(s.obligation.total),
                "asOf": .string(loan.balances.asOf.description), "perDiemInterest": .integer(loan.balances.perDiemInterest),
                "totalAsOf": .integer(s.obligationAsOf), "interestAccrued": .integer(s.accruedInterest),
            ]),
            "borrowerPayments": .integer(s.borrowerPayments),
            "proceeds": .object([
                "hammer": .integer(s.hammer), "forfeitedDeposits": .integer(s.forfeitedDeposits),
                "redemption": .integer(s.redemption), "total": .integer(s.proceeds),
            ]),
            "expenses": .array(s.expenses.map { .object(["kind": .string($0.kind), "amount": .integer($0.amount)]) }),
            "expensesTotal": .integer(s.expensesTotal),
            "credits": .array(s.credits.map { .object(["label": .string($0.label), "amount": .integer($0.amount)]) }),
            "creditsTotal": .integer(s.creditsTotal),
            "allocation": .array(s.allocation.map { .object(["bucket": .string($0.bucket.rawValue), "amount": .integer($0.amount)]) }),
            "juniorDistributions": .array(s.juniorDistributions.map { .object(["name": .string($0.name), "amount": .integer($0.amount)]) }),
            "surplus": .integer(s.surplus), "deficiency": .integer(s.deficiency),
            "explanation": .array(s.explanation.map { line in
                .object([
                    "line": .integer(Int64(line.line)), "key": .string(line.key.rawValue), "label": .string(line.label),
                    "amount": .integer(line.amount),
                ])
            }),
            "notices": .object(
                ["mayChange": .string(mayChange), "contact": .string(contact)].merging(
                    s.borrowerPayments > 0 ? ["interest": .string(paymentsInterestNote)] : [:]) { $1 }),
        ])
    }
}
