import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A standby that serves some reads (`GAVEL_READ_DATABASE_URL`; D47): lists, statements,
/// the ledger and the reports, never a bid decision or a money move. A read goes there
/// only when what it would see is at most `maximumLag` old and holds every change its
/// caller made through this instance; otherwise, or when the standby fails, the same
/// read runs on the primary. The standby is never a reason for a 503.
///
/// How old a standby is: every `sampleInterval` this instance asks the primary how far
/// its WAL is flushed, noting the time it asked. A standby that has replayed up to a
/// sample's position holds every transaction acknowledged before that sample was
/// taken, since a commit is acknowledged only once flushed. Each read on the standby
/// first asks how far it has replayed, on the connection the read then uses.
public final class ReadReplica: Sendable {
    public let client: PostgresClient
    public let maximumLag: Duration
    public let sampleInterval: Duration
    let logger: Logger
    /// Called with each read's outcome, for the metrics.
    let observer: @Sendable (ReplicaReadOutcome) -> Void
    /// How long a failing standby is left alone before a read tries it again, after one
    /// failure; doubled for each failure in a row, up to a minute. A standby that is
    /// down costs one read the lease wait below now and then, not every read.
    static let restAfterFailure: Duration = .seconds(5)
    /// How long a read waits for a standby connection before it goes to the primary.
    static let leaseTimeout: Duration = .seconds(1)

    private let state: Mutex<ReplicaFreshness>

    public init(
        client: PostgresClient, maximumLag: Duration, logger: Logger,
        observer: @escaping @Sendable (ReplicaReadOutcome) -> Void = { _ in }
    ) {
        self.client = client
        self.maximumLag = maximumLag
        // A read may be refused the standby for up to one interval after its caller's
        // change; a tenth of the bound, between 20 ms and 250 ms, keeps that short and the
        // primary's extra queries few.
        self.sampleInterval = min(.milliseconds(250), max(.milliseconds(20), maximumLag / 10))
        self.logger = logger
        self.observer = observer
        self.state = Mutex(ReplicaFreshness(maximumLag: maximumLag))
    }

    /// A change by `user` has been committed (or refused) through this instance: until the
    /// standby has it, that caller's reads go to the primary.
    public func noteChange(by user: UUID) {
        let now = ContinuousClock.now
        state.withLock { $0.noteChange(by: user, at: now) }
    }

    /// Asks the primary how far its WAL is flushed, once (`ReplicaSampler` calls it every
    /// `sampleInterval`).
    public func samplePrimary(_ database: Database) async {
        let askedAt = ContinuousClock.now
        do {
            let sample = try await database.withConnection { connection in
                try await Self.primaryPosition(on: connection, logger: self.logger)
            }
            state.withLock { $0.add(sample, at: askedAt) }
        } catch {
            // The primary's troubles are the pool's to report; without samples the standby
            // goes stale and reads stay on the primary.
            logger.debug("no WAL position from the primary", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    static func primaryPosition(on connection: PostgresConnection, logger: Logger) async throws -> PrimarySample {
        let rows = try await connection.query(
            "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::int8, pg_postmaster_start_time()::text", logger: logger)
        for try await (position, started) in rows.decode((Int64, String).self) {
            return PrimarySample(flushed: position, serverStarted: started)
        }
        throw DatabaseUnavailable(description: "the primary did not say its WAL position")
    }

    /// Runs `body` on the standby if it is fresh enough for `reader`; nil when the read
    /// must go to the primary instead (stale, failing, or resting after a failure).
    func attempt<Result: Sendable>(
        for reader: UUID?, database: Database,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result? {
        guard state.withLock({ $0.mayTry(at: .now) }) else {
            observer(.resting)
            return nil
        }
        var bounded = database
        bounded.leaseTimeout = Self.leaseTimeout
        let client = self.client
        let logger = self.logger
        do {
            let outcome: Result? = try await bounded.withLeaseDeadline(body, from: .other(client)) { slot, client in
                try await client.withConnection { connection -> Result? in
                    let replayed = try await Self.replayPosition(on: connection, logger: logger)
                    let fresh = self.state.withLock { $0.isFresh(replayed, for: reader, at: .now) }
                    guard fresh else { return nil }
                    let body = try slot.claim(on: connection)
                    return try await body(connection)
                }
            }
            state.withLock { $0.answered() }
            observer(outcome == nil ? .stale : .served)
            return outcome
        } catch where Self.sendsToPrimary(error) {
            state.withLock { $0.failed(at: .now, rest: Self.restAfterFailure) }
            logger.warning("a read on the standby failed; it goes to the primary",
                           metadata: ["error": "\(String(reflecting: error))"])
            observer(.failed)
            return nil
        }
    }

    static func replayPosition(on connection: PostgresConnection, logger: Logger) async throws -> StandbyPosition {
        let rows = try await connection.query(
            """
            SELECT pg_is_in_recovery(), COALESCE((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8, 0),
                   pg_postmaster_start_time()::text
            """, logger: logger)
        for try await (inRecovery, position, started) in rows.decode((Bool, Int64, String).self) {
            return StandbyPosition(inRecovery: inRecovery, replayed: position, serverStarted: started)
        }
        throw DatabaseUnavailable(description: "the standby did not say how far it has replayed")
    }

    /// The standby's failures that the primary can make good: it is gone or restarting,
    /// no connection came in time, replay cancelled the query (class 40, conflict with
    /// recovery), a statement ran out of time. A write refused as read-only (25006) is
    /// not among them: a read routed here that writes is a defect, and must be seen.
    static func sendsToPrimary(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError:
            if let state = error.sqlState {
                if state == "25006" { return false }
                if state.hasPrefix("40") || state == "57014" { return true }
            }
            return error.isConnectivityFailure
        case is DatabaseUnavailable: return true
        default: return String(describing: type(of: error)) == "ConnectionPoolError"
        }
    }
}

/// What one read did with the standby, for `gavel_replica_reads_total`.
public enum ReplicaReadOutcome: String, Sendable, CaseIterable {
    /// Served by the standby.
    case served
    /// The standby was behind (the bound, or the caller's own change): the primary served it.
    case stale
    /// The standby failed; the primary served it.
    case failed
    /// The standby failed moments ago and was not tried.
    case resting
}

struct PrimarySample: Sendable, Equatable {
    var flushed: Int64
    var serverStarted: String
}

struct StandbyPosition: Sendable, Equatable {
    var inRecovery: Bool
    var replayed: Int64
    var serverStarted: String
}

/// The decision, kept apart from the connections so that it is tested on its own.
struct ReplicaFreshness: Sendable {
    let maximumLag: Duration
    /// The primary's flushed positions, oldest first, with when each was asked for.
    private(set) var samples: [(at: ContinuousClock.Instant, flushed: Int64)] = []
    /// The primary's postmaster start: a "standby" that is not in recovery and started at
    /// the same moment is the primary itself (a read URL naming the primary, or the node
    /// a failover promoted), and is as fresh as the primary.
    private(set) var primaryStarted: String?
    private(set) var changes: [UUID: ContinuousClock.Instant] = [:]
    private(set) var restingUntil: ContinuousClock.Instant?
    private(set) var failuresInARow = 0

    init(maximumLag: Duration) { self.maximumLag = maximumLag }

    mutating func add(_ sample: PrimarySample, at instant: ContinuousClock.Instant) {
        if primaryStarted != sample.serverStarted {
            // Another server is the primary (a failover): positions are compared afresh.
            samples.removeAll()
            primaryStarted = sample.serverStarted
        }
        samples.append((instant, sample.flushed))
        // Only samples young enough to prove freshness matter; the newest stays always.
        let horizon = instant - maximumLag
        if let firstYoung = samples.firstIndex(where: { $0.at >= horizon }), firstYoung > 0 {
            samples.removeFirst(min(firstYoung, samples.count - 1))
        }
    }

    mutating func noteChange(by user: UUID, at instant: ContinuousClock.Instant) {
        changes[user] = instant
        // A change older than the bound is on any standby fresh enough to be used.
        if changes.count > 1_000 {
            let horizon = instant - maximumLag
            changes = changes.filter { $0.value >= horizon }
        }
    }

    mutating func failed(at instant: ContinuousClock.Instant, rest: Duration) {
        failuresInARow += 1
        restingUntil = instant + min(rest * (1 << min(failuresInARow - 1, 6)), .seconds(60))
    }

    mutating func answered() {
        failuresInARow = 0
        restingUntil = nil
    }

    func mayTry(at instant: ContinuousClock.Instant) -> Bool {
        guard primaryStarted != nil else { return false }
        if let restingUntil, instant < restingUntil { return false }
        return true
    }

    /// The moment up to which the standby holds every acknowledged transaction, if any.
    func holdsEverything(upTo position: StandbyPosition) -> ContinuousClock.Instant? {
        guard position.inRecovery else { return nil }
        return samples.last(where: { $0.flushed <= position.replayed })?.at
    }

    func isFresh(_ position: StandbyPosition, for reader: UUID?, at instant: ContinuousClock.Instant) -> Bool {
        if !position.inRecovery {
            return primaryStarted != nil && position.serverStarted == primaryStarted
        }
        guard let asOf = holdsEverything(upTo: position), instant - asOf <= maximumLag else { return false }
        if let reader, let changed = changes[reader], changed > asOf { return false }
        return true
    }
}
