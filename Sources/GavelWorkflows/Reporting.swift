import Foundation
import GavelCore
import GavelStore

/// The disposal reports (`GET /v1/reports/pipeline`, `GET /v1/reports/recovery`): a
/// manager sees its own consignor's, finance and admins any (or all) consignors'.
public struct Reporting: Sendable {
    public init() {}

    /// The consignor a caller's report covers: a manager always its own (another
    /// consignor's ID is 404, as everywhere); others the one asked for, or all.
    static func scope(_ requested: UUID?, for caller: Caller) throws -> UUID? {
        guard caller.role == .manager else { return requested }
        let own = caller.user.consignorId ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        if let requested, requested != own { throw Refusal.notFound("no consignor \(requested.uuidString.lowercased())") }
        return own
    }

    /// Every stage with its count and ages, and a page of the vehicles in intake order.
    public func pipeline(
        consignorId requested: UUID?, afterSeq: Int64, limit: Int, for caller: Caller, in session: Session
    ) async throws -> (PipelineAnswer, lastSeq: Int64?, count: Int) {
        let consignorId = try Self.scope(requested, for: caller)
        let today = Scope.day(of: try await session.now())
        let vehicles = try await ReportRepository.pipeline(consignorId: consignorId, on: session.connection, logger: session.logger)
        let page = Array(vehicles.filter { $0.seq > afterSeq }.prefix(limit))
        let answer = PipelineAnswer(
            asOf: today.description, consignorId: consignorId?.answer,
            stages: Reports.stages(vehicles.map(\.facts), today: today).map(PipelineAnswer.Stage.init),
            items: page.map { PipelineAnswer.Item($0, today: today) })
        return (answer, page.last?.seq, page.count)
    }

    /// Recovery per consignor and month of settlement, `from` to `to` (default: the year
    /// to today).
    public func recovery(
        consignorId requested: UUID?, from: CalendarDate?, to: CalendarDate?, for caller: Caller, in session: Session
    ) async throws -> RecoveryAnswer {
        let consignorId = try Self.scope(requested, for: caller)
        let today = Scope.day(of: try await session.now())
        let end = to ?? today
        let start = from ?? end.adding(days: -364)
        guard start <= end else { throw ValidationFailure([FieldError(field: "from", message: "must not be after to")]) }
        let cases = try await ReportRepository.settled(
            consignorId: consignorId, from: start, to: end, on: session.connection, logger: session.logger)
        return RecoveryAnswer(from: start.description, to: end.description, items: Reports.recovery(cases).map(RecoveryAnswer.Row.init))
    }
}

public struct PipelineAnswer: Encodable, Sendable {
    public struct Stage: Encodable, Sendable {
        public var stage: String
        public var count: Int
        public var averageDays: Int
        public var oldestDays: Int

        init(_ summary: Reports.StageSummary) {
            stage = summary.stage.rawValue
            count = summary.count
            averageDays = summary.averageDays
            oldestDays = summary.oldestDays
        }
    }

    public struct Item: Encodable, Sendable {
        public var vehicleId: String
        public var vin: String
        public var description: String
        public var caseId: String
        public var loanNumber: String
        public var consignorId: String
        public var stage: String
        public var repossessedOn: String
        /// Days since repossession (to the statement once settled).
        public var days: Int

        init(_ vehicle: ReportRepository.PipelineVehicle, today: CalendarDate) {
            vehicleId = vehicle.id.answer
            vin = vehicle.vin
            description = vehicle.description
            caseId = vehicle.caseId.answer
            loanNumber = vehicle.loanNumber
            consignorId = vehicle.consignorId.answer
            stage = vehicle.facts.stage.rawValue
            repossessedOn = vehicle.facts.repossessedOn.description
            days = vehicle.facts.days(today: today)
        }
    }

    public var asOf: String
    /// The consignor covered; null: every consignor.
    @Nullable public var consignorId: String?
    public var stages: [Stage]
    public var items: [Item]
    @Nullable public var nextCursor: String? = nil
}

public struct RecoveryAnswer: Encodable, Sendable {
    public struct Row: Encodable, Sendable {
        public var consignorId: String
        public var consignorName: String
        public var currency: String
        public var month: String
        public var cases: Int
        public var obligation: Int64
        public var proceeds: Int64
        @Nullable public var recoveryBp: Int64?
        @Nullable public var averageDaysToSale: Int?
        @Nullable public var averageDaysToSettlement: Int?

        init(_ row: Reports.RecoveryRow) {
            consignorId = row.consignorId.answer
            consignorName = row.consignorName
            currency = row.currency
            month = row.month
            cases = row.cases
            obligation = row.obligation
            proceeds = row.proceeds
            recoveryBp = row.recoveryBp
            averageDaysToSale = row.averageDaysToSale
            averageDaysToSettlement = row.averageDaysToSettlement
        }
    }

    public var from: String
    public var to: String
    public var items: [Row]
    @Nullable public var nextCursor: String? = nil
}
