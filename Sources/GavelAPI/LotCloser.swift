import GavelStore
import Logging
import ServiceLifecycle

/// The background job that closes lots whose end has passed (within about a second),
/// expires overdue decisions and defaults invoices unpaid when due. It runs in every instance; PostgreSQL's row locks
/// (`SKIP LOCKED`) make each lot close exactly once.
struct LotCloser: Service {
    let database: Database
    let logger: Logger
    var interval: Duration = .milliseconds(500)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func sweep() async {
        do {
            // Batches keep each transaction short; a full batch means more may be due.
            while true {
                let closed = try await database.transaction { connection in
                    try await LotClosing.closeDue(limit: 100, on: connection, logger: logger)
                }
                for lot in closed { logger.info("closed lot", metadata: ["lot": "\(lot.lotId)", "outcome": "\(lot.outcome)"]) }
                if closed.count < 100 { break }
            }
            _ = try await database.transaction { connection in
                try await LotClosing.expireDecisions(limit: 100, on: connection, logger: logger)
            }
            let defaulted = try await database.transaction { connection in
                try await InvoiceRepository.defaultOverdue(limit: 100, on: connection, logger: logger)
            }
            for invoice in defaulted { logger.info("invoice defaulted: unpaid when due", metadata: ["invoice": "\(invoice)"]) }
        } catch {
            // The database may be away; the next sweep tries again.
            logger.warning("closing sweep failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
