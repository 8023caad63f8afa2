import Foundation
import GavelCore
import Logging
import PostgresNIO

/// What the closer did to one lot.
public struct ClosedLot: Sendable, Equatable {
    public var lotId: UUID
    public var outcome: Auction.Outcome
}

/// A lot the closer could not close and set aside as `close-failed`, with why.
public struct SetAsideLot: Sendable, Equatable {
    public var lotId: UUID
    public var reason: String
}

/// What one closing batch did.
public struct ClosingBatch: Sendable {
    public var closed: [ClosedLot] = []
    public var setAside: [SetAsideLot] = []
    /// Lots taken from the queue (closed or set aside): a full batch means more may be due.
    public var taken: Int { closed.count + setAside.count }
}

public enum LotClosing {
    /// Closes up to `limit` lots whose end has passed, in the caller's transaction.
    /// `FOR UPDATE SKIP LOCKED` lets several instances close at once without taking
    /// the same lot twice; a lot in the middle of a bid is simply taken next time.
    ///
    /// The batch is closed with a few set-based statements (when ten thousand lots end
    /// in the same second, statements per lot are what the closer spends its time on).
    /// Should the batch fail, each lot is closed again on its own behind a savepoint.
    /// A lot that fails on its own for a reason that will not pass (its sale breaks a
    /// bound, its row no longer reads) is set aside as `close-failed`: retried, it would
    /// fail for ever and, at the head of the queue, hold back every lot behind it.
    public static func closeDue(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> ClosingBatch {
        var bindings = PostgresBindings()
        bindings.append(limit)
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(LotRepository.columns) FROM lots WHERE status = 'scheduled' AND ends_at <= clock_timestamp()
                    ORDER BY close_attempts, ends_at LIMIT $1 FOR UPDATE SKIP LOCKED
                    """, binds: bindings),
            logger: logger
        ).collect { row in (try row.value("id", as: UUID.self), Result { try LotRepository.decode(row).0 }) }
        var batch = ClosingBatch()
        var due: [Lot] = []
        for (lotId, decoded) in rows {
            switch decoded {
            case .success(let lot): due.append(lot)
            case .failure(let error):
                batch.setAside.append(try await setAside(lotId: lotId, because: error, on: connection, logger: logger))
            }
        }
        guard !due.isEmpty else { return batch }
        try await connection.query("SAVEPOINT close_batch", logger: logger)
        do {
            batch.closed = try await close(due, on: connection, logger: logger)
            try await connection.query("RELEASE SAVEPOINT close_batch", logger: logger)
            return batch
        } catch {
            try await connection.query("ROLLBACK TO SAVEPOINT close_batch", logger: logger)
            logger.warning("closing lot by lot after a batch failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        for lot in due {
            try await connection.query("SAVEPOINT close_lot", logger: logger)
            do {
                batch.closed += try await close([lot], on: connection, logger: logger)
                try await connection.query("RELEASE SAVEPOINT close_lot", logger: logger)
            } catch {
                try await connection.query("ROLLBACK TO SAVEPOINT close_lot", logger: logger)
                if let setAside = try await failed(lotId: lot.id, because: error, on: connection, logger: logger) {
                    batch.setAside.append(setAside)
                }
            }
        }
        return batch
    }

    /// How often a lot may fail to close for a reason that might pass before it is set aside.
    static let closeAttempts = 5

    /// A lot failed to close on its own. One that can never close is set aside now;
    /// another is retried by later sweeps (behind the lots that never failed, so it
    /// holds none back) until it has failed `closeAttempts` times.
    static func failed(lotId: UUID, because error: any Error, on connection: PostgresConnection, logger: Logger) async throws -> SetAsideLot? {
        var attempts = 0
        if !isPermanent(error) {
            for try await count in try await connection.query(
                "UPDATE lots SET close_attempts = close_attempts + 1 WHERE id = \(lotId) RETURNING close_attempts", logger: logger
            ).decode(Int.self) { attempts = count }
            guard attempts >= closeAttempts else {
                logger.warning("cannot close lot yet", metadata: [
                    "lot": "\(lotId)", "attempt": "\(attempts)", "error": "\(String(reflecting: error))"])
                return nil
            }
        }
        return try await setAside(lotId: lotId, because: error, on: connection, logger: logger)
    }

    /// Errors that closing the same lot again would meet again.
    static func isPermanent(_ error: any Error) -> Bool {
        switch error {
        case is InvoiceOutOfRange, is StoredDataCorrupt, is ValidationFailure: return true
        // Class 22 (data exception: out of range, invalid text) and 23 (a constraint refused a row).
        case let error as PSQLError: return error.sqlState.map { $0.hasPrefix("22") || $0.hasPrefix("23") } ?? false
        default: return false
        }
    }

    /// Takes a lot out of the closer's queue for good, with the reason kept on the row, in
    /// the audit trail and on the lot's event stream.
    static func setAside(lotId: UUID, because error: any Error, on connection: PostgresConnection, logger: Logger) async throws -> SetAsideLot {
        let reason = switch error {
        case let error as InvoiceOutOfRange:
            "its invoice would pass \(Money.maximum) minor units (lot \(error.lotId.uuidString.lowercased()))"
        case let error as PSQLError:
            "the database refused its close (SQLSTATE \(error.sqlState ?? "?")): \(error.serverInfo?[.message] ?? "")"
        default:
            String(describing: error)
        }
        try await connection.query(
            "UPDATE lots SET status = 'close-failed', close_failure = \(reason) WHERE id = \(lotId) AND status = 'scheduled'",
            logger: logger)
        try await LotEventRepository.record(lotId: lotId, kind: .closed, on: connection, logger: logger)
        try await AuditRepository.record(
            AuditRecord(actor: .system("closer"), action: "lot.close-failed", entityType: "lot", entityId: lotId,
                        before: .object(["status": .string("scheduled")]),
                        after: .object(["status": .string("close-failed"), "reason": .string(reason)]), requestId: nil),
            on: connection, logger: logger)
        return SetAsideLot(lotId: lotId, reason: reason)
    }

    /// Closes lots the caller holds locked, each by `Auction` over its two highest maxima.
    static func close(_ lots: [Lot], on connection: PostgresConnection, logger: Logger) async throws -> [ClosedLot] {
        let lotIds = lots.map(\.id)
        var maxima: [UUID: [Auction.Maximum]] = [:]
        let maximaRows = try await connection.query(
            """
            SELECT t.lot_id, m.bidder_id, m.amount, m.sequence FROM unnest(\(lotIds)::uuid[]) AS t (lot_id)
            CROSS JOIN LATERAL (SELECT bidder_id, amount, sequence FROM lot_maxima WHERE lot_id = t.lot_id
                                ORDER BY amount DESC, sequence ASC LIMIT 2) m
            ORDER BY t.lot_id, m.amount DESC, m.sequence ASC
            """, logger: logger)
        for try await (lotId, bidder, amount, sequence) in maximaRows.decode((UUID, UUID, Int64, Int64).self) {
            maxima[lotId, default: []].append(Auction.Maximum(bidder: bidder, amount: amount, sequence: sequence))
        }
        var approvalHours: [UUID: Int] = [:]
        var closed: [ClosedLot] = []
        // Column arrays for one UPDATE; '' and -1 stand for NULL (no arrays of optionals in PostgresNIO).
        var statuses: [String] = [], winners: [String] = [], prices: [Int64] = [], hours: [Int] = []
        for lot in lots {
            let outcome = lot.auction(maxima: maxima[lot.id] ?? []).outcome
            closed.append(ClosedLot(lotId: lot.id, outcome: outcome))
            switch outcome {
            case .unsold:
                statuses.append("unsold"); winners.append(""); prices.append(-1); hours.append(-1)
            case .sold(let price, let winner):
                statuses.append("sold"); winners.append(winner.uuidString); prices.append(price); hours.append(-1)
            case .pendingApproval(let price, let leader):
                if approvalHours[lot.consignorId] == nil {
                    approvalHours[lot.consignorId] = Int(
                        try await ConsignorRepository.policy(of: lot.consignorId, on: connection, logger: logger).bidding.approvalHours)
                }
                statuses.append("pending-approval"); winners.append(leader.uuidString); prices.append(price)
                hours.append(approvalHours[lot.consignorId] ?? 0)
            }
        }
        try await connection.query(
            """
            UPDATE lots l SET status = t.status, closed_at = c.at, winner_id = NULLIF(t.winner, '')::uuid,
                              hammer_price = NULLIF(t.price, -1), current_price = COALESCE(NULLIF(t.price, -1), l.current_price),
                              decision_due_at = CASE WHEN t.hours >= 0 THEN c.at + make_interval(hours => t.hours::int) END
            FROM unnest(\(lotIds)::uuid[], \(statuses)::text[], \(winners)::text[], \(prices)::bigint[], \(hours)::bigint[])
                 AS t (lot_id, status, winner, price, hours),
                 -- One reading of the clock for both: the decision is due exactly approvalHours after the close.
                 LATERAL (SELECT clock_timestamp() AS at) c
            WHERE l.id = t.lot_id
            """, logger: logger)
        // Everyone but the winner (or the leader awaiting a decision) is owed their deposit back.
        try await releaseDeposits(lotIds: lotIds, keepers: winners, on: connection, logger: logger)
        let sold = closed.compactMap { lot -> UUID? in if case .sold = lot.outcome { lot.lotId } else { nil } }
        if !sold.isEmpty {
            let sales = try await InvoiceRepository.sales(lotIds: sold, on: connection, logger: logger)
            try await InvoiceRepository.issue(sales, on: connection, logger: logger)
        }
        try await LotEventRepository.record(lotIds: lotIds, kind: .closed, on: connection, logger: logger)
        try await AuditRepository.record(
            zip(lots, closed).map { lot, result in
                AuditRecord(actor: .system("closer"), action: "lot.close", entityType: "lot", entityId: lot.id,
                            before: .object(["status": .string(lot.status.rawValue)]),
                            after: outcomeJSON(result.outcome), requestId: nil)
            },
            on: connection, logger: logger)
        return closed
    }

    /// Rejects below-reserve lots whose approval period ran out.
    public static func expireDecisions(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        let expired = try await connection.query(
            """
            SELECT id FROM lots WHERE status = 'pending-approval' AND decision_due_at <= clock_timestamp()
            ORDER BY decision_due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """, logger: logger
        ).collect { row in try row.value("id", as: UUID.self) }
        for lotId in expired {
            try await decide(lotId: lotId, accept: false, on: connection, logger: logger)
            try await AuditRepository.record(
                AuditRecord(actor: .system("closer"), action: "lot.decision.expire", entityType: "lot", entityId: lotId,
                            before: .object(["status": .string("pending-approval")]),
                            after: .object(["status": .string("unsold")]), requestId: nil),
                on: connection, logger: logger)
        }
        return expired
    }

    /// A manager's decision on a below-reserve lot (the caller holds its row lock).
    public static func decide(lotId: UUID, accept: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        if accept {
            try await connection.query(
                "UPDATE lots SET status = 'sold', decision_due_at = NULL WHERE id = \(lotId) AND status = 'pending-approval'",
                logger: logger)
            try await InvoiceRepository.issue(lotId: lotId, on: connection, logger: logger)
        } else {
            try await connection.query(
                """
                UPDATE lots SET status = 'unsold', decision_due_at = NULL, winner_id = NULL, hammer_price = NULL
                WHERE id = \(lotId) AND status = 'pending-approval'
                """, logger: logger)
            try await releaseDeposits(lotId: lotId, except: nil, on: connection, logger: logger)
        }
        // Watchers saw `closed` with pending-approval; this one carries the final status.
        try await LotEventRepository.record(lotId: lotId, kind: .closed, on: connection, logger: logger)
    }

    static func releaseDeposits(lotId: UUID, except keeper: UUID?, on connection: PostgresConnection, logger: Logger) async throws {
        try await releaseDeposits(lotIds: [lotId], keepers: [keeper?.uuidString ?? ""], on: connection, logger: logger)
    }

    /// `keepers[i]` is the bidder of `lotIds[i]` who keeps a deposit, or '' for none.
    static func releaseDeposits(lotIds: [UUID], keepers: [String], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE deposits d SET status = 'refund-due', updated_at = now()
            FROM unnest(\(lotIds)::uuid[], \(keepers)::text[]) AS t (lot_id, keeper)
            WHERE d.lot_id = t.lot_id AND d.status = 'held' AND d.bidder_id IS DISTINCT FROM NULLIF(t.keeper, '')::uuid
            """, logger: logger)
    }

    public static func outcomeJSON(_ outcome: Auction.Outcome) -> JSONValue {
        switch outcome {
        case .unsold: .object(["status": .string("unsold")])
        case .sold(let price, let winner):
            .object(["status": .string("sold"), "hammerPrice": .integer(price), "winnerId": .string(winner.uuidString.lowercased())])
        case .pendingApproval(let price, let leader):
            .object(["status": .string("pending-approval"), "hammerPrice": .integer(price), "leaderId": .string(leader.uuidString.lowercased())])
        }
    }
}
