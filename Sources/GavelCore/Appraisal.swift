import Foundation

/// A valuation of one vehicle, computed from comparables or entered by hand with a
/// reason, and approved or rejected by someone other than its author.
public struct Appraisal: Equatable, Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case draft, approved, rejected, superseded
    }

    public enum Method: String, Sendable, CaseIterable {
        case comparables, manual
    }

    public var id: UUID
    public var vehicleId: UUID
    public var authorId: UUID
    public var method: Method
    public var status: Status
    public var valuationDate: CalendarDate
    public var gradeTenths: Int64
    public var damages: [Valuation.Damage]
    public var comparables: [Valuation.AdjustedComparable]
    public var baseValue: Int64?
    public var conditionBp: Int64?
    public var damageTotal: Int64
    public var marketValue: Int64
    public var liquidationValue: Int64
    public var reason: String?

    public init(
        id: UUID, vehicleId: UUID, authorId: UUID, method: Method, status: Status, valuationDate: CalendarDate,
        gradeTenths: Int64, damages: [Valuation.Damage], comparables: [Valuation.AdjustedComparable], baseValue: Int64?,
        conditionBp: Int64?, damageTotal: Int64, marketValue: Int64, liquidationValue: Int64, reason: String?
    ) {
        self.id = id
        self.vehicleId = vehicleId
        self.authorId = authorId
        self.method = method
        self.status = status
        self.valuationDate = valuationDate
        self.gradeTenths = gradeTenths
        self.damages = damages
        self.comparables = comparables
        self.baseValue = baseValue
        self.conditionBp = conditionBp
        self.damageTotal = damageTotal
        self.marketValue = marketValue
        self.liquidationValue = liquidationValue
        self.reason = reason
    }

    /// Reads a new appraisal and values it. A body with `marketValue` is a manual
    /// valuation, which needs `liquidationValue` and a `reason`.
    public static func parse(
        _ body: FieldReader, id: UUID, vehicle: Vehicle, authorId: UUID, policy: Policy.Valuation, today: CalendarDate
    ) throws(ValidationFailure) -> Appraisal {
        var errors: [FieldError] = []
        var valuationDate = body.date("valuationDate", errors: &errors)
        if let date = valuationDate, date > today {
            errors.append(FieldError(field: "valuationDate", message: "must not be in the future (today is \(today))"))
            valuationDate = nil
        }
        let grade = body.grade("conditionGrade", errors: &errors)
        if body.has("marketValue") {
            let market = body.amount("marketValue", errors: &errors)
            let liquidation = body.amount("liquidationValue", errors: &errors)
            let reason = body.string("reason", maxLength: 1_000, errors: &errors)
            if let market, let liquidation, liquidation > market {
                errors.append(FieldError(field: "liquidationValue", message: "must not exceed marketValue"))
            }
            guard errors.isEmpty, let valuationDate, let grade, let market, let liquidation, let reason else {
                throw ValidationFailure(errors)
            }
            return Appraisal(
                id: id, vehicleId: vehicle.id, authorId: authorId, method: .manual, status: .draft,
                valuationDate: valuationDate, gradeTenths: grade, damages: [], comparables: [], baseValue: nil,
                conditionBp: nil, damageTotal: 0, marketValue: market, liquidationValue: liquidation, reason: reason)
        }
        let damages = body.objects("damages", required: false, errors: &errors)?.compactMap { parseDamage($0, errors: &errors) } ?? []
        let comparables = body.objects("comparables", errors: &errors)?.compactMap { parseComparable($0, errors: &errors) }
        guard errors.isEmpty, let valuationDate, let grade, let comparables else { throw ValidationFailure(errors) }
        let input = Valuation.Input(
            subjectYear: vehicle.year, subjectMileageKm: vehicle.mileageKm, gradeTenths: grade, damages: damages,
            comparables: comparables, valuationDate: valuationDate)
        let result: Valuation.Result
        do {
            result = try Valuation.appraise(input, policy: policy)
        } catch {
            throw ValidationFailure([fieldError(for: error)])
        }
        return Appraisal(
            id: id, vehicleId: vehicle.id, authorId: authorId, method: .comparables, status: .draft,
            valuationDate: valuationDate, gradeTenths: grade, damages: damages, comparables: result.comparables,
            baseValue: result.baseValue, conditionBp: result.conditionBp, damageTotal: result.damageTotal,
            marketValue: result.marketValue, liquidationValue: result.liquidationValue, reason: nil)
    }

    static func parseDamage(_ reader: FieldReader, errors: inout [FieldError]) -> Valuation.Damage? {
        let item = reader.string("item", errors: &errors)
        let cost = reader.amount("repairCost", errors: &errors)
        guard let item, let cost else { return nil }
        return Valuation.Damage(item: item, repairCost: cost)
    }

    static func parseComparable(_ reader: FieldReader, errors: inout [FieldError]) -> Valuation.Comparable? {
        let price = reader.amount("price", errors: &errors)
        let year = reader.integer("year", in: 1900...9999, errors: &errors)
        let mileage = reader.integer("mileageKm", in: Vehicle.mileageRange, errors: &errors)
        let soldOn = reader.date("soldOn", errors: &errors)
        guard let price, let year, let mileage, let soldOn else { return nil }
        return Valuation.Comparable(price: price, year: year, mileageKm: mileage, soldOn: soldOn)
    }

    static func fieldError(for failure: Valuation.Failure) -> FieldError {
        switch failure {
        case .factorNotPositive(let index):
            FieldError(field: "comparables[\(index)]",
                       message: "rejected: its depreciation factor is zero or negative (it is too many model years newer than the vehicle)")
        case .negativeAdjustedValue(let index):
            FieldError(field: "comparables[\(index)]", message: "rejected: its price adjusted to this vehicle is below zero")
        case .insufficientComparables(let counted, let required):
            FieldError(field: "comparables",
                       message: "\(counted) comparable sale(s) count (sold on or before the valuation date and within the policy's age limit); \(required) are needed",
                       code: .insufficientComparables)
        case .adjustedValueOutOfRange(let index):
            FieldError(field: "comparables[\(index)]",
                       message: "rejected: its price adjusted to this vehicle passes \(Money.inputMaximum) minor units",
                       code: .amountOutOfRange)
        case .damagesOutOfRange:
            FieldError(field: "damages", message: "the repair costs together pass \(Money.inputMaximum) minor units",
                       code: .amountOutOfRange)
        case .overflow:
            FieldError(field: "comparables", message: "the amounts are too large to value", code: .amountOutOfRange)
        }
    }
}
