import Foundation

/// A repossessed vehicle of a case (domain rules section 2).
public struct Vehicle: Equatable, Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case inStock = "in-stock"
        /// Sold and paid for.
        case sold
        /// Handed back to the consignor (unsaleable, recalled, court order).
        case returned
        /// Given back to the borrower, who redeemed it.
        case released

        /// Sold and paid, returned or released: nothing more happens to it in its case.
        public var isDisposed: Bool { self != .inStock }
    }

    public var id: UUID
    public var caseId: UUID
    public var vin: VIN
    public var make: String
    public var model: String
    public var year: Int64
    public var mileageKm: Int64
    public var color: String?
    public var location: String?
    public var hasKeys: Bool
    public var titleStatus: String
    public var repossessedOn: CalendarDate
    public var status: Status

    public init(
        id: UUID, caseId: UUID, vin: VIN, make: String, model: String, year: Int64, mileageKm: Int64, color: String?,
        location: String?, hasKeys: Bool, titleStatus: String, repossessedOn: CalendarDate, status: Status
    ) {
        self.id = id
        self.caseId = caseId
        self.vin = vin
        self.make = make
        self.model = model
        self.year = year
        self.mileageKm = mileageKm
        self.color = color
        self.location = location
        self.hasKeys = hasKeys
        self.titleStatus = titleStatus
        self.repossessedOn = repossessedOn
        self.status = status
    }

    public static let mileageRange: ClosedRange<Int64> = 0...2_000_000

    /// Model years 1980 to next year, as the rules allow.
    public static func yearRange(today: CalendarDate) -> ClosedRange<Int64> { 1980...Int64(today.year + 1) }

    public static func parse(_ body: FieldReader, id: UUID, caseId: UUID, today: CalendarDate) throws(ValidationFailure) -> Vehicle {
        var errors: [FieldError] = []
        var vin: VIN?
        if let text = body.string("vin", maxLength: 64, errors: &errors) {
            do {
                vin = try VIN(text)
            } catch {
                errors.append(FieldError(field: "vin", message: error.description, code: .invalidVIN, rule: error.rule))
            }
        }
        let make = body.string("make", maxLength: 100, errors: &errors)
        let model = body.string("model", maxLength: 100, errors: &errors)
        let year = body.integer("year", in: yearRange(today: today), errors: &errors)
        let mileage = body.integer("mileageKm", in: mileageRange, errors: &errors)
        let color = body.string("color", maxLength: 50, required: false, errors: &errors)
        let location = body.string("location", maxLength: 200, required: false, errors: &errors)
        let hasKeys = body.bool("hasKeys", errors: &errors)
        let titleStatus = body.string("titleStatus", maxLength: 50, errors: &errors)
        let repossessedOn = body.date("repossessedOn", errors: &errors)
        if let repossessedOn, repossessedOn > today {
            errors.append(FieldError(field: "repossessedOn", message: "must not be in the future"))
        }
        guard errors.isEmpty, let vin, let make, let model, let year, let mileage, let hasKeys, let titleStatus,
              let repossessedOn
        else { throw ValidationFailure(errors) }
        return Vehicle(
            id: id, caseId: caseId, vin: vin, make: make, model: model, year: year, mileageKm: mileage, color: color,
            location: location, hasKeys: hasKeys, titleStatus: titleStatus, repossessedOn: repossessedOn, status: .inStock)
    }
}
