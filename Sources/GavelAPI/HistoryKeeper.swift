import Foundation
import GavelStore
import Logging
import ServiceLifecycle

/// Keeps the monthly partitions of bids, lot events and audit records (D45): the coming
/// months made at start and every hour, and, with a retention set, the months past it
/// detached for archiving. Every instance runs it; the SQL takes a lock, so they take
/// turns, and a month is made or detached once.
struct HistoryKeeper: Service {
    let database: Database
    let logger: Logger
    let schemaReady: Gate
    /// Months kept attached before the current one; nil keeps everything.
    let retentionMonths: Int?
    var interval: Duration = .seconds(3_600)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !schemaReady.isOpen && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
            }
            while !Task.isCancelled {
                await keep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func keep() async {
        do {
            let created = try await database.transaction(logger: logger) { connection in
                try await HistoryPartitions.ensure(on: connection, logger: logger)
            }
            if created > 0 { logger.info("made monthly history partitions", metadata: ["tables": "\(created)"]) }
            if let retentionMonths {
                let detached = try await database.transaction(logger: logger) { connection in
                    try await HistoryPartitions.detach(keepingMonths: retentionMonths, on: connection, logger: logger)
                }
                for table in detached {
                    logger.notice("detached a month of history for archiving", metadata: ["table": "\(table)"])
                }
            }
        } catch {
            // Tried again within the hour; the DEFAULT partitions take rows meanwhile.
            logger.warning("could not keep the monthly history partitions", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
