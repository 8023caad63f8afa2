import Foundation
import GavelCore
import GavelStore

/// The settlement statement as the contract gives it, stored as issued: corrections
/// supersede it, nothing rewrites it.
enum StatementJSON {
    static func make(
        id: UUID, caseId: UUID, currency: String, statement s: Waterfall.Statement, loan: LoanCase, lender: String,
        vehicles: [DisposedVehicle], supersedes: UUID?
    ) -> JSONValue {
        .object([
            "id": id.json, "caseId": caseId.json, "currency": .string(currency),
            "settlementDate": .string(s.settlementDate.description), "supersedes": supersedes.json,
            "lender": .string(lender), "loanNumber": .string(loan.loanNumber),
            "borrower": .object(["name": .string(loan.borrower.name)]),
            "guarantors": .array(loan.guarantors.map { .object(["name": .string($0)]) }),
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
            ]),
            "proceeds": .object([
                "hammer": .integer(s.hammer), "forfeitedDeposits": .integer(s.forfeitedDeposits), "total": .integer(s.proceeds),
            ]),
            "expenses": .array(s.expenses.map { .object(["kind": .string($0.kind), "amount": .integer($0.amount)]) }),
            "expensesTotal": .integer(s.expensesTotal),
            "credits": .array(s.credits.map { .object(["label": .string($0.label), "amount": .integer($0.amount)]) }),
            "creditsTotal": .integer(s.creditsTotal),
            "allocation": .array(s.allocation.map { .object(["bucket": .string($0.bucket.rawValue), "amount": .integer($0.amount)]) }),
            "juniorDistributions": .array(s.juniorDistributions.map { .object(["name": .string($0.name), "amount": .integer($0.amount)]) }),
            "surplus": .integer(s.surplus), "deficiency": .integer(s.deficiency),
            "explanation": .array(s.explanation.map { line in
                .object(["line": .integer(Int64(line.line)), "label": .string(line.label), "amount": .integer(line.amount)])
            }),
        ])
    }
}
