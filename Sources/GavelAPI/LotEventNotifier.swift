import Foundation
import GavelStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Tells every instance about events committed by this one's bids (D36). A bid's
/// transaction writes its events to `lot_events` but sends no NOTIFY: PostgreSQL holds
/// its notification lock from a notifying commit to the transaction's end, and with it
/// every bid's WAL flush waited for the one before. Here the events go to this
/// instance's watchers at once, and to the others in one NOTIFY statement per batch, from
/// a connection of its own that does not wait for its commit's flush (a lost wake-up is
/// made good by the watchers' heartbeat, which reads the table).
final class LotEventNotifier: Service, Sendable {
    let location: DatabaseLocation
    let hub: LotEventHub
    let logger: Logger
    /// Marks this instance's own notifications, which its listener then skips.
    let instance: String

    private let pending = Mutex<[String]>([])
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    init(location: DatabaseLocation, hub: LotEventHub, logger: Logger, instance: String = UUID().uuidString.lowercased()) {
        self.location = location
        self.hub = hub
        self.logger = logger
        self.instance = instance
        // One pending wake-up is enough: whatever is queued meanwhile goes in the next batch.
        (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The notification payloads of events that have just committed.
    func committed(_ payloads: [String]) {
        guard !payloads.isEmpty else { return }
        // Decoded only for a lot watched here, as the listener does: most bids have no watcher.
        for payload in payloads {
            guard let lotId = LotEventRepository.lotId(inNotification: payload), hub.isWatched(lotId) else { continue }
            if let event = LotEventRepository.decodeNotification(payload) { hub.publish(event) }
        }
        pending.withLock { $0.append(contentsOf: payloads.map { instance + Self.separator + $0 }) }
        wake.yield()
    }

    static let separator = "|"

    /// A notification's instance and event payload; record_lot_event's own carry no instance.
    static func split(_ notification: String) -> (instance: String?, payload: String) {
        guard !notification.hasPrefix("{"), let bar = notification.firstIndex(of: "|") else { return (nil, notification) }
        return (String(notification[..<bar]), String(notification[notification.index(after: bar)...]))
    }

    /// Sends until graceful shutdown. Like the listener, shutdown does not wait for the
    /// sending loop: a query on a connection that died with the database may never answer,
    /// and nothing here is worth holding an instance's exit for.
    func run() async throws {
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        let loop = Task { await send() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                for await _ in stopped {}
            } onGracefulShutdown: {
                loop.cancel()
                self.wake.finish()
                stop.finish()
            }
        } onCancel: {
            loop.cancel()
            self.wake.finish()
            stop.finish()
        }
    }

    private func send() async {
        var iterator = wakes.makeAsyncIterator()
        while !Task.isCancelled {
            do {
                try await PostgresConnection.withPatience(location, logger: logger) { connection in
                    // The wake-up need not be durable: the events it announces are.
                    try await connection.query("SET synchronous_commit TO off", logger: logger)
                    while await iterator.next() != nil {
                        let batch = pending.withLock { batch in defer { batch.removeAll() }; return batch }
                        guard !batch.isEmpty else { continue }
                        try await connection.query(
                            "SELECT pg_notify(\(LotEventRepository.channel), p) FROM unnest(\(batch)::text[]) AS p", logger: logger)
                    }
                }
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("could not send lot event notifications; connecting again", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
