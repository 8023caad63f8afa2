import Foundation
import GavelCore
import Logging
import PostgresNIO

/// What the closer did to one lot.
public struct ClosedLot: Sendable, Equatable {
    public var lotId: UUID
    public var outcome: Auction.Outcome
}

public enum LotClosing {
    /// Closes up to `limit` lots whose end has passed, in the caller's transaction.
    /// `FOR UPDATE SKIP LOCKED` lets several instances close at once without taking
    /// the same lot twice; a lot in the middle of a bid is simply taken next time.
    public static func closeDue(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [ClosedLot] {
        let due = try await connection.query(
            """
            SELECT id FROM lots WHERE status = 'scheduled' AND ends_at <= clock_timestamp()
            ORDER BY ends_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """, logger: logger
        ).collect { row in try row.value("id", as: UUID.self) }
        var closed: [ClosedLot] = []
        for lotId in due {
            // A savepoint per lot: one lot that cannot be closed must not hold back the rest.
            try await connection.query("SAVEPOINT close_lot", logger: logger)
            do {
                if let result = try await close(lotId: lotId, on: connection, logger: logger) { closed.append(result) }
                try await connection.query("RELEASE SAVEPOINT close_lot", logger: logger)
            } catch {
                try await connection.query("ROLLBACK TO SAVEPOINT close_lot", logger: logger)
                logger.error("cannot close lot", metadata: ["lot": "\(lotId)", "error": "\(String(reflecting: error))"])
            }
        }
        return closed
    }

    static func close(lotId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> ClosedLot? {
        do {
            guard let lot = try await LotRepository.find(id: lotId, on: connection, logger: logger) else { return nil }
            let maxima = try await connection.query(
                "SELECT bidder_id, amount, sequence FROM lot_maxima WHERE lot_id = \(lotId) ORDER BY amount DESC, sequence ASC LIMIT 2",
                logger: logger
            ).collect { row in
                Auction.Maximum(bidder: try row.value("bidder_id"), amount: try row.value("amount"), sequence: try row.value("sequence"))
            }
            let outcome = lot.auction(maxima: maxima).outcome
            switch outcome {
            case .unsold:
                try await connection.query(
                    "UPDATE lots SET status = 'unsold', closed_at = clock_timestamp() WHERE id = \(lotId)", logger: logger)
            case .sold(let price, let winner):
                try await connection.query(
                    """
                    UPDATE lots SET status = 'sold', closed_at = clock_timestamp(), winner_id = \(winner),
                                    hammer_price = \(price), current_price = \(price)
                    WHERE id = \(lotId)
                    """, logger: logger)
            case .pendingApproval(let price, let leader):
                let approvalHours = try await ConsignorRepository.policy(of: lot.consignorId, on: connection, logger: logger).bidding.approvalHours
                try await connection.query(
                    """
                    UPDATE lots SET status = 'pending-approval', closed_at = clock_timestamp(), winner_id = \(leader),
                                    hammer_price = \(price), current_price = \(price),
                                    decision_due_at = clock_timestamp() + make_interval(hours => \(Int(approvalHours))::int)
                    WHERE id = \(lotId)
                    """, logger: logger)
            }
            // Everyone but the winner (or the leader awaiting a decision) is owed their deposit back.
            let keeper: UUID? = switch outcome {
            case .unsold: nil
            case .sold(_, let winner): winner
            case .pendingApproval(_, let leader): leader
            }
            try await releaseDeposits(lotId: lotId, except: keeper, on: connection, logger: logger)
            if case .sold = outcome {
                try await InvoiceRepository.issue(lotId: lotId, invoiceId: UUID(), on: connection, logger: logger)
            }
            try await LotEventRepository.record(lotId: lotId, kind: "closed", on: connection, logger: logger)
            try await AuditRepository.record(
                AuditRecord(actor: .system("closer"), action: "lot.close", entityType: "lot", entityId: lotId,
                            before: .object(["status": .string(lot.status.rawValue)]),
                            after: outcomeJSON(outcome), requestId: nil),
                on: connection, logger: logger)
            return ClosedLot(lotId: lotId, outcome: outcome)
        }
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
            try await InvoiceRepository.issue(lotId: lotId, invoiceId: UUID(), on: connection, logger: logger)
        } else {
            try await connection.query(
                """
                UPDATE lots SET status = 'unsold', decision_due_at = NULL, winner_id = NULL, hammer_price = NULL
                WHERE id = \(lotId) AND status = 'pending-approval'
                """, logger: logger)
            try await releaseDeposits(lotId: lotId, except: nil, on: connection, logger: logger)
        }
        // Watchers saw `closed` with pending-approval; this one carries the final status.
        try await LotEventRepository.record(lotId: lotId, kind: "closed", on: connection, logger: logger)
    }

    static func releaseDeposits(lotId: UUID, except keeper: UUID?, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE deposits SET status = 'refund-due', updated_at = now()
            WHERE lot_id = \(lotId) AND status = 'held' AND (\(keeper)::uuid IS NULL OR bidder_id <> \(keeper))
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
