import Foundation
import PostgresNIO

/// Many lots at once, straight into the database, for tests about what happens when
/// lots end together.
enum LotFactory {
    /// Copies `template` into `count` lots, each on a vehicle of its own, ending
    /// `endingIn` seconds after the database's clock. With `soldTo`, each is led by that
    /// bidder at its starting price, which is also its reserve, with that bidder's
    /// maximum stored and a held deposit for each of `depositors` (reference
    /// `reference`); without it, each copies the template's price, reserve and leader.
    static func cloneLots(
        on connection: PostgresConnection, from template: UUID, count: Int, endingIn: Double,
        soldTo leader: UUID? = nil, depositors: [UUID] = [], reference: String = "FACTORY"
    ) async throws {
        try await connection.query(
            """
            WITH source AS (SELECT l.*, v.case_id FROM lots l JOIN vehicles v ON v.id = l.vehicle_id WHERE l.id = \(template)),
            made AS (
                INSERT INTO vehicles (id, case_id, vin, make, model, year, mileage_km, has_keys, title_status, repossessed_on)
                SELECT gen_random_uuid(), s.case_id, lpad(g::text, 17, '0'), 'Honda', 'Accord', 2019, 86000, true, 'clean', '2026-10-15'
                FROM source s, generate_series(1, \(count)) g
                RETURNING id
            ),
            lots_made AS (
                INSERT INTO lots (id, vehicle_id, consignor_id, appraisal_id, round, format, status, currency, starts_at, ends_at,
                                  extension_window_seconds, extension_seconds, starting_price, reserve, deposit_amount, increments,
                                  created_by, current_price, leader_id, bid_count, fees)
                SELECT gen_random_uuid(), made.id, s.consignor_id, s.appraisal_id, 1, 'english', 'scheduled', s.currency,
                       now() - interval '1 hour', clock_timestamp() + make_interval(secs => \(endingIn)), 300, 300,
                       s.starting_price, CASE WHEN \(leader)::uuid IS NULL THEN s.reserve ELSE s.starting_price END,
                       s.deposit_amount, s.increments, s.created_by,
                       CASE WHEN \(leader)::uuid IS NULL THEN s.current_price ELSE s.starting_price END,
                       COALESCE(\(leader)::uuid, s.leader_id), 1, s.fees
                FROM made, source s
                RETURNING id, starting_price, deposit_amount, created_by
            ),
            maxima AS (
                INSERT INTO lot_maxima (lot_id, bidder_id, amount, sequence)
                SELECT id, \(leader)::uuid, starting_price, nextval('bid_sequence') FROM lots_made WHERE \(leader)::uuid IS NOT NULL
            )
            INSERT INTO deposits (id, lot_id, bidder_id, amount, reference, status, recorded_by)
            SELECT gen_random_uuid(), m.id, b.bidder, m.deposit_amount, \(reference), 'held', m.created_by
            FROM lots_made m, unnest(\(depositors)::uuid[]) AS b (bidder)
            """, logger: quietLogger)
    }
}
