import Foundation
import GavelCore
import GavelStore
import GavelWorkflows

/// The JSON shapes of api-contract.md, kept apart from the stored models.
enum DTO {
    static func user(_ user: User, token: String?) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": user.id.json,
            "name": .string(user.name),
            "role": .string(user.role.rawValue),
            "consignorId": user.consignorId.json,
        ]
        if let token { members["token"] = .string(token) }
        return .object(members)
    }

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

    static func consignor(_ consignor: Consignor) -> JSONValue {
        .object([
            "id": consignor.id.json,
            "name": .string(consignor.name),
            "currency": .string(consignor.currency),
            "policy": consignor.policy.json,
        ])
    }

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

// MARK: - Cases, vehicles, appraisals, lots

extension DTO {
    static func loanCase(_ loanCase: LoanCase, currency: String, vehicles: [Vehicle]?) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": loanCase.id.json,
            "consignorId": loanCase.consignorId.json,
            "loanNumber": .string(loanCase.loanNumber),
            "currency": .string(currency),
            "borrower": loanCase.borrower.json,
            "guarantors": LoanCase.guarantorsJSON(loanCase.guarantors),
            "balances": loanCase.balances.json,
            "lienholders": LoanCase.lienholdersJSON(loanCase.lienholders),
            "credits": LoanCase.creditsJSON(loanCase.credits),
            "status": .string(loanCase.status.rawValue),
        ]
        if let vehicles { members["vehicles"] = .array(vehicles.map(vehicle)) }
        return .object(members)
    }

    static func vehicle(_ vehicle: Vehicle) -> JSONValue {
        .object([
            "id": vehicle.id.json,
            "caseId": vehicle.caseId.json,
            "vin": .string(vehicle.vin.value),
            "make": .string(vehicle.make),
            "model": .string(vehicle.model),
            "year": .integer(vehicle.year),
            "mileageKm": .integer(vehicle.mileageKm),
            "color": vehicle.color.map(JSONValue.string) ?? .null,
            "location": vehicle.location.map(JSONValue.string) ?? .null,
            "hasKeys": .bool(vehicle.hasKeys),
            "titleStatus": .string(vehicle.titleStatus),
            "repossessedOn": .string(vehicle.repossessedOn.description),
            "status": .string(vehicle.status.rawValue),
        ])
    }

    static func appraisal(_ appraisal: Appraisal) -> JSONValue {
        .object([
            "id": appraisal.id.json,
            "vehicleId": appraisal.vehicleId.json,
            "authorId": appraisal.authorId.json,
            "method": .string(appraisal.method.rawValue),
            "status": .string(appraisal.status.rawValue),
            "valuationDate": .string(appraisal.valuationDate.description),
            "conditionGrade": .number(Double(appraisal.gradeTenths) / 10),
            "damages": Appraisal.damagesJSON(appraisal.damages),
            "comparables": Appraisal.comparablesJSON(appraisal.comparables),
            "baseValue": appraisal.baseValue.map(JSONValue.integer) ?? .null,
            "conditionBp": appraisal.conditionBp.map(JSONValue.integer) ?? .null,
            "damageTotal": .integer(appraisal.damageTotal),
            "marketValue": .integer(appraisal.marketValue),
            "liquidationValue": .integer(appraisal.liquidationValue),
            "reason": appraisal.reason.map(JSONValue.string) ?? .null,
        ])
    }

    /// A lot as the caller may see it: the reserve, the appraisal and an override's
    /// reason are for staff only; a bidder sees whether they lead and their own maximum.
    /// Sealed lots show only the bid count until they close.
    static func lot(_ lot: Lot, vehicle: Vehicle?, for caller: Caller, myMaximum: Int64? = nil) -> JSONValue {
        let auction = lot.auction(maxima: [])
        // Sealed amounts stay secret while bidding runs; after the close the winning price shows.
        let sealed = lot.format == .sealed && [.scheduled, .open].contains(lot.status)
        var members: [String: JSONValue] = [
            "id": lot.id.json,
            "vehicleId": lot.vehicleId.json,
            "consignorId": lot.consignorId.json,
            "round": .integer(lot.round),
            "format": .string(lot.format.rawValue),
            "status": .string(lot.status.rawValue),
            "currency": .string(lot.currency),
            "startsAt": lot.startsAt.json,
            "endsAt": lot.endsAt.json,
            "extensionWindowSeconds": .integer(lot.extensionWindowSeconds),
            "extensionSeconds": .integer(lot.extensionSeconds),
            "startingPrice": .integer(lot.prices.start),
            "depositAmount": .integer(lot.prices.deposit),
            "increments": Policy.incrementsJSON(lot.increments),
            "currentPrice": sealed ? .null : lot.currentPrice.map(JSONValue.integer) ?? .null,
            "bidCount": .integer(lot.bidCount),
            "reserveMet": .bool(!sealed && auction.reserveMet),
            "minimumNextBid": .integer(auction.minimumNextBid),
            // Frozen at creation: what the winner's invoice will charge (domain rules section 4).
            "fees": lot.fees.json,
        ]
        if let vehicle { members["vehicle"] = DTO.vehicle(vehicle) }
        if caller.role.isStaff {
            members["reserve"] = .integer(lot.prices.reserve)
            members["appraisalId"] = lot.appraisalId.json
            members["previousLotId"] = lot.previousLotId.json
            members["overrideReason"] = lot.overrideReason.map(JSONValue.string) ?? .null
            if caller.role == .admin { members["leaderId"] = lot.leaderId.json }
        } else {
            members["leading"] = sealed ? .null : .bool(lot.leaderId == caller.user.id)
            members["myMaxAmount"] = myMaximum.map(JSONValue.integer) ?? .null
        }
        return .object(members)
    }
}

extension DTO {
    static func deposit(_ deposit: Deposit) -> JSONValue { deposit.record }

    /// A bid's 201. A sealed bid learns neither whether it leads nor the price.
    static func placedBid(_ placed: PlacedBid, bidId: UUID, bidder: UUID) -> JSONValue {
        let sealed = placed.format == .sealed
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
