import CSV
import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird

struct CasesController: Sendable {
    let database: Database
    let cases = Cases()

    /// POST /v1/cases: a defaulted loan. A manager opens cases for its own consignor only.
    func create(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let (body, bytes) = try await JSONBody.object(request)
        let loanCase = try LoanCase.parse(body, id: Seam.newID(), today: Scope.day(of: Seam.now()))
        let cases = self.cases
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            JSONResponse(.created, try await cases.open(loanCase, by: caller, in: session))
        }
    }

    func get(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let cases = self.cases
        return JSONResponse(.ok, try await Desk(database: database).read(logger: context.logger) { session in
            try await cases.find(id: id, for: caller, in: session)
        }).response
    }

    /// GET /v1/cases: in creation order; a manager sees its own consignor's only.
    func list(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let page = try Page.from(request)
        let consignorId = try Page.uuid(request, "consignorId")
        let cases = self.cases
        let rows = try await Desk(database: database).readMayLag(for: caller, logger: context.logger) { session in
            try await cases.list(consignorId: consignorId, afterSeq: page.after, limit: page.limit, for: caller, in: session)
        }
        return JSONResponse(.ok, DTO.page(
            rows.map(\.answer), nextCursor: page.nextCursor(lastSequence: rows.last?.seq, count: rows.count))).response
    }

    /// POST /v1/cases/{id}/vehicles
    func addVehicle(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let caseId = try context.parameters.uuid("id")
        let (body, bytes) = try await JSONBody.object(request)
        let cases = self.cases
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let vehicle = try await cases.addVehicle(caseId: caseId, by: caller, in: session) { id, today in
                try Vehicle.parse(body, id: id, caseId: caseId, today: today)
            }
            return JSONResponse(.created, VehicleAnswer(vehicle))
        }
    }
}

extension CasesController {
    /// POST /v1/cases/import (manager, admin): the lender's hand-over file as `text/csv`,
    /// one line per vehicle with its case's fields (Docs/case-import.md). Every line is
    /// checked first; any bad line refuses the file and nothing is stored. The same file
    /// again answers what its first import answered, with `alreadyImported: true`.
    func importCases(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard mediaType == "text/csv" else {
            throw Problem.unsupportedMediaType("send the cases as text/csv, one line per vehicle (Docs/case-import.md)")
        }
        let consignorId = try Page.uuid(request, "consignorId")
        let bytes = try await request.body.collect(upTo: JSONBody.maximumSize)
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw ValidationFailure([FieldError(field: "body", message: "must be UTF-8 text")])
        }
        let (rows, lineNumbers) = try CaseImportCSV.rows(text)
        let digest = APIToken.sha256Hex(text)
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let answer = try await CaseImports().run(
                rows: rows, lineNumbers: lineNumbers, consignorId: consignorId, fileSHA256: digest, by: caller, in: session)
            return JSONResponse(.created, answer)
        }
    }
}

/// The rows of an import file, each with the line it starts on (a quoted field may hold
/// line breaks); blank lines are skipped; a byte-order mark is ignored.
enum CaseImportCSV {
    static func rows(_ text: String) throws -> ([[String]], [Int]) {
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let reader: CSVReader
        do {
            reader = try CSVReader(string: body, hasHeaderRow: false, trimFields: false)
        } catch {
            throw ValidationFailure([FieldError(field: "body", message: "is not CSV")])
        }
        var rows: [[String]] = []
        var lines: [Int] = []
        var line = 1
        while let row = reader.next() {
            defer { line += 1 + row.reduce(0) { $0 + $1.filter { $0 == "\n" }.count } }
            if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            rows.append(row)
            lines.append(line)
            if rows.count > CaseImport.maximumLines + 1 { break }
        }
        return (rows, lines)
    }
}

extension CasesController {
    /// PATCH /v1/cases/{id} (manager, admin): the borrower's details, guarantors with their
    /// guarantees, caps and addresses, the collateral's owner, `excludedIdNumbers`, credits,
    /// and a junior's `eligible` / `demandReceivedAt` / `address` (named by `priority`);
    /// 409 `case-settled` once the case is settled.
    func change(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let id = try context.parameters.uuid("id")
        let (body, _) = try await JSONBody.object(request)
        let cases = self.cases
        let answer = try await Desk(database: database).change(logger: context.logger, requestId: context.requestID) { session in
            try await cases.change(caseId: id, patch: body, by: caller, in: session)
        }
        return JSONResponse(.ok, answer).response
    }
}
