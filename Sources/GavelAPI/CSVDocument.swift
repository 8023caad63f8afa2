import CSV
import Foundation

/// Every CSV Gavel writes goes through here, so that none carries a formula: names and
/// labels come from callers, and a spreadsheet runs a cell such as `=HYPERLINK(...)`.
enum CSVDocument {
    static func render(_ rows: [[String]]) throws -> String {
        let stream = OutputStream(toMemory: ())
        let writer = try CSVWriter(stream: stream)
        for row in rows { try writer.write(row: row.map(neutralised)) }
        writer.stream.close()
        guard let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data else { return "" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// OWASP's advice for CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a
    /// tab or a carriage return is prefixed with `'`, which spreadsheets read as "text".
    /// A number (an amount, `-1570000`) stays a number.
    static func neutralised(_ cell: String) -> String {
        guard let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), !isNumber(cell) else {
            return cell
        }
        return "'" + cell
    }

    static func isNumber(_ cell: String) -> Bool {
        let digits = cell.hasPrefix("-") ? cell.dropFirst() : Substring(cell)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
