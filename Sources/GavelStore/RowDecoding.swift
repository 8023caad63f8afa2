import Foundation
import GavelCore
import Logging
import PostgresNIO

extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A `date` column selected as `column::text`.
    func calendarDate(_ column: String) throws -> CalendarDate {
        let text = try value(column, as: String.self)
        guard let date = CalendarDate(iso: text) else { throw StoredDataCorrupt(description: "bad date \(text) in \(column)") }
        return date
    }

    /// A text column holding one of an enum's values (its CHECK constraint keeps it so).
    func enumValue<T: RawRepresentable>(_ column: String, as type: T.Type = T.self) throws -> T where T.RawValue == String {
        let text = try value(column, as: String.self)
        guard let value = T(rawValue: text) else { throw StoredDataCorrupt(description: "unknown \(column) \(text)") }
        return value
    }

    /// A `jsonb` column selected as `column::text`.
    func json(_ column: String) throws -> JSONValue {
        try JSONText.decode(JSONValue.self, from: try value(column, as: String.self))
    }
}

extension PostgresRowSequence {
    /// Every row, decoded by `transform`.
    func collect<T>(_ transform: (PostgresRandomAccessRow) throws -> T) async throws -> [T] {
        var values: [T] = []
        for try await row in self { values.append(try transform(row.makeRandomAccess())) }
        return values
    }
}

extension PostgresConnection {
    /// Runs a query whose one parameter is an ID and decodes every row. `sql` is
    /// Gavel's own text (column lists, row locks); the ID is always a bind parameter.
    func rows<T>(
        _ sql: String, id: UUID, logger: Logger, _ decode: (PostgresRandomAccessRow) throws -> T
    ) async throws -> [T] {
        var bindings = PostgresBindings()
        bindings.append(id)
        return try await query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect(decode)
    }
}
