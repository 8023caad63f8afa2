import Foundation
import GavelCore
import GavelStore

/// The lender's daily hand-over: cases and their vehicles from one CSV file, checked
/// line by line before anything is stored, created in one transaction, once per file.
public struct CaseImports: Sendable {
    public init() {}

    /// `rows[0]` is the header; `lineNumbers[i]` the line `rows[i]` starts on. A manager
    /// imports for its own consignor; an admin names it.
    public func run(
        rows: [[String]], lineNumbers: [Int], consignorId requested: UUID?, fileSHA256: String, by caller: Caller,
        in session: Session
    ) async throws -> CaseImportAnswer {
        let connection = session.connection
        let logger = session.logger
        let consignorId: UUID
        if caller.role == .manager {
            guard let own = caller.user.consignorId, requested == nil || requested == own else {
                throw Refusal.notFound("no consignor \(requested?.uuidString.lowercased() ?? "")")
            }
            consignorId = own
        } else {
            guard let requested else {
                throw ValidationFailure([FieldError(field: "consignorId", message: "name the consignor whose cases these are (?consignorId=)")])
            }
            consignorId = requested
        }
        guard try await ConsignorRepository.find(id: consignorId, on: connection, logger: logger) != nil else {
            throw ValidationFailure([FieldError(field: "consignorId", message: "no consignor has this ID")])
        }
        try await CaseImportRepository.lock(consignorId: consignorId, on: connection, logger: logger)
        if let earlier = try await CaseImportRepository.answer(
            consignorId: consignorId, fileSHA256: fileSHA256, on: connection, logger: logger),
           var answer = try? JSONText.decode(CaseImportAnswer.self, from: JSONText.encode(earlier)) {
            answer.alreadyImported = true
            return answer
        }
        let today = try await session.today()
        let cases: [CaseImport.ImportedCase]
        switch CaseImport.read(rows: rows, lineNumbers: lineNumbers, consignorId: consignorId, today: today, newID: Seam.newID) {
        case .failure(let failure): throw failure
        case .success(let read): cases = read
        }
        // What the file cannot know: loans the consignor handed over before, cars still in stock.
        var errors: [FieldError] = []
        let taken = try await CaseRepository.existingLoanNumbers(
            cases.map(\.loanCase.loanNumber), consignorId: consignorId, on: connection, logger: logger)
        for item in cases where taken.contains(item.loanCase.loanNumber) {
            errors.append(FieldError(field: "line \(item.firstLine)", message: "loan_number: the consignor already has a case for loan \(item.loanCase.loanNumber)"))
        }
        let inStock = try await VehicleRepository.vinsInStock(
            cases.flatMap { $0.vehicles.map(\.vin.value) }, on: connection, logger: logger)
        for item in cases {
            for (vehicle, line) in zip(item.vehicles, item.vehicleLines) where inStock.contains(vehicle.vin.value) {
                errors.append(FieldError(field: "line \(line)", message: "vin: \(vehicle.vin.value) belongs to a vehicle not yet disposed of"))
            }
        }
        guard errors.isEmpty else {
            throw ValidationFailure(errors.sorted { Int($0.field.dropFirst(5)) ?? 0 < Int($1.field.dropFirst(5)) ?? 0 })
        }
        try await CaseRepository.insert(cases.map(\.loanCase), on: connection, logger: logger)
        try await VehicleRepository.insert(cases.flatMap(\.vehicles), on: connection, logger: logger)
        let answer = CaseImportAnswer(cases: cases)
        try await CaseImportRepository.record(
            consignorId: consignorId, fileSHA256: fileSHA256, answer: JSONValue(answer: answer), importedBy: caller.user.id,
            on: connection, logger: logger)
        let currency = try await ConsignorRepository.find(id: consignorId, on: connection, logger: logger)?.currency ?? ""
        try await session.audit(cases.map { item in
            AuditRecord(
                actor: caller.auditActor, action: "case.import", entityType: "case", entityId: item.loanCase.id, before: nil,
                after: JSONValue(answer: CaseAnswer(item.loanCase, currency: currency, vehicles: item.vehicles)),
                requestId: session.requestId)
        })
        return answer
    }
}

public struct CaseImportAnswer: Codable, Sendable {
    public struct ImportedVehicle: Codable, Sendable {
        public var id: String
        public var vin: String
        public var line: Int
    }

    public struct ImportedCase: Codable, Sendable {
        public var id: String
        public var loanNumber: String
        public var line: Int
        public var vehicles: [ImportedVehicle]
    }

    /// How many cases and vehicles the file created.
    public var cases: Int
    public var vehicles: Int
    public var imported: [ImportedCase]
    /// The same file was imported before: this is what that import answered.
    public var alreadyImported: Bool

    init(cases: [CaseImport.ImportedCase]) {
        self.cases = cases.count
        vehicles = cases.reduce(0) { $0 + $1.vehicles.count }
        imported = cases.map { item in
            ImportedCase(
                id: item.loanCase.id.answer, loanNumber: item.loanCase.loanNumber, line: item.firstLine,
                vehicles: zip(item.vehicles, item.vehicleLines).map { ImportedVehicle(id: $0.id.answer, vin: $0.vin.value, line: $1) })
        }
        alreadyImported = false
    }
}
