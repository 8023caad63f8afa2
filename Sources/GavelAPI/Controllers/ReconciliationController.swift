import CSV
import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import HTTPTypes

/// POST /v1/reconciliation/bank-lines: a bank statement as CSV
/// (`date,amount,reference,counterparty`), matched against recorded receipts and
/// payouts. Every new line is stored once; matching then runs over every line still
/// unmatched, so a line uploaded before its payment was recorded matches later.
struct ReconciliationController: Sendable {
    let database: Database

    func upload(_ request: Request, context: GavelRequestContext, caller: Caller) async throws -> Response {
        let currency = request.uri.queryParameters["currency"].map(String.init) ?? "CNY"
        guard Currency.isKnown(currency) else {
            throw ValidationFailure([FieldError(field: "currency", message: "must be an ISO 4217 currency code such as CNY")])
        }
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard mediaType == "text/csv" else {
            throw Problem.unsupportedMediaType("send the bank lines as text/csv: date,amount,reference,counterparty")
        }
        let bytes = try await request.body.collect(upTo: JSONBody.maximumSize)
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw ValidationFailure([FieldError(field: "body", message: "must be UTF-8 text")])
        }
        let lines = try BankStatementCSV.parse(text)
        let reconciliations = Reconciliations()
        return try await Idempotency.perform(request, context: context, caller: caller, body: bytes, database: database) { session in
            let outcome = try await reconciliations.upload(lines, currency: currency, by: caller, in: session)
            return JSONResponse(.ok, ReconciliationAnswer(outcome))
        }
    }
}

/// Reads a bank statement: `date,amount,reference,counterparty`, UTF-8, a header row
/// optional, dates `YYYY-MM-DD`, amounts decimal with two places (money out
/// negative). Every bad line is reported with its line number; one bad line refuses
/// the whole upload, so nothing half-read is stored.
enum BankStatementCSV {
    static let maximumLines = 10_000

    static func parse(_ text: String) throws -> [UploadedBankLine] {
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let reader: CSVReader
        do {
            reader = try CSVReader(string: body, hasHeaderRow: false, trimFields: true)
        } catch {
            throw ValidationFailure([FieldError(field: "body", message: "is not CSV")])
        }
        var lines: [UploadedBankLine] = []
        var errors: [FieldError] = []
        var occurrences: [String: Int] = [:]
        var lineNumber = 1
        var first = true
        while let row = reader.next() {
            defer {
                // A quoted field may hold line breaks: the next record starts after them.
                lineNumber += 1 + row.reduce(0) { $0 + $1.filter { $0 == "\n" }.count }
                first = false
            }
            if row.allSatisfy({ $0.isEmpty }) { continue }
            if first && row.first?.lowercased() == "date" { continue }
            guard lines.count + errors.count < maximumLines else {
                errors.append(FieldError(field: "line \(lineNumber)", message: "at most \(maximumLines) lines per upload"))
                break
            }
            guard row.count == 4 else {
                errors.append(FieldError(
                    field: "line \(lineNumber)", message: "has \(row.count) fields; expected date,amount,reference,counterparty"))
                continue
            }
            var problems: [String] = []
            let date = CalendarDate(iso: row[0])
            if date == nil { problems.append("date must be YYYY-MM-DD, got \"\(row[0])\"") }
            var amount: Int64?
            switch Reconciliation.parseAmount(row[1]) {
            case .success(let value) where value != 0: amount = value
            case .success: problems.append("amount must not be 0.00")
            case .failure(let failure): problems.append("amount \(failure.errors.map(\.message).joined(separator: "; "))")
            }
            // Measured as PostgreSQL measures text (code points), which also refuses NUL.
            for (index, name) in [(2, "reference"), (3, "counterparty")] {
                if row[index].unicodeScalars.count > 200 { problems.append("\(name) must be at most 200 characters") }
                if row[index].unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    problems.append("\(name) must not contain control characters")
                }
            }
            guard problems.isEmpty, let date, let amount else {
                errors.append(FieldError(field: "line \(lineNumber)", message: problems.joined(separator: "; ")))
                continue
            }
            let key = "\(date)|\(amount)|\(row[2])|\(row[3])"
            occurrences[key, default: 0] += 1
            lines.append(UploadedBankLine(
                lineNumber: lineNumber, date: date, amount: amount, reference: row[2], counterparty: row[3],
                occurrence: occurrences[key]!))
        }
        guard errors.isEmpty else { throw ValidationFailure(errors) }
        guard !lines.isEmpty else { throw ValidationFailure([FieldError(field: "body", message: "holds no bank lines")]) }
        return lines
    }
}

/// What an upload matched and what it left, with where each bank line came from.
struct ReconciliationAnswer: Encodable, Sendable {
    struct BankLine: Encodable, Sendable {
        var id: String
        var date: String
        var amount: Int64
        var reference: String
        var counterparty: String
        var line: Int64
        @Nullable var uploadId: String?
    }

    struct BookItem: Encodable, Sendable {
        var kind: String
        var id: String
        var date: String
        var amount: Int64
        var reference: String

        init(_ item: Reconciliation.BookItem) {
            kind = item.kind
            id = item.id.answer
            date = item.date.description
            amount = item.amount
            reference = item.reference
        }
    }

    struct Match: Encodable, Sendable {
        var bankLine: BankLine
        var bookItem: BookItem
        var rule: String
    }

    var currency: String
    var matched: [Match]
    var unmatchedBankLines: [BankLine]
    var unmatchedBookItems: [BookItem]
    var alreadyImported: [Int64]

    init(_ outcome: Reconciliations.Outcome) {
        func bankLine(_ line: Reconciliation.BankLine) -> BankLine {
            BankLine(
                id: line.id.answer, date: line.date.description, amount: line.amount, reference: line.reference,
                counterparty: line.counterparty, line: Int64(outcome.lines[line.id]?.lineNumber ?? 0),
                uploadId: outcome.lines[line.id]?.uploadId.answer)
        }
        currency = outcome.currency
        matched = outcome.matches.map { Match(bankLine: bankLine($0.line), bookItem: BookItem($0.item), rule: $0.rule.rawValue) }
        unmatchedBankLines = outcome.unmatchedLines.map { bankLine($0.line) }
        unmatchedBookItems = outcome.unmatchedItems.map(BookItem.init)
        alreadyImported = outcome.alreadyImported.map(Int64.init)
    }
}
