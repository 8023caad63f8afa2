import Foundation
import GavelStore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Hands the notifications of this instance's one LISTEN connection to its SSE
/// watchers. It is only a delivery path: the events themselves are rows in
/// `lot_events`, and a watcher that sees a gap, or is told to resync, reads them from
/// there. So an event committed through another instance, or while the listener was
/// reconnecting, still reaches every watcher, in order and exactly once.
final class LotEventHub: Sendable {
    enum Signal: Sendable {
        case event(LotEvent)
        /// Notifications may have been missed: read the table.
        case resync
        case heartbeat
    }

    struct Watch: Sendable {
        let lotId: UUID
        let number: Int
        let signals: AsyncStream<Signal>
        let continuation: AsyncStream<Signal>.Continuation
    }

    private struct State {
        var nextNumber = 0
        var watchers: [UUID: [Int: AsyncStream<Signal>.Continuation]] = [:]
    }

    private let state = Mutex(State())

    /// A slow watcher loses old signals rather than growing without bound; the gap in
    /// sequence numbers makes it read the table.
    func watch(lotId: UUID) -> Watch {
        let (signals, continuation) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let number = state.withLock { state in
            state.nextNumber += 1
            state.watchers[lotId, default: [:]][state.nextNumber] = continuation
            return state.nextNumber
        }
        return Watch(lotId: lotId, number: number, signals: signals, continuation: continuation)
    }

    func stopWatching(_ watch: Watch) {
        state.withLock { state in
            state.watchers[watch.lotId]?[watch.number] = nil
            if state.watchers[watch.lotId]?.isEmpty == true { state.watchers[watch.lotId] = nil }
        }
        watch.continuation.finish()
    }

    func isWatched(_ lotId: UUID) -> Bool { state.withLock { $0.watchers[lotId] != nil } }

    func publish(_ event: LotEvent) {
        for watcher in state.withLock({ Array(($0.watchers[event.lotId] ?? [:]).values) }) { watcher.yield(.event(event)) }
    }

    func resyncAll() {
        for watcher in state.withLock({ $0.watchers.values.flatMap(\.values) }) { watcher.yield(.resync) }
    }

    /// Ends every stream, for graceful shutdown.
    func finishAll() {
        for watcher in state.withLock({ $0.watchers.values.flatMap(\.values) }) { watcher.finish() }
    }

    var watcherCount: Int { state.withLock { $0.watchers.values.reduce(0) { $0 + $1.count } } }
}

/// Keeps one connection per instance LISTENing on `lot_events` and feeds the hub;
/// reconnects after a second when the database goes away.
struct LotEventListener: Service {
    let location: DatabaseLocation
    let hub: LotEventHub
    let logger: Logger
    /// This instance's notifier: what it sent, its watchers have had already.
    var instance: String?

    func run() async throws {
        await listenUntilShutdown(
            on: LotEventRepository.channel, at: location, logger: logger,
            // Whatever was published while not listening is read from the table.
            listening: { hub.resyncAll() },
            notified: { notification in
                let (sender, payload) = LotEventNotifier.split(notification)
                if let sender, sender == instance { return }
                // Nobody here watches that lot: a watcher that starts later reads the table.
                if let lotId = LotEventRepository.lotId(inNotification: payload), !hub.isWatched(lotId) { return }
                if let event = LotEventRepository.decodeNotification(payload) { hub.publish(event) } else { hub.resyncAll() }
            },
            lost: {})
        hub.finishAll()
    }
}

/// LISTENs on `channel` on a connection of its own until graceful shutdown, connecting
/// again a second after losing it. `listening` runs each time LISTEN has taken effect
/// (nothing committed from then on can be missed), `notified` for each payload, `lost`
/// each time the connection is gone.
///
/// Nothing here waits on a connection that may never answer. PostgresNIO 1.33 writes
/// LISTEN (like any query) without a write promise, so on a connection that closes in
/// that instant (a PostgreSQL restart) it can stay unanswered for ever; the restart test
/// once saw an instance that could not stop after SIGTERM, cause not proven
/// (Docs/reliability.md). So an attempt whose LISTEN is not confirmed within
/// `setupTimeout` is left behind and a new one made, and shutdown returns at once
/// instead of waiting for the attempt to end.
func listenUntilShutdown(
    on channel: String, at location: DatabaseLocation, logger: Logger, setupTimeout: Duration = .seconds(5),
    listening: @escaping @Sendable () -> Void, notified: @escaping @Sendable (String) -> Void,
    lost: @escaping @Sendable () -> Void
) async {
    let (stopped, stop) = AsyncStream<Void>.makeStream()
    let loop = Task {
        while !Task.isCancelled {
            await listenOnce(
                on: channel, at: location, logger: logger, setupTimeout: setupTimeout, listening: listening, notified: notified)
            lost()
            try? await Task.sleep(for: .seconds(1))
        }
        stop.finish()
    }
    await withTaskCancellationHandler {
        await withGracefulShutdownHandler {
            for await _ in stopped {}
        } onGracefulShutdown: {
            loop.cancel()
            stop.finish()
        }
    } onCancel: {
        loop.cancel()
        stop.finish()
    }
}

/// One connection's worth of listening: returns when the connection is lost, when the
/// caller is cancelled, or when LISTEN was not confirmed in time (the attempt is then
/// cancelled and left to end by itself, if it ever does).
private func listenOnce(
    on channel: String, at location: DatabaseLocation, logger: Logger, setupTimeout: Duration,
    listening: @escaping @Sendable () -> Void, notified: @escaping @Sendable (String) -> Void
) async {
    enum Step: Sendable { case confirmed, ended, deadline }
    let (steps, step) = AsyncStream<Step>.makeStream()
    let attempt = Task {
        do {
            try await PostgresConnection.with(location, logger: logger) { connection in
                try await connection.listen(on: channel) { notifications in
                    // A query on the same connection returns only after LISTEN took effect.
                    try await connection.query("SELECT 1", logger: logger)
                    step.yield(.confirmed)
                    listening()
                    for try await notification in notifications { notified(notification.payload) }
                }
            }
        } catch {
            if !Task.isCancelled {
                logger.warning("lost the connection listening on \(channel)", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        step.yield(.ended)
    }
    let deadline = Task {
        try? await Task.sleep(for: setupTimeout)
        step.yield(.deadline)
    }
    await withTaskCancellationHandler {
        var confirmed = false
        for await event in steps {
            switch event {
            case .confirmed: confirmed = true
            case .ended: return
            case .deadline:
                if confirmed { continue }
                logger.warning("LISTEN on \(channel) was not confirmed in time; connecting again", metadata: ["after": "\(setupTimeout)"])
                attempt.cancel()
                return
            }
        }
    } onCancel: {
        attempt.cancel()
        step.finish()
    }
    deadline.cancel()
    step.finish()
}
