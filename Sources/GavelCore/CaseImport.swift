import Foundation

/// The lender's daily hand-over (domain rules section 10, bulk intake): a CSV of cases
/// and their vehicles, one line per vehicle with its case's fields repeated. Every line
/// is checked by the same rules as `POST /v1/cases` and `POST /v1/cases/{id}/vehicles`;
/// every problem is reported with its line number and column, and a file with any bad
/// line imports nothing. The columns are in `Docs/case-import.md`.
public enum CaseImport {
    /// A case of the file with the vehicles taken back under it, each with its line.
    public struct ImportedCase: Sendable, Equatable {
        public var loanCase: LoanCase
        public var firstLine: Int
        public var vehicles: [Vehicle]
        public var vehicleLines: [Int]
    }

    /// The columns, in the order the example file gives them; `required` ones must be
    /// present in the header.
    public static let columns: [(name: String, required: Bool)] = [
        ("loan_number", true), ("borrower_name", true), ("borrower_id_number", false), ("borrower_address", false),
        ("guarantors", false), ("principal", true), ("interest", true), ("fees", true), ("per_diem_interest", true),
        ("balances_as_of", true), ("lienholders", false),
        ("vin", true), ("make", true), ("model", true), ("year", true), ("mileage_km", true), ("color", false),
        ("location", false), ("has_keys", true), ("title_status", true), ("repossessed_on", true),
    ]

    /// The columns that describe the case (repeated on every line of it).
    static let caseColumns: Set<String> = [
        "loan_number", "borrower_name", "borrower_id_number", "borrower_address", "guarantors", "principal", "interest",
        "fees", "per_diem_interest", "balances_as_of", "lienholders",
    ]

    public static let maximumLines = 10_000

    /// Reads the file's rows (`rows[0]` the header) into cases; `lineNumbers[i]` is the
    /// line `rows[i]` started on.
    public static func read(
        rows: [[String]], lineNumbers: [Int], consignorId: UUID, today: CalendarDate, newID: () -> UUID
    ) -> Result<[ImportedCase], ValidationFailure> {
        guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            return .failure(ValidationFailure([FieldError(field: "line 1", message: "the file is empty: a header row is required")]))
        }
        var errors: [FieldError] = []
        let known = Set(columns.map(\.name))
        for (index, name) in header.enumerated() where !known.contains(name) {
            errors.append(FieldError(field: "line \(lineNumbers[0])", message: "column \(index + 1) \"\(name)\" is not an import column"))
        }
        for column in columns where column.required && !header.contains(column.name) {
            errors.append(FieldError(field: "line \(lineNumbers[0])", message: "the header has no \(column.name) column"))
        }
        if Set(header).count != header.count {
            errors.append(FieldError(field: "line \(lineNumbers[0])", message: "a column is named twice"))
        }
        guard errors.isEmpty else { return .failure(ValidationFailure(errors)) }
        if rows.count - 1 > maximumLines {
            return .failure(ValidationFailure([FieldError(field: "body", message: "at most \(maximumLines) lines per file")]))
        }
        if rows.count == 1 {
            return .failure(ValidationFailure([FieldError(field: "line \(lineNumbers[0] + 1)", message: "the file has no vehicle line")]))
        }

        var cases: [ImportedCase] = []
        var caseIndex: [String: (index: Int, fields: [String: String])] = [:]
        var vins: [String: Int] = [:]
        for (offset, row) in rows.enumerated().dropFirst() {
            let line = lineNumbers[offset]
            func problem(_ message: String) { errors.append(FieldError(field: "line \(line)", message: message)) }
            guard row.count == header.count else {
                problem("has \(row.count) fields; the header has \(header.count)")
                continue
            }
            var fields: [String: String] = [:]
            for (name, value) in zip(header, row) { fields[name] = value.trimmingCharacters(in: .whitespaces) }
            let caseFields = fields.filter { caseColumns.contains($0.key) }
            let loanNumber = fields["loan_number"] ?? ""
            var lineErrors: [FieldError] = []
            if let known = caseIndex[loanNumber] {
                if known.fields != caseFields {
                    let differing = caseColumns.sorted().filter { known.fields[$0] != caseFields[$0] }
                    problem("loan \(loanNumber) is on line \(cases[known.index].firstLine) with other case fields (\(differing.joined(separator: ", ")))")
                    continue
                }
            } else {
                // A column that does not read (an amount without its two places) is
                // reported once; the rules run over the others all the same.
                let (json, unread) = caseJSON(caseFields, consignorId: consignorId)
                lineErrors += unread
                do throws(ValidationFailure) {
                    if let reader = FieldReader.body(json, today: today, errors: &lineErrors) {
                        let loanCase = try LoanCase.parse(reader, id: newID(), today: today)
                        if unread.isEmpty {
                            caseIndex[loanNumber] = (cases.count, caseFields)
                            cases.append(ImportedCase(loanCase: loanCase, firstLine: line, vehicles: [], vehicleLines: []))
                        }
                    }
                } catch {
                    lineErrors += ruleErrors(error, besides: unread)
                }
            }
            let (json, unread) = vehicleJSON(fields)
            lineErrors += unread
            do throws(ValidationFailure) {
                if let reader = FieldReader.body(json, today: today, errors: &lineErrors) {
                    let caseId = caseIndex[loanNumber].map { cases[$0.index].loanCase.id } ?? UUID()
                    let vehicle = try Vehicle.parse(reader, id: newID(), caseId: caseId, today: today)
                    if let earlier = vins[vehicle.vin.value] {
                        lineErrors.append(FieldError(field: "vin", message: "\(vehicle.vin.value) is on line \(earlier) too"))
                    } else if lineErrors.isEmpty, let index = caseIndex[loanNumber]?.index {
                        vins[vehicle.vin.value] = line
                        cases[index].vehicles.append(vehicle)
                        cases[index].vehicleLines.append(line)
                    }
                }
            } catch {
                lineErrors += ruleErrors(error, besides: unread)
            }
            errors += lineErrors.map {
                FieldError(field: "line \(line)", message: "\($0.field): \($0.message)", code: $0.code, rule: $0.rule)
            }
        }
        return errors.isEmpty ? .success(cases) : .failure(ValidationFailure(errors))
    }

    /// The case's fields as `POST /v1/cases` takes them.
    static func caseJSON(_ fields: [String: String], consignorId: UUID) -> (JSONValue, [FieldError]) {
        var errors: [FieldError] = []
        func text(_ name: String) -> JSONValue? { fields[name].flatMap { $0.isEmpty ? nil : .string($0) } }
        func money(_ name: String) -> JSONValue? {
            guard let raw = fields[name] else { return nil }
            switch Reconciliation.parseAmount(raw) {
            case .success(let minor) where minor >= 0: return .integer(minor)
            case .success: errors.append(FieldError(field: name, message: "must not be negative"))
            case .failure(let failure): errors += failure.errors.map { FieldError(field: name, message: $0.message) }
            }
            return nil
        }
        var borrower: [String: JSONValue] = [:]
        borrower["name"] = text("borrower_name")
        borrower["idNumber"] = text("borrower_id_number")
        borrower["address"] = text("borrower_address")
        var balances: [String: JSONValue] = [:]
        balances["principal"] = money("principal")
        balances["interest"] = money("interest")
        balances["fees"] = money("fees")
        balances["perDiemInterest"] = money("per_diem_interest")
        balances["asOf"] = text("balances_as_of")
        var guarantors: [JSONValue] = []
        for part in (fields["guarantors"] ?? "").split(separator: ";") {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            var guarantor: [String: JSONValue] = ["name": .string(pieces[0])]
            if pieces.count > 1, !pieces[1].isEmpty { guarantor["guaranteeType"] = .string(pieces[1]) }
            if pieces.count > 2, !pieces[2].isEmpty {
                switch Reconciliation.parseAmount(pieces[2]) {
                case .success(let cap) where cap >= 0: guarantor["cap"] = .integer(cap)
                default: errors.append(FieldError(field: "guarantors", message: "the cap of \(pieces[0]) must be an amount such as 10000.00"))
                }
            }
            if pieces.count > 3 { errors.append(FieldError(field: "guarantors", message: "write each as name[:joint|general[:cap]]")) }
            guarantors.append(.object(guarantor))
        }
        var lienholders: [JSONValue] = []
        for part in (fields["lienholders"] ?? "").split(separator: ";") {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 3 || pieces.count == 4,
                  case .success(let amount) = Reconciliation.parseAmount(pieces[1]), amount >= 0, let priority = Int64(pieces[2]),
                  pieces.count == 3 || ["eligible", "ineligible"].contains(pieces[3])
            else {
                errors.append(FieldError(field: "lienholders", message: "write each as name:amount:priority[:eligible|ineligible], such as Second Bank:3000.00:2"))
                continue
            }
            lienholders.append(.object([
                "name": .string(pieces[0]), "amount": .integer(amount), "priority": .integer(priority),
                "eligible": .bool(pieces.count == 3 || pieces[3] == "eligible"),
            ]))
        }
        var body: [String: JSONValue] = [
            "consignorId": .string(consignorId.uuidString.lowercased()), "borrower": .object(borrower),
            "balances": .object(balances), "guarantors": .array(guarantors), "lienholders": .array(lienholders),
        ]
        body["loanNumber"] = text("loan_number")
        return (.object(body), errors)
    }

    /// The vehicle's fields as `POST /v1/cases/{id}/vehicles` takes them.
    static func vehicleJSON(_ fields: [String: String]) -> (JSONValue, [FieldError]) {
        var errors: [FieldError] = []
        var body: [String: JSONValue] = [:]
        for (column, key) in [("vin", "vin"), ("make", "make"), ("model", "model"), ("color", "color"), ("location", "location"),
                              ("title_status", "titleStatus"), ("repossessed_on", "repossessedOn")] {
            if let value = fields[column], !value.isEmpty { body[key] = .string(value) }
        }
        for (column, key) in [("year", "year"), ("mileage_km", "mileageKm")] {
            guard let value = fields[column], !value.isEmpty else { continue }
            if let number = Int64(value) { body[key] = .integer(number) } else {
                errors.append(FieldError(field: column, message: "must be a whole number"))
            }
        }
        if let keys = fields["has_keys"]?.lowercased(), !keys.isEmpty {
            switch keys {
            case "yes", "true", "y", "1": body["hasKeys"] = .bool(true)
            case "no", "false", "n", "0": body["hasKeys"] = .bool(false)
            default: errors.append(FieldError(field: "has_keys", message: "must be yes or no"))
            }
        }
        return (.object(body), errors)
    }

    /// The rules' errors by column, less those of columns already reported unreadable.
    static func ruleErrors(_ failure: ValidationFailure, besides unread: [FieldError]) -> [FieldError] {
        let reported = Set(unread.map(\.field))
        return failure.errors.map { FieldError(field: column(of: $0.field), message: $0.message, code: $0.code, rule: $0.rule) }
            .filter { !reported.contains($0.field) }
    }

    /// The CSV column a request field comes from.
    static func column(of field: String) -> String {
        let direct: [String: String] = [
            "loanNumber": "loan_number", "borrower.name": "borrower_name", "borrower.idNumber": "borrower_id_number",
            "borrower.address": "borrower_address", "balances.principal": "principal", "balances.interest": "interest",
            "balances.fees": "fees", "balances.perDiemInterest": "per_diem_interest", "balances.asOf": "balances_as_of",
            "vin": "vin", "make": "make", "model": "model", "year": "year", "mileageKm": "mileage_km", "color": "color",
            "location": "location", "hasKeys": "has_keys", "titleStatus": "title_status", "repossessedOn": "repossessed_on",
            "borrower": "borrower_name", "balances": "principal",
        ]
        if let name = direct[field] { return name }
        if field.hasPrefix("guarantors") { return "guarantors" }
        if field.hasPrefix("lienholders") { return "lienholders" }
        return field
    }
}
