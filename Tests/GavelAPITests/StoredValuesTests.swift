import Foundation
import GavelCore
import PostgresNIO
import Testing

/// Every status and kind PostgreSQL stores as text has one list of values, a Swift enum;
/// its column's CHECK constraint must allow exactly those, so neither side can gain or
/// lose a value alone.
@Suite("Stored statuses and kinds match their CHECK constraints")
struct StoredValuesTests {
    struct Column: Sendable, CustomStringConvertible {
        var table: String
        var column: String
        var values: [String]
        var description: String { "\(table).\(column)" }
    }

    static let columns: [Column] = [
        Column(table: "deposits", column: "status", values: DepositStatus.allCases.map(\.rawValue)),
        // `ready` is never stored: an open case whose vehicles are all disposed of reads as ready.
        Column(table: "cases", column: "status", values: CaseStatus.allCases.filter { $0 != .ready }.map(\.rawValue)),
        Column(table: "expenses", column: "kind", values: ExpenseKind.allCases.map(\.rawValue)),
        Column(table: "lot_events", column: "kind", values: LotEventKind.allCases.map(\.rawValue)),
        Column(table: "settlement_statements", column: "status", values: StatementStatus.allCases.map(\.rawValue)),
        Column(table: "surplus_refunds", column: "status", values: SurplusRefundStatus.allCases.map(\.rawValue)),
        Column(table: "deficiency_claims", column: "status", values: DeficiencyClaimStatus.allCases.map(\.rawValue)),
        // `open` is never stored: a scheduled lot reads as open from its start (lot_effective_status).
        Column(table: "lots", column: "status", values: Lot.Status.allCases.filter { $0 != .open }.map(\.rawValue)),
        Column(table: "lots", column: "format", values: Lot.Format.allCases.map(\.rawValue)),
        Column(table: "vehicles", column: "status", values: Vehicle.Status.allCases.map(\.rawValue)),
        Column(table: "appraisals", column: "status", values: Appraisal.Status.allCases.map(\.rawValue)),
        Column(table: "appraisals", column: "method", values: Appraisal.Method.allCases.map(\.rawValue)),
        Column(table: "invoices", column: "status", values: InvoiceBalance.Status.allCases.map(\.rawValue)),
        Column(table: "users", column: "role", values: Role.allCases.map(\.rawValue)),
        Column(table: "reconciliation_matches", column: "rule", values: Reconciliation.Rule.allCases.map(\.rawValue)),
        Column(table: "settlement_statements", column: "kind", values: StatementKind.allCases.map(\.rawValue)),
        Column(table: "case_receipts", column: "kind", values: CaseReceiptKind.allCases.map(\.rawValue)),
        Column(table: "payouts", column: "kind", values: PayoutKind.allCases.map(\.rawValue)),
    ]

    @Test("each enum equals its column's CHECK list", arguments: columns)
    func matches(_ column: Column) async throws {
        try await withMigratedDatabase { location in
            let definitions = try await PostgresConnection.with(location, logger: quietLogger) { connection -> [String] in
                var found: [String] = []
                for try await definition in try await connection.query(
                    """
                    SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                    WHERE t.relname = \(column.table) AND c.contype = 'c'
                      AND pg_get_constraintdef(c.oid) LIKE '%(' || \(column.column) || ' = ANY (ARRAY[%'
                    """, logger: quietLogger
                ).decode(String.self) { found.append(definition) }
                return found
            }
            try #require(definitions.count == 1, "\(column): \(definitions)")
            let allowed = definitions[0].matches(of: /'([^']*)'::text/).map { String($0.output.1) }
            #expect(Set(allowed) == Set(column.values), "\(column): the database allows \(allowed)")
            #expect(allowed.count == column.values.count)
        }
    }
}
