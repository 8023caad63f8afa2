import Foundation
import GavelCore
import Logging
import PostgresNIO

/// A disposal expense of a case (repossession, transport, ... and the seller fee).
public struct Expense: Sendable, Equatable {
    public var id: UUID
    public var caseId: UUID
    public var kind: ExpenseKind
    public var amount: Int64
    public var incurredOn: CalendarDate
    public var vendor: String?
    public var reference: String?
    public var currency: String

    public init(
        id: UUID, caseId: UUID, kind: ExpenseKind, amount: Int64, incurredOn: CalendarDate, vendor: String?, reference: String?,
        currency: String
    ) {
        self.id = id
        self.caseId = caseId
        self.kind = kind
        self.amount = amount
        self.incurredOn = incurredOn
        self.vendor = vendor
        self.reference = reference
        self.currency = currency
    }
}

public enum ExpenseRepository {
    public static func insert(_ expense: Expense, recordedBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO expenses (id, case_id, kind, amount, incurred_on, vendor, reference, recorded_by)
            VALUES (\(expense.id), \(expense.caseId), \(expense.kind.rawValue), \(expense.amount), \(expense.incurredOn.description)::date,
                    \(expense.vendor), \(expense.reference), \(recordedBy))
            """, logger: logger)
    }

    /// The sum of a case's recorded expenses (the seller fee included).
    public static func total(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        for try await total in try await connection.query(
            "SELECT COALESCE(sum(amount), 0)::bigint FROM expenses WHERE case_id = \(caseId)", logger: logger
        ).decode(Int64.self) { return total }
        return 0
    }

    /// The case's expenses in the order recorded (the seller fee among them).
    public static func list(caseId: UUID, currency: String, on connection: PostgresConnection, logger: Logger) async throws -> [Expense] {
        try await connection.query(
            """
            SELECT id, case_id, kind, amount, incurred_on::text AS incurred_on, vendor, reference FROM expenses
            WHERE case_id = \(caseId) ORDER BY seq
            """, logger: logger
        ).collect { row in
            Expense(
                id: try row.value("id"), caseId: try row.value("case_id"), kind: try row.enumValue("kind"),
                amount: try row.value("amount"), incurredOn: try row.calendarDate("incurred_on"), vendor: try row.value("vendor"),
                reference: try row.value("reference"), currency: currency)
        }
    }
}
