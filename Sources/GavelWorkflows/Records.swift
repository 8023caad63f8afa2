import Foundation
import GavelCore
import GavelStore

// The JSON of a record as the API shows it and as the audit trail keeps it (before and
// after a change), so that the trail reads like the answers.

extension Deposit {
    public var record: JSONValue {
        .object([
            "id": id.json, "lotId": lotId.json, "bidderId": bidderId.json,
            "amount": .integer(amount), "currency": .string(currency),
            "reference": .string(reference), "status": .string(status.rawValue),
        ])
    }
}

extension StoredInvoice {
    public var record: JSONValue {
        .object([
            "id": id.json, "lotId": lotId.json, "caseId": caseId.json,
            "bidderId": bidderId.json, "currency": .string(currency),
            "price": .integer(terms.price), "buyerPremium": .integer(terms.buyerPremium), "docFee": .integer(terms.docFee),
            "total": .integer(terms.total), "depositApplied": .integer(terms.depositApplied),
            "amountDue": .integer(terms.amountDue), "paid": .integer(paid),
            "outstanding": .integer(balance.outstanding), "status": .string(status.rawValue),
            "dueAt": dueAt.json,
        ])
    }
}

extension Expense {
    public var record: JSONValue {
        .object([
            "id": id.json, "caseId": caseId.json, "kind": .string(kind.rawValue),
            "amount": .integer(amount), "currency": .string(currency),
            "incurredOn": .string(incurredOn.description),
            "vendor": vendor.map(JSONValue.string) ?? .null,
            "reference": reference.map(JSONValue.string) ?? .null,
        ])
    }
}
