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

extension SurplusRefund {
    public var record: JSONValue {
        .object([
            "id": id.json, "caseId": caseId.json, "statementId": statementId.json,
            "currency": .string(currency), "amount": .integer(amount), "borrower": .string(borrower),
            "status": .string(status.rawValue), "payoutReference": payoutReference.map(JSONValue.string) ?? .null,
        ])
    }
}

extension DeficiencyClaim {
    public var record: JSONValue {
        .object([
            "id": id.json, "caseId": caseId.json, "statementId": statementId.json,
            "currency": .string(currency), "amount": .integer(amount), "recovered": .integer(recovered),
            "outstanding": .integer(outstanding), "jointlyLiable": .array(debtors.map(JSONValue.string)),
            "status": .string(status.rawValue), "writeOffReason": writeOffReason.map(JSONValue.string) ?? .null,
        ])
    }
}

extension LoanCase {
    public func record(currency: String, vehicles: [Vehicle]?) -> JSONValue {
        let loanCase = self
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
        if let vehicles { members["vehicles"] = .array(vehicles.map(\.record)) }
        return .object(members)
    }
}

extension Vehicle {
    public var record: JSONValue {
        let vehicle = self
        return .object([
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
}

extension Appraisal {
    public var record: JSONValue {
        let appraisal = self
        return .object([
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
}

extension Lot {
    /// A lot as the caller may see it: the reserve, the appraisal and an override's
    /// reason are for staff only; a bidder sees whether they lead and their own maximum.
    /// Sealed lots show only the bid count until they close.
    public func record(vehicle: Vehicle?, for caller: Caller, myMaximum: Int64? = nil) -> JSONValue {
        let lot = self
        let auction = lot.auction(maxima: [])
        // Sealed amounts stay secret while bidding runs; after the close the winning price shows.
        let sealed = lot.amountsHidden
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
        if let vehicle { members["vehicle"] = vehicle.record }
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

extension User {
    /// A user as an admin sees it; `token` only in the answer that creates it.
    public func record(token: String?) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": id.json,
            "name": .string(name),
            "role": .string(role.rawValue),
            "consignorId": consignorId.json,
        ]
        if let token { members["token"] = .string(token) }
        return .object(members)
    }
}

extension Consignor {
    public var record: JSONValue {
        .object([
            "id": id.json,
            "name": .string(name),
            "currency": .string(currency),
            "policy": policy.json,
        ])
    }
}
