import GavelStore
import GavelWorkflows
import Logging
import ServiceLifecycle
import Synchronization

/// Remembers for a few seconds whose token a request carried, so that a bid costs one
/// round trip to PostgreSQL (`place_bid`) instead of two.
///
/// A token's user is looked up again after `lifetime` at the latest. A change to a token
/// or a user in the database (revocation, a new role) is notified by a trigger
/// (SQL/0009) and forgets the entries at once; while this instance is not listening for
/// those notifications (before the first connection, after losing it) nothing is read
/// from or written to the cache, so a notification can never be missed unnoticed.
/// Unknown tokens are never remembered: a new token works at once.
final class CallerCache: Sendable {
    private struct Entry {
        var user: User
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var listening = false
        /// Moves on every forgetting: a lookup that started before one must not store
        /// what it read (it may have read the token just before it was revoked).
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    let lifetime: Duration
    let capacity: Int
    let metrics: GavelMetrics?

    init(lifetime: Duration, capacity: Int = 10_000, metrics: GavelMetrics? = nil) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.metrics = metrics
    }

    /// The cache generation a lookup starts from, or nil when the cache is not in use.
    func begin() -> UInt64? {
        guard lifetime > .zero else { return nil }
        return state.withLock { $0.listening ? $0.generation : nil }
    }

    func user(for digest: String, now: ContinuousClock.Instant = .now) -> User? {
        guard lifetime > .zero else { return nil }
        let user = state.withLock { state -> User? in
            guard state.listening, let entry = state.entries[digest], entry.expires > now else { return nil }
            return entry.user
        }
        metrics?.callerLookup(fromMemory: user != nil)
        return user
    }

    /// Stores what a lookup that began at `generation` read, unless something was forgotten since.
    func remember(_ user: User, for digest: String, since generation: UInt64, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.listening, state.generation == generation else { return }
            // Past the capacity, start over rather than keep an eviction order: a
            // full cache means many tokens, each looked up again once.
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[digest] = Entry(user: user, expires: now + lifetime)
        }
    }

    /// A token changed (`digest`), or anything did (nil).
    func forget(_ digest: String?) {
        state.withLock { state in
            state.generation &+= 1
            if let digest { state.entries[digest] = nil } else { state.entries.removeAll() }
        }
    }

    /// Whether change notifications are being received; any change of it forgets everything.
    func setListening(_ listening: Bool) {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
            state.listening = listening
        }
        metrics?.callerCache(listening: listening)
    }
}

/// Keeps one connection per instance LISTENing for changed tokens and users and tells
/// the cache; reconnects after a second when the database goes away.
struct CallerChangeListener: Service {
    let location: DatabaseLocation
    let cache: CallerCache
    let logger: Logger

    func run() async throws {
        await listenUntilShutdown(
            on: UserRepository.changeChannel, at: location, logger: logger,
            listening: { cache.setListening(true) },
            notified: { payload in cache.forget(payload.isEmpty ? nil : payload) },
            lost: { cache.setListening(false) })
        cache.setListening(false)
    }
}
