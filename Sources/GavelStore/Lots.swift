import Foundation
import GavelCore
import Logging
import PostgresNIO

public enum LotRepository {
    /// Who is asking, for what the list may show.
    public enum Visibility: Sendable {
        case everything
        case consignor(UUID)
        /// A bidder: scheduled and open lots once public (seven days before they open,
        /// or from creation for a judicial announcement), and the lots it bid on once
        /// their sale is over.
        case bidder(UUID)
    }

    /// The statuses of a lot whose sale is over, which `?status=closed` asks for.
    public static let overStatuses: [Lot.Status] = [.sold, .unsold, .defaulted, .cancelled, .pendingApproval, .closeFailed]

    public static func insert(_ lot: Lot, createdBy: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let increments = IncrementsDocument.text(lot.increments)
        try await connection.query(
            """
            INSERT INTO lots (id, vehicle_id, consignor_id, appraisal_id, previous_lot_id, round, format, status, currency,
                              starts_at, ends_at, extension_window_seconds, extension_seconds, starting_price, reserve,
                              deposit_amount, increments, override_reason, created_by, fees, require_verified, priority_holders,
                              public_from)
            VALUES (\(lot.id), \(lot.vehicleId), \(lot.consignorId), \(lot.appraisalId), \(lot.previousLotId),
                    \(Int(lot.round)), \(lot.format.rawValue), 'scheduled', \(lot.currency), \(lot.startsAt), \(lot.endsAt),
                    \(Int(lot.extensionWindowSeconds)), \(Int(lot.extensionSeconds)), \(lot.prices.start),
                    \(lot.prices.reserve), \(lot.prices.deposit), \(increments)::jsonb, \(lot.overrideReason), \(createdBy),
                    \(FeesDocument.text(lot.fees))::jsonb, \(lot.requireVerified), \(lot.priorityHolders)::uuid[],
                    \(lot.publicFrom))
            """, logger: logger)
    }

    static let columns = """
        id, seq, vehicle_id, consignor_id, appraisal_id, previous_lot_id, round, format,
        lot_effective_status(status, starts_at) AS status, currency, starts_at, ends_at, extension_window_seconds,
        extension_seconds, starting_price, reserve, deposit_amount, increments::text AS increments, override_reason,
        current_price, leader_id, bid_count, fees::text AS fees, require_verified, priority_holders,
        COALESCE(public_from, starts_at - interval '7 days') AS public_from
        """

    static func decode(_ row: PostgresRandomAccessRow) throws -> (Lot, Int64) {
        guard let format = Lot.Format(rawValue: try row.value("format")),
              let status = Lot.Status(rawValue: try row.value("status"))
        else { throw StoredDataCorrupt(description: "lot row no longer parses") }
        let id: UUID = try row.value("id")
        let increments = try IncrementsDocument.read(try row.value("increments"), "the increments of lot \(id)")
        let fees = try FeesDocument.read(try row.value("fees"), "the fees of lot \(id)")
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
        lot.requireVerified = try row.value("require_verified")
        lot.priorityHolders = try row.value("priority_holders")
        lot.publicFrom = try row.value("public_from")
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
        // `closed` (never stored for long) stands for every lot whose sale is over.
        let statuses = status.map { $0 == .closed ? Self.overStatuses.map(\.rawValue) : [$0.rawValue] }
        bindings.append(statuses)
        var scope: UUID? = consignorId
        var bidder: UUID?
        switch visibility {
        case .everything: break
        case .consignor(let own): scope = own
        case .bidder(let id): bidder = id
        }
        bindings.append(scope)
        bindings.append(bidder)
        bindings.append(limit)
        // The visibility rule for bidders is the same expression whatever they filter on.
        let over = Self.overStatuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let sql = """
            SELECT * FROM (SELECT \(columns) FROM lots WHERE seq > $1 AND ($3::uuid IS NULL OR consignor_id = $3)) l
            WHERE ($2::text[] IS NULL OR l.status = ANY($2::text[]))
              AND ($4::uuid IS NULL
                   OR (l.status IN ('scheduled', 'open', 'closed') AND now() >= l.public_from)
                   OR (l.status IN (\(over)) AND EXISTS (SELECT 1 FROM bids b WHERE b.lot_id = l.id AND b.bidder_id = $4)))
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

/// The rows the closer reads and writes; what it decides is `GavelWorkflows.Closing`'s.
extension LotRepository {
    /// Scheduled lots whose end has passed, locked, those that never failed to close
    /// first. `SKIP LOCKED` lets several instances close at once without taking the same
    /// lot twice; a lot in the middle of a bid is simply taken next time. A row that no
    /// longer reads comes back as its failure, so that it can be set aside. "Passed" is
    /// as of the transaction's start (`now()`, which an index can use, unlike
    /// `clock_timestamp()`): a lot ending during the sweep is the next sweep's.
    public static func dueForClosing(
        limit: Int, endingFrom start: Date? = nil, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(id: UUID, lot: Result<Lot, any Error>)] {
        var bindings = PostgresBindings()
        bindings.append(limit)
        // With `start`, the scan begins where the caller's last batch ended instead of at
        // the queue's head, past the entries of lots closed moments ago: the index keeps
        // them until vacuum, and during a storm each sweep walked thousands.
        var from = ""
        if let start {
            bindings.append(start)
            from = "AND (close_attempts, ends_at) >= (0, $2)"
        }
        // The queue is locked on narrow rows and only the batch is read whole: when the
        // planner sorts every due lot (as it does while the statistics lag behind a
        // burst of new lots) it sorts ten thousand IDs in memory, not ten thousand lots
        // on disk (230 ms a batch during the storm).
        return try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(columns) FROM lots WHERE id IN (
                        SELECT id FROM lots WHERE status = 'scheduled' AND ends_at <= now() \(from)
                        ORDER BY close_attempts, ends_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                    ORDER BY close_attempts, ends_at
                    """, binds: bindings),
            logger: logger
        ).collect { row in (id: try row.value("id", as: UUID.self), lot: Result { try decode(row).0 }) }
    }

    /// The two highest maxima of each lot (an auction's outcome needs no more; `lot_top_maxima`,
    /// SQL/0024), in no order: `Auction` ranks them.
    public static func topMaxima(lotIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [UUID: [Auction.Maximum]] {
        var maxima: [UUID: [Auction.Maximum]] = [:]
        let rows = try await connection.query(
            """
            SELECT t.lot_id, m.bidder_id, m.amount, m.sequence FROM unnest(\(lotIds)::uuid[]) AS t (lot_id)
            JOIN lots l ON l.id = t.lot_id
            CROSS JOIN LATERAL lot_top_maxima(t.lot_id, l.priority_holders, 2) AS m
            """, logger: logger)
        for try await (lotId, bidder, amount, sequence) in rows.decode((UUID, UUID, Int64, Int64).self) {
            maxima[lotId, default: []].append(Auction.Maximum(bidder: bidder, amount: amount, sequence: sequence))
        }
        return maxima
    }

    /// How one lot closed, as its row keeps it.
    public struct Close: Sendable, Equatable {
        public var lotId: UUID
        public var status: Lot.Status
        public var winner: UUID?
        public var hammerPrice: Int64?
        /// For a lot pending approval: hours from the close until the decision is due.
        public var decisionHours: Int?

        public init(lotId: UUID, status: Lot.Status, winner: UUID?, hammerPrice: Int64?, decisionHours: Int?) {
            self.lotId = lotId
            self.status = status
            self.winner = winner
            self.hammerPrice = hammerPrice
            self.decisionHours = decisionHours
        }
    }

    /// Writes the lots' outcomes (the caller holds their locks) with their closed events,
    /// one write of each lot's row (`close_lots`, SQL/0024); answers the events'
    /// notification payloads for the caller to send once its transaction has committed.
    public static func writeCloses(_ closes: [Close], on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        guard !closes.isEmpty else { return [] }
        var payloads: [String] = []
        // '' and -1 stand for NULL (no arrays of optionals in PostgresNIO).
        for try await joined in try await connection.query(
            """
            SELECT close_lots(\(closes.map(\.lotId))::uuid[], \(closes.map(\.status.rawValue))::text[],
                              \(closes.map { $0.winner?.uuidString ?? "" })::text[], \(closes.map { $0.hammerPrice ?? -1 })::bigint[],
                              \(closes.map { $0.decisionHours ?? -1 })::bigint[])
            """, logger: logger
        ).decode(String?.self) {
            payloads = LotEventRepository.payloads(joined: joined)
        }
        return payloads
    }

    /// Counts one more failed attempt to close a lot; answers how many there have been.
    public static func countCloseAttempt(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var attempts = 0
        for try await count in try await connection.query(
            "UPDATE lots SET close_attempts = close_attempts + 1 WHERE id = \(lotId) RETURNING close_attempts", logger: logger
        ).decode(Int.self) { attempts = count }
        return attempts
    }

    /// Takes a scheduled lot out of the closer's queue, with the reason on the row.
    public static func setCloseFailed(lotId: UUID, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE lots SET status = 'close-failed', close_failure = \(reason) WHERE id = \(lotId) AND status = 'scheduled'",
            logger: logger)
    }

    /// Lots pending approval whose decision is overdue, locked (`SKIP LOCKED`, as the closer's queue).
    public static func overdueDecisions(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        try await connection.query(
            """
            SELECT id FROM lots WHERE status = 'pending-approval' AND decision_due_at <= clock_timestamp()
            ORDER BY decision_due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """, logger: logger
        ).collect { row in try row.value("id", as: UUID.self) }
    }

    /// A lot pending approval becomes sold at its leading bid.
    public static func markAccepted(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE lots SET status = 'sold', decision_due_at = NULL WHERE id = \(lotId) AND status = 'pending-approval'",
            logger: logger)
    }

    /// A lot pending approval becomes unsold: no winner, no hammer price.
    public static func markRejected(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE lots SET status = 'unsold', decision_due_at = NULL, winner_id = NULL, hammer_price = NULL
            WHERE id = \(lotId) AND status = 'pending-approval'
            """, logger: logger)
    }

    /// A sold lot whose buyer did not pay.
    public static func markDefaulted(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE lots SET status = 'defaulted' WHERE id = \(lotId)", logger: logger)
    }

    /// A live lot called off by a manager, with the reason. Answers whether it was live.
    public static func markCancelled(
        lotId: UUID, reason: String, by userId: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        try await !connection.query(
            """
            UPDATE lots SET status = 'cancelled', cancel_reason = \(reason), cancelled_by = \(userId), cancelled_at = now(),
                   decision_due_at = NULL
            WHERE id = \(lotId) AND status IN ('scheduled', 'pending-approval')
            RETURNING id
            """, logger: logger
        ).collect { row in try row.value("id", as: UUID.self) }.isEmpty
    }

    /// The live lots (scheduled, open, pending approval) of a case's vehicles, locked.
    public static func live(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Lot] {
        try await connection.rows(
            """
            SELECT \(columns) FROM lots WHERE status IN ('scheduled', 'closed', 'pending-approval')
              AND vehicle_id IN (SELECT id FROM vehicles WHERE case_id = $1) ORDER BY seq FOR UPDATE
            """, id: caseId, logger: logger, decode
        ).map(\.0)
    }
}
