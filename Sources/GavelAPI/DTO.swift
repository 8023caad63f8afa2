import Foundation
import GavelCore
import GavelStore
import GavelWorkflows

/// The JSON shapes of api-contract.md, kept apart from the stored models.
enum DTO {
    static func user(_ user: User, token: String?) -> JSONValue { user.record(token: token) }

    /// The answer to POST /v1/users, and what its replay shows: the same, with the token
    /// withheld (it is shown once, and a stored answer must never hold it).
    static func createdUser(_ user: User, token: String) -> (answer: JSONValue, replay: JSONValue) {
        guard case .object(var members) = DTO.user(user, token: token) else { preconditionFailure("a user is an object") }
        members["tokenWithheld"] = .bool(false)
        let answer = JSONValue.object(members)
        members["token"] = .null
        members["tokenWithheld"] = .bool(true)
        return (answer, .object(members))
    }

    static func consignor(_ consignor: Consignor) -> JSONValue { consignor.record }

    static func audit(_ entry: AuditEntry) -> JSONValue {
        let actor: JSONValue
        switch entry.record.actor {
        case .user(let id, let name): actor = .object(["id": id.json, "name": .string(name), "kind": .string("user")])
        case .system(let name): actor = .object(["id": .null, "name": .string(name), "kind": .string("system")])
        }
        return .object([
            "id": .string(String(entry.seq)),
            "at": entry.at.json,
            "actor": actor,
            "action": .string(entry.record.action),
            "entityType": .string(entry.record.entityType),
            "entityId": entry.record.entityId.json,
            "before": entry.record.before ?? .null,
            "after": entry.record.after ?? .null,
            "requestId": entry.record.requestId.map(JSONValue.string) ?? .null,
        ])
    }

    static func page(_ items: [JSONValue], nextCursor: String?) -> JSONValue {
        .object(["items": .array(items), "nextCursor": nextCursor.map(JSONValue.string) ?? .null])
    }
}

// MARK: - Cases, vehicles, appraisals, lots (their JSON is the records', GavelWorkflows/Records.swift)

extension DTO {
    static func loanCase(_ loanCase: LoanCase, currency: String, vehicles: [Vehicle]?) -> JSONValue {
        loanCase.record(currency: currency, vehicles: vehicles)
    }

    static func vehicle(_ vehicle: Vehicle) -> JSONValue { vehicle.record }

    static func appraisal(_ appraisal: Appraisal) -> JSONValue { appraisal.record }

    static func lot(_ lot: Lot, vehicle: Vehicle?, for caller: Caller, myMaximum: Int64? = nil) -> JSONValue {
        lot.record(vehicle: vehicle, for: caller, myMaximum: myMaximum)
    }
}

extension DTO {
    static func deposit(_ deposit: Deposit) -> JSONValue { deposit.record }

    /// A bid's 201. A sealed bid learns neither whether it leads nor the price.
    static func placedBid(_ placed: PlacedBid, bidId: UUID, bidder: UUID) -> JSONValue {
        // A bid is only ever taken while the lot is open.
        let sealed = Lot.amountsHidden(format: placed.format, status: .open)
        return .object([
            "bidId": bidId.json,
            "accepted": .bool(true),
            "leading": sealed ? .null : .bool(placed.acceptance.leader == bidder),
            "currentPrice": sealed ? .null : .integer(placed.acceptance.price),
            "minimumNextBid": .integer(placed.acceptance.minimumNextBid),
            "endsAt": placed.acceptance.endsAt.json,
            "extended": .bool(placed.acceptance.extended),
        ])
    }
}

extension DTO {
    static func invoice(_ invoice: StoredInvoice) -> JSONValue { invoice.record }

    static func expense(_ expense: Expense) -> JSONValue { expense.record }

    static func trialBalance(_ rows: [TrialBalanceRow]) -> JSONValue {
        .object([
            "accounts": .array(rows.map { row in
                .object([
                    "account": .string(row.account), "currency": .string(row.currency), "debit": .integer(row.debit),
                    "credit": .integer(row.credit), "balance": .integer(row.debit - row.credit),
                ])
            }),
            "totalDebit": .integer(rows.reduce(0) { $0 + $1.debit }),
            "totalCredit": .integer(rows.reduce(0) { $0 + $1.credit }),
        ])
    }

    static func journalEntry(_ entry: PostedEntry) -> JSONValue {
        .object([
            "id": entry.id.json, "eventKey": .string(entry.eventKey), "kind": .string(entry.kind),
            "caseId": entry.caseId.json, "currency": .string(entry.currency), "memo": .string(entry.memo),
            "postedAt": entry.postedAt.json,
            "lines": .array(entry.lines.map { line in
                .object(["account": .string(line.account), "debit": .integer(line.debit), "credit": .integer(line.credit)])
            }),
        ])
    }
}
