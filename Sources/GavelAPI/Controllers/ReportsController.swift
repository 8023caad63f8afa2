import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

/// The disposal reports, as JSON or (`Accept: text/csv`) as CSV for a spreadsheet.
struct ReportsController: Sendable {
    let database: Database

    /// GET /v1/reports/pipeline?consignorId=: vehicles by stage with their ages.
    func pipeline(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try Page.onlyParameters(request, ["consignorId", "limit", "cursor"])
        let page = try Page.from(request)
        let consignorId = try Page.uuid(request, "consignorId")
        var (answer, lastSeq, count) = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Reporting().pipeline(consignorId: consignorId, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        answer.nextCursor = page.nextCursor(lastSequence: lastSeq, count: count)
        return Self.wantsCSV(request) ? try Self.pipelineCSV(answer) : JSONResponse(.ok, answer).response
    }

    /// GET /v1/reports/recovery?from=&to=&consignorId=: recovery and days to sale and to
    /// settlement per consignor and month.
    func recovery(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        try Page.onlyParameters(request, ["consignorId", "from", "to"])
        var errors: [FieldError] = []
        func date(_ name: String) -> CalendarDate? {
            guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
            guard let day = CalendarDate(iso: String(text)) else {
                errors.append(FieldError(field: name, message: "must be a date YYYY-MM-DD"))
                return nil
            }
            return day
        }
        let from = date("from"), to = date("to")
        let consignorId = try Page.uuid(request, "consignorId")
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        let answer = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await Reporting().recovery(consignorId: consignorId, from: from, to: to, for: caller, in: session)
        }
        return Self.wantsCSV(request) ? try Self.recoveryCSV(answer) : JSONResponse(.ok, answer).response
    }

    /// The stages, a blank line, then the vehicles of the page.
    static func pipelineCSV(_ answer: PipelineAnswer) throws -> Response {
        var rows = [["stage", "vehicles", "averageDays", "oldestDays"]]
        rows += answer.stages.map { [$0.stage, String($0.count), String($0.averageDays), String($0.oldestDays)] }
        rows.append([])
        rows.append(["vehicleId", "vin", "vehicle", "caseId", "loanNumber", "stage", "repossessedOn", "days"])
        rows += answer.items.map { [$0.vehicleId, $0.vin, $0.description, $0.caseId, $0.loanNumber, $0.stage, $0.repossessedOn, String($0.days)] }
        return try csv(rows)
    }

    static func recoveryCSV(_ answer: RecoveryAnswer) throws -> Response {
        var rows = [["consignorId", "consignor", "currency", "month", "cases", "obligation", "proceeds", "recoveryBp",
                     "averageDaysToSale", "averageDaysToSettlement"]]
        rows += answer.items.map { row in
            [row.consignorId, row.consignorName, row.currency, row.month, String(row.cases), String(row.obligation),
             String(row.proceeds), row.recoveryBp.map(String.init) ?? "", row.averageDaysToSale.map(String.init) ?? "",
             row.averageDaysToSettlement.map(String.init) ?? ""]
        }
        return try csv(rows)
    }

    static func wantsCSV(_ request: Request) -> Bool { request.headers[.accept]?.lowercased().contains("text/csv") == true }

    static func csv(_ rows: [[String]]) throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: try CSVDocument.render(rows))))
    }
}
