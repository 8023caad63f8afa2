import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Logging
import ServiceLifecycle
import Synchronization

/// The background job that closes lots whose end has passed (within about a second),
/// expires overdue decisions and defaults invoices unpaid when due. It runs in every instance; PostgreSQL's row locks
/// (`SKIP LOCKED`) make each lot close exactly once.
struct LotCloser: Service {
    let database: Database
    let logger: Logger
    /// Opened once the migrations have run: on a new database the first sweep would
    /// otherwise meet tables that do not exist yet.
    let schemaReady: Gate
    var metrics: GavelMetrics? = nil
    /// Sends the closed lots' events once their batch has committed (D36); nil: nobody
    /// is told but by the watchers' heartbeat read.
    var notifier: LotEventNotifier? = nil
    /// The seam its sweeps run under (`Seam`): invoices, postings and fees get their IDs there.
    var newID: @Sendable () -> UUID = { UUID() }
    var now: @Sendable () -> Date = { Date() }
    var interval: Duration = .milliseconds(500)
    /// Closing transactions run at once by this instance. `SKIP LOCKED` gives each its
    /// own lots, so when thousands end together they are closed several at a time
    /// instead of one batch after another.
    var closingWorkers = 4

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !schemaReady.isOpen && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
            }
            while !Task.isCancelled {
                await Seam.with(newID: newID, now: now) { await sweep() }
                try? await Task.sleep(for: interval)
            }
        }
    }

    func sweep() async {
        let desk = Desk(database: database)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<closingWorkers {
                    group.addTask {
                        // Batches keep each transaction short; a full batch means more may be due.
                        var after: Date?
                        while true {
                            let from = after
                            let batch = try await desk.change(logger: logger, requestId: nil) { session in
                                try await Closing().closeDue(limit: 100, after: from, in: session)
                            }
                            after = batch.lastEndsAt ?? after
                            notifier?.committed(batch.announcements)
                            for lot in batch.closed { logger.info("closed lot", metadata: ["lot": "\(lot.lotId)", "outcome": "\(lot.outcome)"]) }
                            // Logged and counted once: a lot set aside leaves the queue for good.
                            for lot in batch.setAside {
                                logger.error("lot set aside: it cannot be closed", metadata: ["lot": "\(lot.lotId)", "reason": "\(lot.reason)"])
                                metrics?.lotSetAside()
                            }
                            if batch.taken < 100 { break }
                        }
                    }
                }
                try await group.waitForAll()
            }
            _ = try await desk.change(logger: logger, requestId: nil) { session in
                try await Closing().expireDecisions(limit: 100, in: session)
            }
            let defaulted = try await desk.change(logger: logger, requestId: nil) { session in
                try await Closing().defaultOverdue(limit: 100, in: session)
            }
            // Stored answers of Idempotency-Key past their lifetime (D24).
            _ = try await database.transaction { connection in
                try await IdempotencyRepository.expire(
                    lifetime: database.idempotencyLifetime, limit: 1_000, on: connection, logger: logger)
            }
            for invoice in defaulted { logger.info("invoice defaulted: unpaid when due", metadata: ["invoice": "\(invoice)"]) }
        } catch {
            // The database may be away; the next sweep tries again.
            logger.warning("closing sweep failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}

/// A flag that opens once and stays open.
final class Gate: Sendable {
    private let state = Mutex(false)
    func open() { state.withLock { $0 = true } }
    var isOpen: Bool { state.withLock { $0 } }
}
