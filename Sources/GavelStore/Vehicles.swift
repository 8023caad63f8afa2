import Foundation
import GavelCore
import Logging
import PostgresNIO

public enum VehicleRepository {
    public static func insert(_ vehicle: Vehicle, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO vehicles (id, case_id, vin, make, model, year, mileage_km, color, location, has_keys,
                                  title_status, repossessed_on)
            VALUES (\(vehicle.id), \(vehicle.caseId), \(vehicle.vin.value), \(vehicle.make), \(vehicle.model),
                    \(Int(vehicle.year)), \(Int(vehicle.mileageKm)), \(vehicle.color), \(vehicle.location), \(vehicle.hasKeys),
                    \(vehicle.titleStatus), \(vehicle.repossessedOn.description)::date)
            """, logger: logger)
    }

    /// Many vehicles in one statement (the lender's daily hand-over).
    public static func insert(_ vehicles: [Vehicle], on connection: PostgresConnection, logger: Logger) async throws {
        guard !vehicles.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO vehicles (id, case_id, vin, make, model, year, mileage_km, color, location, has_keys, title_status, repossessed_on)
            SELECT t.id, t.case_id, t.vin, t.make, t.model, t.year, t.mileage, NULLIF(t.color, ''), NULLIF(t.location, ''),
                   t.has_keys, t.title_status, t.repossessed_on::date
            FROM unnest(\(vehicles.map(\.id))::uuid[], \(vehicles.map(\.caseId))::uuid[], \(vehicles.map(\.vin.value))::text[],
                        \(vehicles.map(\.make))::text[], \(vehicles.map(\.model))::text[], \(vehicles.map { Int($0.year) })::integer[],
                        \(vehicles.map { Int($0.mileageKm) })::integer[], \(vehicles.map { $0.color ?? "" })::text[],
                        \(vehicles.map { $0.location ?? "" })::text[], \(vehicles.map(\.hasKeys))::boolean[],
                        \(vehicles.map(\.titleStatus))::text[], \(vehicles.map(\.repossessedOn.description))::text[])
                 AS t (id, case_id, vin, make, model, year, mileage, color, location, has_keys, title_status, repossessed_on)
            """, logger: logger)
    }

    /// Which of these VINs belong to vehicles not yet disposed of.
    public static func vinsInStock(_ vins: [String], on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        Set(try await connection.query(
            "SELECT vin FROM vehicles WHERE status = 'in-stock' AND vin = ANY(\(vins)::text[])", logger: logger
        ).collect { row in try row.value("vin", as: String.self) })
    }

    static let columns = """
        v.id, v.case_id, v.vin, v.make, v.model, v.year, v.mileage_km, v.color, v.location, v.has_keys, v.title_status,
        v.repossessed_on::text AS repossessed_on, v.status, c.consignor_id
        """

    static func decode(_ row: PostgresRandomAccessRow) throws -> (Vehicle, consignorId: UUID) {
        let vinText = try row.value("vin", as: String.self)
        guard let vin = try? VIN(vinText), let status = Vehicle.Status(rawValue: try row.value("status")) else {
            throw StoredDataCorrupt(description: "vehicle row with VIN \(vinText) no longer parses")
        }
        let vehicle = Vehicle(
            id: try row.value("id"), caseId: try row.value("case_id"), vin: vin, make: try row.value("make"),
            model: try row.value("model"), year: Int64(try row.value("year", as: Int.self)),
            mileageKm: Int64(try row.value("mileage_km", as: Int.self)), color: try row.value("color"),
            location: try row.value("location"), hasKeys: try row.value("has_keys"),
            titleStatus: try row.value("title_status"), repossessedOn: try row.calendarDate("repossessed_on"),
            status: status)
        return (vehicle, try row.value("consignor_id"))
    }

    /// The vehicle and the consignor it belongs to; row-locked when `forUpdate`, so that
    /// approvals and new lots of one vehicle happen one at a time.
    public static func find(
        id: UUID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger
    ) async throws -> (Vehicle, consignorId: UUID)? {
        let lock = forUpdate ? " FOR UPDATE OF v" : ""
        return try await connection.rows(
            "SELECT \(columns) FROM vehicles v JOIN cases c ON c.id = v.case_id WHERE v.id = $1" + lock,
            id: id, logger: logger, decode
        ).first
    }

    /// Several vehicles by ID in one statement (the vehicles of a page of lots).
    public static func find(ids: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [UUID: Vehicle] {
        guard !ids.isEmpty else { return [:] }
        var found: [UUID: Vehicle] = [:]
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(columns) FROM vehicles v JOIN cases c ON c.id = v.case_id WHERE v.id = ANY($1)",
                          binds: { var binds = PostgresBindings(); binds.append(ids); return binds }()),
            logger: logger)
        for try await row in rows {
            let (vehicle, _) = try decode(row.makeRandomAccess())
            found[vehicle.id] = vehicle
        }
        return found
    }

    public static func list(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Vehicle] {
        try await connection.rows(
            "SELECT \(columns) FROM vehicles v JOIN cases c ON c.id = v.case_id WHERE v.case_id = $1 ORDER BY v.seq",
            id: caseId, logger: logger, decode
        ).map(\.0)
    }

    /// A vehicle as lists show it: `listed` while a lot of it is live or its sale awaits
    /// payment, else its stored status.
    public struct Listed: Sendable {
        public var vehicle: Vehicle
        public var consignorId: UUID
        public var shownStatus: String
    }

    /// What makes an in-stock vehicle `listed`: a live lot, or a sale awaiting payment.
    static let shownStatus = """
        CASE WHEN v.status = 'in-stock' AND EXISTS (
                 SELECT 1 FROM lots l LEFT JOIN invoices i ON i.lot_id = l.id
                 WHERE l.vehicle_id = v.id AND (l.status IN ('scheduled', 'closed', 'pending-approval')
                                                OR (l.status = 'sold' AND i.status IS DISTINCT FROM 'paid')))
             THEN 'listed' ELSE v.status END
        """

    /// Vehicles in the order taken in, optionally of one case, one consignor, one shown status.
    public static func list(
        caseId: UUID?, consignorId: UUID?, shownStatus status: String?, afterSeq: Int64, limit: Int,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [(Listed, Int64)] {
        var bindings = PostgresBindings()
        bindings.append(afterSeq)
        bindings.append(caseId)
        bindings.append(consignorId)
        bindings.append(status)
        bindings.append(limit)
        let sql = """
            SELECT * FROM (
                SELECT \(columns), v.seq, \(shownStatus) AS shown_status FROM vehicles v JOIN cases c ON c.id = v.case_id
                WHERE v.seq > $1 AND ($2::uuid IS NULL OR v.case_id = $2) AND ($3::uuid IS NULL OR c.consignor_id = $3)
            ) listed WHERE ($4::text IS NULL OR shown_status = $4) ORDER BY seq LIMIT $5
            """
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect { row in
            let (vehicle, consignorId) = try decode(row)
            return (Listed(vehicle: vehicle, consignorId: consignorId, shownStatus: try row.value("shown_status")),
                    try row.value("seq", as: Int64.self))
        }
    }

    /// The status the vehicle shows (`listed` included).
    public static func shownStatus(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.rows(
            "SELECT \(shownStatus) AS shown_status FROM vehicles v WHERE v.id = $1", id: id, logger: logger
        ) { row in try row.value("shown_status", as: String.self) }.first
    }

    /// Whether a lot of the vehicle is live, or sold with its invoice not paid.
    public static func hasLiveOrUnpaidSale(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await shownStatus(id: id, on: connection, logger: logger) == "listed"
    }

    /// A vehicle handed back to the consignor, with the reason.
    public static func markReturned(id: UUID, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE vehicles SET status = 'returned', disposal_reason = \(reason), disposed_at = now()
            WHERE id = \(id) AND status = 'in-stock'
            """, logger: logger)
    }

    /// The case's vehicles still in stock given back to the borrower, who redeemed them.
    public static func releaseInStock(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query(
            """
            UPDATE vehicles SET status = 'released', disposal_reason = 'redeemed by the borrower', disposed_at = now()
            WHERE case_id = \(caseId) AND status = 'in-stock' RETURNING vin
            """, logger: logger
        ).collect { row in try row.value("vin", as: String.self) }
    }
}

public enum AppraisalRepository {
    public static func insert(_ appraisal: Appraisal, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO appraisals (id, vehicle_id, author_id, method, status, valuation_date, condition_grade_tenths,
                                    damages, comparables, base_value, condition_bp, damage_total, market_value,
                                    liquidation_value, reason)
            VALUES (\(appraisal.id), \(appraisal.vehicleId), \(appraisal.authorId), \(appraisal.method.rawValue),
                    \(appraisal.status.rawValue), \(appraisal.valuationDate.description)::date, \(Int(appraisal.gradeTenths)),
                    \(DamagesDocument.text(appraisal.damages))::jsonb, \(ComparablesDocument.text(appraisal.comparables))::jsonb,
                    \(appraisal.baseValue), \(appraisal.conditionBp.map { Int($0) }), \(appraisal.damageTotal),
                    \(appraisal.marketValue), \(appraisal.liquidationValue), \(appraisal.reason))
            """, logger: logger)
    }

    static let columns = """
        id, vehicle_id, author_id, method, status, valuation_date::text AS valuation_date, condition_grade_tenths,
        damages::text AS damages, comparables::text AS comparables, base_value, condition_bp, damage_total,
        market_value, liquidation_value, reason
        """

    static func decode(_ row: PostgresRandomAccessRow) throws -> Appraisal {
        guard let method = Appraisal.Method(rawValue: try row.value("method")),
              let status = Appraisal.Status(rawValue: try row.value("status"))
        else { throw StoredDataCorrupt(description: "appraisal row no longer parses") }
        let id: UUID = try row.value("id")
        let damages = try DamagesDocument.read(try row.value("damages"), "the damages of appraisal \(id)")
        let comparables = try ComparablesDocument.read(try row.value("comparables"), "the comparables of appraisal \(id)")
        return Appraisal(
            id: try row.value("id"), vehicleId: try row.value("vehicle_id"), authorId: try row.value("author_id"),
            method: method, status: status, valuationDate: try row.calendarDate("valuation_date"),
            gradeTenths: Int64(try row.value("condition_grade_tenths", as: Int.self)), damages: damages,
            comparables: comparables, baseValue: try row.value("base_value"),
            conditionBp: try row.value("condition_bp", as: Int?.self).map(Int64.init),
            damageTotal: try row.value("damage_total"), marketValue: try row.value("market_value"),
            liquidationValue: try row.value("liquidation_value"), reason: try row.value("reason"))
    }

    public static func find(id: UUID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> Appraisal? {
        try await connection.rows(
            "SELECT \(columns) FROM appraisals WHERE id = $1" + (forUpdate ? " FOR UPDATE" : ""), id: id, logger: logger, decode
        ).first
    }

    public static func list(vehicleId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Appraisal] {
        try await connection.rows(
            "SELECT \(columns) FROM appraisals WHERE vehicle_id = $1 ORDER BY created_at, id", id: vehicleId, logger: logger, decode)
    }

    public static func approved(vehicleId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Appraisal? {
        try await connection.rows(
            "SELECT \(columns) FROM appraisals WHERE vehicle_id = $1 AND status = 'approved'", id: vehicleId, logger: logger, decode
        ).first
    }

    /// Approves a draft, marking the vehicle's previously approved appraisal superseded.
    /// The caller holds the vehicle's row lock.
    public static func approve(
        id: UUID, vehicleId: UUID, by deciderId: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            "UPDATE appraisals SET status = 'superseded' WHERE vehicle_id = \(vehicleId) AND status = 'approved'",
            logger: logger)
        try await connection.query(
            """
            UPDATE appraisals SET status = 'approved', decided_by = \(deciderId), decided_at = now()
            WHERE id = \(id) AND status = 'draft'
            """, logger: logger)
    }

    public static func reject(id: UUID, by deciderId: UUID, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE appraisals SET status = 'rejected', decided_by = \(deciderId), decided_at = now(), rejection_reason = \(reason)
            WHERE id = \(id) AND status = 'draft'
            """, logger: logger)
    }
}
