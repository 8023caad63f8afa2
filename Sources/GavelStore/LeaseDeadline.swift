import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Why a request never waits for ever on the pool (D17): each lease runs against a
/// deadline, on a clock shared by the pool.
extension Database {
    /// Runs `work` with the pool `pool` names: it leases a connection there and then
    /// claims the caller's `body` from the slot it is given; if no connection came within
    /// `leaseTimeout`, the caller gets `DatabaseUnavailable` at once and the body can no
    /// longer be claimed.
    /// Once claimed, the body runs to its end (a statement is bounded by the statement
    /// timeout instead), so a half-done change is never abandoned here, with one
    /// exception: when the body's connection closes under it, the caller gets
    /// `DatabaseUnavailable` at once. Nothing it started can commit any more, and
    /// PostgresNIO 1.33 neither answers nor fails a query written to a channel that has
    /// just closed, so the body may never return (D17: the stalled closer and the
    /// shutdown that never finished). The body is escaping for this reason: it may
    /// outlive the call, stuck, on a dead connection.
    ///
    /// The work runs as a task of its own that nothing awaits past the deadline unless it
    /// holds a connection: a lease request the pool neither grants nor fails (PostgresNIO
    /// honours cancellation, but the request must not depend on that) cannot hold the
    /// request with it.
    ///
    /// On the primary's pool with several hosts (D46), a lease still waiting when another
    /// host has become the primary moves there: see `followPrimary`.
    func withLeaseDeadline<Body: Sendable, Result: Sendable>(
        _ body: Body, from pool: LeasePool,
        _ work: @escaping @Sendable (LeaseSlot<Body>, PostgresClient) async throws -> Result
    ) async throws -> Result {
        let timeout = leaseTimeout
        let logger = self.logger
        let outcome = LeaseOutcome<Result>(clock: leaseClock)
        let handoff = LeaseHandoff(LeaseSlot(body))
        let clock = leaseClock
        // At the deadline: no connection yet, the caller is answered. A body running on a
        // connection that has closed under it cannot commit any more and may never return
        // (a lost query): the caller is answered too. A body still running on a live
        // connection is looked at again every second (the clock already ticks; a watch on
        // the connection itself would pile up a callback per lease on a pooled connection).
        @Sendable func check() {
            if handoff.abandon() {
                logger.warning("gave up waiting for a database connection", metadata: ["after": "\(timeout)"])
                outcome.finish(.failure(DatabaseUnavailable(description: "no database connection within \(timeout)")))
            } else if handoff.current.connectionClosed {
                if outcome.finish(.failure(DatabaseUnavailable(description: "the database connection closed during the request"))) {
                    logger.warning("the database connection closed under a request")
                }
            } else {
                outcome.rearm(clock.schedule(at: .now + .seconds(1), check))
            }
        }
        // Only the slot the body waits in now may answer: an earlier one was emptied
        // before its body ran, so whatever its lease brings (an error, a connection
        // refused at `claim`, a cancellation) says nothing about the request.
        @Sendable func attempt(_ slot: LeaseSlot<Body>, on client: PostgresClient) -> Task<Void, Never> {
            Task {
                do {
                    let result = try await work(slot, client)
                    if handoff.holds(slot) { outcome.finish(.success(result)) }
                } catch {
                    if handoff.holds(slot) { outcome.finish(.failure(error)) }
                }
            }
        }
        defer { _ = handoff.abandon() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // The continuation is in place before either task exists: a worker that
                // finishes at once must find it.
                outcome.begin(continuation)
                // `followed`: the primary's host, when there are others it may move to.
                let host = hosts.primaryIndex
                let (client, followed): (PostgresClient, Int?) = switch pool {
                case .primary: (hosts.clients[host], hosts.clients.count > 1 ? host : nil)
                case .other(let client): (client, nil)
                }
                outcome.attach(worker: attempt(handoff.current, on: client),
                               deadline: clock.schedule(at: .now + timeout, check))
                if let followed {
                    followPrimary(handoff, outcome, from: followed, after: .milliseconds(500), searching: true, attempt)
                }
            }
        } onCancel: {
            outcome.cancelWork()
        }
    }

    /// With several hosts: a lease still waiting after half a second starts a search for
    /// the primary. A pool whose host has died does not fail its leases, it keeps trying
    /// to connect; waiting for the lease deadline (3 s) to say so delayed every request
    /// after a promotion by that much (`FailoverTests`). The search only looks: a primary
    /// that is merely busy is found again where it is.
    ///
    /// Then, every quarter second while the lease waits: once the search has named another
    /// primary, the body is taken out of the waiting slot (nothing the old pool hands over
    /// later can run it) and leased again from the new primary's pool, against the same
    /// deadline. Requests that came in during the switch are thus served as soon as the
    /// new primary is found, instead of answering 503 at their deadline.
    private func followPrimary<Body: Sendable, Result: Sendable>(
        _ handoff: LeaseHandoff<Body>, _ outcome: LeaseOutcome<Result>, from host: Int,
        after wait: Duration, searching: Bool,
        _ attempt: @escaping @Sendable (LeaseSlot<Body>, PostgresClient) -> Task<Void, Never>
    ) {
        let hosts = self.hosts
        let clock = leaseClock
        let logger = self.logger
        @Sendable func look(searching: Bool) {
            let slot = handoff.current
            guard slot.isWaiting, !outcome.isFinished else { return }
            if searching { hosts.search(because: "a lease waited half a second") }
            let primary = hosts.primaryIndex
            if primary != host, let moved = handoff.move(from: slot) {
                logger.debug("a request waiting on a former primary moves to the new one")
                outcome.replace(worker: attempt(moved, hosts.clients[primary]))
                followPrimary(handoff, outcome, from: primary, after: .milliseconds(250), searching: false, attempt)
                return
            }
            outcome.watch(clock.schedule(at: .now + .milliseconds(250)) { look(searching: false) })
        }
        outcome.watch(clock.schedule(at: .now + wait) { look(searching: searching) })
    }
}

/// Where a lease is taken from: the pool of the host that takes writes now, or another
/// pool that is not followed (the standby's).
enum LeasePool {
    case primary
    case other(PostgresClient)
}

/// The slot a lease's body waits in now: the first one, or the one it was moved to when
/// the primary changed while it waited (`followPrimary`).
final class LeaseHandoff<Body: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slot: LeaseSlot<Body>

    init(_ slot: LeaseSlot<Body>) { self.slot = slot }

    var current: LeaseSlot<Body> { lock.withLock { slot } }

    func holds(_ candidate: LeaseSlot<Body>) -> Bool { lock.withLock { slot === candidate } }

    /// As `LeaseSlot.abandon`, on the slot of the moment.
    func abandon() -> Bool { lock.withLock { slot.abandon() } }

    /// A new slot holding the body, when `from` is still the slot of the moment and no
    /// connection has claimed its body yet; nil otherwise.
    func move(from: LeaseSlot<Body>) -> LeaseSlot<Body>? {
        lock.withLock {
            guard slot === from, let body = from.takeBack() else { return nil }
            slot = LeaseSlot(body)
            return slot
        }
    }
}

/// The caller's body, handed to whichever comes first: the leased connection
/// (`claim`) or the deadline (`abandon`, after which it never runs: the caller has been
/// answered).
final class LeaseSlot<Body: Sendable>: @unchecked Sendable {
    private enum State { case waiting(Body), claimed, abandoned }
    private let lock = NSLock()
    private var state: State
    private var connection: PostgresConnection?

    init(_ body: Body) { state = .waiting(body) }

    /// Whether the body was claimed on a connection that has since closed.
    var connectionClosed: Bool { lock.withLock { connection }?.isClosed ?? false }

    /// The body, once; throws if the deadline passed first (the caller has been answered),
    /// or if the pool handed over a connection whose socket has already closed.
    ///
    /// PostgresNIO 1.33 writes a query to its channel without a write promise, so a query
    /// sent on a channel that has just closed is never answered nor failed: the request
    /// would wait for ever. The pool can lease such a connection in the moment between
    /// the server closing it (a PostgreSQL restart) and the pool noticing; the restart
    /// test under load found exactly that. Refusing it here turns the hang into a 503;
    /// a close while the body runs is caught by the deadline's checks.
    func claim(on connection: PostgresConnection) throws -> Body {
        guard !connection.isClosed else {
            _ = abandon()
            throw DatabaseUnavailable(description: "the pool leased a connection that had just closed")
        }
        return try lock.withLock {
            guard case .waiting(let body) = state else {
                throw DatabaseUnavailable(description: "the connection came after the caller gave up")
            }
            state = .claimed
            self.connection = connection
            return body
        }
    }

    /// Whether no connection has come for the body yet.
    var isWaiting: Bool {
        lock.withLock {
            if case .waiting = state { return true }
            return false
        }
    }

    /// True when the body was not claimed yet and now never will be.
    func abandon() -> Bool { takeBack() != nil }

    /// The body, when it was not claimed yet; this slot will then never give it out.
    func takeBack() -> Body? {
        lock.withLock {
            guard case .waiting(let body) = state else { return nil }
            state = .abandoned
            return body
        }
    }
}

/// Resumes the caller once, with the work's result or the deadline's error, and stops
/// whichever of the two is left.
final class LeaseOutcome<Result: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private let clock: LeaseClock
    private var continuation: CheckedContinuation<Result, any Error>?
    private var worker: Task<Void, Never>?
    private var deadline: LeaseClock.Ticket?
    private var look: LeaseClock.Ticket?
    private var finished = false
    private var cancelled = false

    init(clock: LeaseClock) { self.clock = clock }

    func begin(_ continuation: CheckedContinuation<Result, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    /// The worker and the deadline, once they exist; whatever already happened to the
    /// call applies to them.
    func attach(worker: Task<Void, Never>, deadline: LeaseClock.Ticket) {
        let (finished, cancelled) = lock.withLock {
            self.worker = worker
            self.deadline = deadline
            return (self.finished, self.cancelled)
        }
        if finished { clock.cancel(deadline) }
        if cancelled { worker.cancel() }
    }

    /// The first result wins (true); later ones are dropped (false).
    @discardableResult
    func finish(_ result: Swift.Result<Result, any Error>) -> Bool {
        let (won, continuation, tickets): (Bool, CheckedContinuation<Result, any Error>?, [LeaseClock.Ticket]) = lock.withLock {
            guard !finished else { return (false, nil, []) }
            finished = true
            defer { self.continuation = nil }
            return (true, self.continuation, [self.deadline, self.look].compactMap { $0 })
        }
        for ticket in tickets { clock.cancel(ticket) }
        continuation?.resume(with: result)
        return won
    }

    /// The next check of a body still running; dropped if the call has finished meanwhile.
    func rearm(_ deadline: LeaseClock.Ticket) {
        let finished = lock.withLock {
            self.deadline = deadline
            return self.finished
        }
        if finished { clock.cancel(deadline) }
    }

    func cancelWork() {
        let worker = lock.withLock {
            cancelled = true
            return self.worker
        }
        worker?.cancel()
    }

    var isFinished: Bool { lock.withLock { finished } }

    /// The worker of a lease moved to another pool; the one it replaces waits on a slot
    /// emptied of its body, and is stopped.
    func replace(worker: Task<Void, Never>) {
        let (previous, cancelled) = lock.withLock {
            defer { self.worker = worker }
            return (self.worker, self.cancelled)
        }
        previous?.cancel()
        if cancelled { worker.cancel() }
    }

    /// The next look for a new primary (`followPrimary`); dropped when the call finishes.
    func watch(_ look: LeaseClock.Ticket) {
        let finished = lock.withLock {
            self.look = look
            return self.finished
        }
        if finished { clock.cancel(look) }
    }
}

/// Lease deadlines on one ticking task per pool, instead of a sleeping task per lease:
/// every request leases at least once, and a timer task per lease (created, then
/// cancelled a millisecond later) was about 3 % of Gavel's CPU under bid load
/// (`Benchmarks/profile`). A deadline fires up to one tick late; the task ticks only
/// while deadlines are pending.
final class LeaseClock: Sendable {
    typealias Ticket = Int

    private struct Pending {
        var at: ContinuousClock.Instant
        var expire: @Sendable () -> Void
    }

    private struct State {
        var lastTicket = 0
        var pending: [Ticket: Pending] = [:]
        var ticking = false
    }

    private let state = Mutex(State())
    let tick: Duration

    init(tick: Duration = .milliseconds(50)) { self.tick = tick }

    /// Runs `expire` once `at` has passed, unless the ticket is cancelled first.
    func schedule(at: ContinuousClock.Instant, _ expire: @escaping @Sendable () -> Void) -> Ticket {
        let (ticket, start) = state.withLock { state in
            state.lastTicket &+= 1
            state.pending[state.lastTicket] = Pending(at: at, expire: expire)
            defer { state.ticking = true }
            return (state.lastTicket, !state.ticking)
        }
        if start {
            Task { [weak self, tick] in
                while true {
                    try? await Task.sleep(for: tick)
                    guard let self, let expired = self.takeExpired(now: .now) else { return }
                    for expire in expired { expire() }
                }
            }
        }
        return ticket
    }

    func cancel(_ ticket: Ticket) {
        state.withLock { _ = $0.pending.removeValue(forKey: ticket) }
    }

    /// The deadlines that have passed, taken out; nil when none is left to wait for
    /// (the ticking stops, and the next `schedule` starts it again).
    private func takeExpired(now: ContinuousClock.Instant) -> [@Sendable () -> Void]? {
        state.withLock { state in
            let due = state.pending.filter { $0.value.at <= now }
            for ticket in due.keys { state.pending[ticket] = nil }
            if state.pending.isEmpty && due.isEmpty {
                state.ticking = false
                return nil
            }
            return due.values.map(\.expire)
        }
    }
}
