import Foundation

/// The disposal reports (api-contract.md, second round): where every vehicle stands and
/// how long it has waited, and what each consignor recovered, month by month. Pure: the
/// facts and today come in.
public enum Reports {
    /// Where a vehicle stands, in the order a disposal moves through.
    public enum Stage: String, CaseIterable, Sendable {
        case inStock = "in-stock"
        case appraised
        case listed
        case soldUnpaid = "sold-unpaid"
        case paid
        case settled
        case closed
        /// Handed back to the consignor without a sale.
        case returned
    }

    /// What the store knows of a vehicle.
    public struct VehicleFacts: Equatable, Sendable {
        public var vehicleStatus: Vehicle.Status
        /// The case's status as read (`ready` included).
        public var caseStatus: CaseStatus
        public var appraised: Bool
        /// A lot of it is scheduled, open or pending a decision.
        public var listed: Bool
        /// Its sale's invoice is open.
        public var awaitingPayment: Bool
        public var repossessedOn: CalendarDate
        /// The final statement's day, once the case is settled.
        public var settledOn: CalendarDate?

        public init(
            vehicleStatus: Vehicle.Status, caseStatus: CaseStatus, appraised: Bool, listed: Bool, awaitingPayment: Bool,
            repossessedOn: CalendarDate, settledOn: CalendarDate?
        ) {
            self.vehicleStatus = vehicleStatus
            self.caseStatus = caseStatus
            self.appraised = appraised
            self.listed = listed
            self.awaitingPayment = awaitingPayment
            self.repossessedOn = repossessedOn
            self.settledOn = settledOn
        }

        public var stage: Stage {
            switch caseStatus {
            case .closed: return .closed
            case .settled, .redeemed: return .settled
            case .withdrawn: return .returned
            case .open, .ready: break
            }
            switch vehicleStatus {
            case .returned: return .returned
            case .sold, .released: return .paid
            case .inStock: break
            }
            if awaitingPayment { return .soldUnpaid }
            if listed { return .listed }
            return appraised ? .appraised : .inStock
        }

        /// Days since repossession: until today while the disposal runs, until the
        /// statement once the case is settled.
        public func days(today: CalendarDate) -> Int {
            let end = (stage == .settled || stage == .closed) ? (settledOn ?? today) : today
            return max(0, end.dayNumber - repossessedOn.dayNumber)
        }
    }

    public struct StageSummary: Equatable, Sendable {
        public var stage: Stage
        public var count: Int
        /// Rounded half up; 0 when the stage is empty.
        public var averageDays: Int
        public var oldestDays: Int

        public init(stage: Stage, count: Int, averageDays: Int, oldestDays: Int) {
            self.stage = stage
            self.count = count
            self.averageDays = averageDays
            self.oldestDays = oldestDays
        }
    }

    /// Every stage in order, empty ones included, so that a chart's bars do not move.
    public static func stages(_ vehicles: [VehicleFacts], today: CalendarDate) -> [StageSummary] {
        Stage.allCases.map { stage in
            let days = vehicles.filter { $0.stage == stage }.map { $0.days(today: today) }
            return StageSummary(
                stage: stage, count: days.count, averageDays: average(days) ?? 0, oldestDays: days.max() ?? 0)
        }
    }

    /// What the store knows of a settled case.
    public struct SettledCase: Equatable, Sendable {
        public var consignorId: UUID
        public var consignorName: String
        public var currency: String
        public var settledOn: CalendarDate
        public var obligation: Int64
        public var proceeds: Int64
        /// The earliest repossession among its vehicles.
        public var repossessedOn: CalendarDate?
        /// The day its last vehicle was sold (none for a redemption).
        public var soldOn: CalendarDate?

        public init(
            consignorId: UUID, consignorName: String, currency: String, settledOn: CalendarDate, obligation: Int64, proceeds: Int64,
            repossessedOn: CalendarDate?, soldOn: CalendarDate?
        ) {
            self.consignorId = consignorId
            self.consignorName = consignorName
            self.currency = currency
            self.settledOn = settledOn
            self.obligation = obligation
            self.proceeds = proceeds
            self.repossessedOn = repossessedOn
            self.soldOn = soldOn
        }
    }

    /// One consignor's month (by the statements' settlement day).
    public struct RecoveryRow: Equatable, Sendable {
        public var consignorId: UUID
        public var consignorName: String
        public var currency: String
        /// `2026-11`.
        public var month: String
        public var cases: Int
        public var obligation: Int64
        public var proceeds: Int64
        /// Proceeds over obligation in basis points, rounded half up; nil without obligation.
        public var recoveryBp: Int64?
        public var averageDaysToSale: Int?
        public var averageDaysToSettlement: Int?
    }

    public static func recovery(_ cases: [SettledCase]) -> [RecoveryRow] {
        let groups = Dictionary(grouping: cases) { "\($0.consignorId.uuidString)|\(month(of: $0.settledOn))" }
        return groups.values.compactMap { group -> RecoveryRow? in
            guard let first = group.first else { return nil }
            // Sums of amounts each within the bounds of section 1 stay far inside Int64.
            let obligation = group.reduce(Int64(0)) { $0 + $1.obligation }
            let proceeds = group.reduce(Int64(0)) { $0 + $1.proceeds }
            let toSale = group.compactMap { c in c.soldOn.flatMap { sold in c.repossessedOn.map { sold.dayNumber - $0.dayNumber } } }
            let toSettlement = group.compactMap { c in c.repossessedOn.map { c.settledOn.dayNumber - $0.dayNumber } }
            return RecoveryRow(
                consignorId: first.consignorId, consignorName: first.consignorName, currency: first.currency,
                month: month(of: first.settledOn), cases: group.count, obligation: obligation, proceeds: proceeds,
                recoveryBp: ratioBp(proceeds, obligation), averageDaysToSale: average(toSale),
                averageDaysToSettlement: average(toSettlement))
        }.sorted { ($0.consignorName, $0.consignorId.uuidString, $0.month) < ($1.consignorName, $1.consignorId.uuidString, $1.month) }
    }

    public static func month(of day: CalendarDate) -> String { String(day.description.prefix(7)) }

    /// `numerator / denominator` in basis points, rounded half up.
    static func ratioBp(_ numerator: Int64, _ denominator: Int64) -> Int64? {
        guard denominator > 0 else { return nil }
        let (scaled, overflow) = numerator.multipliedReportingOverflow(by: 10_000)
        guard !overflow else { return numerator / denominator * 10_000 }
        return (scaled + denominator / 2) / denominator
    }

    /// The mean rounded half up; nil for none.
    static func average(_ values: [Int]) -> Int? {
        guard !values.isEmpty else { return nil }
        let sum = values.reduce(0, +)
        return (2 * sum + values.count) / (2 * values.count)
    }
}
