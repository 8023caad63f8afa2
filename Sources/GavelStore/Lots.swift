import Foundation
import GavelCore
import Logging
import PostgresNIO

public enum LotRepository {
    /// Who is asking, for what the list may show.
    public enum Visibility: Sendable {
        case everything
        case consignor(UUID)
        /// Bidders: scheduled, open and closed lots, from seven days before they open
        /// (the contract's catalogue; a lot's result is read by its ID).
        case bidders
    }

    public static func insert(_ lot: Lot, createdBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let increments = JSONText.encode(Policy.incrementsJSON(lot.increments))
        try await connection.query(
            """
            INSERT INTO lots (id, vehicle_id, consignor_id, appraisal_id, previous_lot_id, round, format, status, currency,
                              starts_at, ends_at, extension_window_seconds, extension_seconds, starting_price, reserve,
                              deposit_amount, increments, override_reason, created_by, fees)
            VALUES (\(lot.id), \(lot.vehicleId), \(lot.consignorId), \(lot.appraisalId), \(lot.previousLotId),
                    \(Int(lot.round)), \(lot.format.rawValue), 'scheduled', \(lot.currency), \(lot.startsAt), \(lot.endsAt),
                    \(Int(lot.extensionWindowSeconds)), \(Int(lot.extensionSeconds)), \(lot.prices.start),
                    \(lot.prices.reserve), \(lot.prices.deposit), \(increments)::jsonb, \(lot.overrideReason), \(createdBy),
                    \(JSONText.encode(lot.fees.json))::jsonb)
            """, logger: logger)
    }

    static let columns = """
        id, seq, vehicle_id, consignor_id, appraisal_id, previous_lot_id, round, format,
        lot_effective_status(status, starts_at) AS status, currency, starts_at, ends_at, extension_window_seconds,
        extension_seconds, starting_price, reserve, deposit_amount, increments::text AS increments, override_reason,
        current_price, leader_id, bid_count, fees::text AS fees
        """

    static func decode(_ row: PostgresRandomAccessRow) throws -> (Lot, Int64) {
        guard let format = Lot.Format(rawValue: try row.value("format")),
              let status = Lot.Status(rawValue: try row.value("status")),
              let increments = try? Policy.parseIncrements(json: try row.json("increments")),
              let fees = try? Policy.Fees.stored(try row.json("fees"))
        else { throw StoredDataCorrupt(description: "lot row no longer parses") }
        var lot = Lot(
            id: try row.value("id"), vehicleId: try row.value("vehicle_id"), consignorId: try row.value("consignor_id"),
            appraisalId: try row.value("appraisal_id"), previousLotId: try row.value("previous_lot_id"),
            round: Int64(try row.value("round", as: Int.self)), format: format, status: status,
            currency: try row.value("currency"), startsAt: try row.value("starts_at"), endsAt: try row.value("ends_at"),
            extensionWindowSeconds: Int64(try row.value("extension_window_seconds", as: Int.self)),
            extensionSeconds: Int64(try row.value("extension_seconds", as: Int.self)),
            prices: RoundPricing.Prices(
                start: try row.value("starting_price"), reserve: try row.value("reserve"), deposit: try row.value("deposit_amount")),
            increments: increments, overrideReason: try row.value("override_reason"))
        lot.fees = fees
        lot.currentPrice = try row.value("current_price")
        lot.leaderId = try row.value("leader_id")
        lot.bidCount = Int64(try row.value("bid_count", as: Int.self))
        return (lot, try row.value("seq"))
    }

    public static func find(id: UUID, forUpdate: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> Lot? {
        try await connection.rows(
            "SELECT \(columns) FROM lots WHERE id = $1" + (forUpdate ? " FOR UPDATE" : ""), id: id, logger: logger, decode
        ).first?.0
    }

    /// The vehicle's lots, latest round last.
    public static func list(vehicleId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Lot] {
        try await connection.rows(
            "SELECT \(columns) FROM lots WHERE vehicle_id = $1 ORDER BY round", id: vehicleId, logger: logger, decode
        ).map(\.0)
    }

    public static func list(
        visibility: Visibility, status: Lot.Status?, consignorId: UUID?, afterSeq: Int64, limit: Int,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [(Lot, Int64)] {
        var bindings = PostgresBindings()
        bindings.append(afterSeq)
        bindings.append(status?.rawValue)
        var scope: UUID? = consignorId
        var biddersOnly = false
        switch visibility {
        case .everything: break
        case .consignor(let own): scope = own
        case .bidders: biddersOnly = true
        }
        bindings.append(scope)
        bindings.append(biddersOnly)
        bindings.append(limit)
        // The visibility rule for bidders is the same expression whatever they filter on.
        let sql = """
            SELECT * FROM (SELECT \(columns) FROM lots WHERE seq > $1 AND ($3::uuid IS NULL OR consignor_id = $3)) l
            WHERE ($2::text IS NULL OR l.status = $2)
              AND (NOT $4::boolean OR (l.status IN ('scheduled', 'open', 'closed') AND now() >= l.starts_at - interval '7 days'))
            ORDER BY l.seq LIMIT $5
            """
        if let consignorId, case .consignor(let own) = visibility, consignorId != own { return [] }
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect(decode)
    }

    /// The database's clock: lot timing follows it, never the client's or this process's.
    public static func now(on connection: PostgresConnection, logger: Logger) async throws -> Date {
        let rows = try await connection.query("SELECT now()", logger: logger)
        for try await now in rows.decode(Date.self) { return now }
        throw StoredDataCorrupt(description: "SELECT now() returned no row")
    }
}
