import Foundation
import GavelCore
import Logging
import PostgresNIO

/// The facts the disposal reports are made from (`GavelCore.Reports` makes them).
public enum ReportRepository {
    /// A vehicle as the pipeline places it.
    public struct PipelineVehicle: Sendable {
        public var id: UUID
        public var seq: Int64
        public var vin: String
        public var description: String
        public var caseId: UUID
        public var loanNumber: String
        public var consignorId: UUID
        public var facts: Reports.VehicleFacts
    }

    /// Every vehicle of the consignor (nil: of all), in the order taken in.
    public static func pipeline(consignorId: UUID?, on connection: PostgresConnection, logger: Logger) async throws -> [PipelineVehicle] {
        try await connection.query(
            """
            SELECT v.id, v.seq, v.vin, v.make, v.model, v.year, v.status, v.repossessed_on::text AS repossessed_on,
                   c.id AS case_id, c.loan_number, c.consignor_id, case_effective_status(c.id, c.status) AS case_status,
                   EXISTS (SELECT 1 FROM appraisals a WHERE a.vehicle_id = v.id AND a.status = 'approved') AS appraised,
                   EXISTS (SELECT 1 FROM lots l WHERE l.vehicle_id = v.id AND l.status IN ('scheduled', 'pending-approval')) AS listed,
                   EXISTS (SELECT 1 FROM invoices i JOIN lots l ON l.id = i.lot_id
                           WHERE l.vehicle_id = v.id AND i.status = 'open') AS awaiting_payment,
                   (SELECT max(s.settlement_date) FROM settlement_statements s
                    WHERE s.case_id = c.id AND s.status = 'final')::text AS settled_on
            FROM vehicles v JOIN cases c ON c.id = v.case_id
            WHERE \(consignorId)::uuid IS NULL OR c.consignor_id = \(consignorId)
            ORDER BY v.seq
            """, logger: logger
        ).collect { row in
            guard let status = Vehicle.Status(rawValue: try row.value("status")),
                  let caseStatus = CaseStatus(rawValue: try row.value("case_status")),
                  let repossessedOn = CalendarDate(iso: try row.value("repossessed_on"))
            else { throw StoredDataCorrupt(description: "a vehicle of the pipeline no longer reads") }
            let year: Int = try row.value("year")
            return PipelineVehicle(
                id: try row.value("id"), seq: try row.value("seq"), vin: try row.value("vin"),
                description: "\(year) \(try row.value("make", as: String.self)) \(try row.value("model", as: String.self))",
                caseId: try row.value("case_id"), loanNumber: try row.value("loan_number"), consignorId: try row.value("consignor_id"),
                facts: Reports.VehicleFacts(
                    vehicleStatus: status, caseStatus: caseStatus, appraised: try row.value("appraised"), listed: try row.value("listed"),
                    awaitingPayment: try row.value("awaiting_payment"), repossessedOn: repossessedOn,
                    settledOn: (try row.value("settled_on", as: String?.self)).flatMap(CalendarDate.init(iso:))))
        }
    }

    /// The cases settled (final statements) between the two days, both included.
    public static func settled(
        consignorId: UUID?, from: CalendarDate, to: CalendarDate, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Reports.SettledCase] {
        try await connection.query(
            """
            SELECT c.consignor_id, co.name, s.currency, s.settlement_date::text AS settled_on,
                   (s.body -> 'obligation' ->> 'total')::bigint AS obligation, (s.body -> 'proceeds' ->> 'total')::bigint AS proceeds,
                   (SELECT min(v.repossessed_on) FROM vehicles v WHERE v.case_id = c.id)::text AS repossessed_on,
                   (SELECT max(l.closed_at) FROM lots l JOIN vehicles v ON v.id = l.vehicle_id
                    WHERE v.case_id = c.id AND l.status = 'sold')::date::text AS sold_on
            FROM settlement_statements s JOIN cases c ON c.id = s.case_id JOIN consignors co ON co.id = c.consignor_id
            WHERE s.status = 'final' AND s.settlement_date BETWEEN \(from.description)::date AND \(to.description)::date
              AND (\(consignorId)::uuid IS NULL OR c.consignor_id = \(consignorId))
            ORDER BY s.seq
            """, logger: logger
        ).collect { row in
            guard let settledOn = CalendarDate(iso: try row.value("settled_on")) else {
                throw StoredDataCorrupt(description: "a statement's day no longer reads")
            }
            return Reports.SettledCase(
                consignorId: try row.value("consignor_id"), consignorName: try row.value("name"), currency: try row.value("currency"),
                settledOn: settledOn, obligation: try row.value("obligation", as: Int64?.self) ?? 0,
                proceeds: try row.value("proceeds", as: Int64?.self) ?? 0,
                repossessedOn: (try row.value("repossessed_on", as: String?.self)).flatMap(CalendarDate.init(iso:)),
                soldOn: (try row.value("sold_on", as: String?.self)).flatMap(CalendarDate.init(iso:)))
        }
    }
}
