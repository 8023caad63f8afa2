import Foundation
import Synchronization

/// How many lot event streams one user, and this instance in all, may hold open. A
/// stream costs a socket and a task for as long as the lot runs, and one bidder opening
/// thousands pushed every other user to 503: past either limit the answer is 429
/// `rate-limited`. Per instance, like the bid rate limit (D21): a stream lives on one
/// instance's socket, so that is where it costs.
final class EventStreamLimiter: Sendable {
    struct Counts {
        var total = 0
        var byCaller: [UUID: Int] = [:]
    }

    let perCaller: Int
    let perInstance: Int
    private let counts = Mutex(Counts())
    private let changed: @Sendable (Int) -> Void

    init(perCaller: Int, perInstance: Int, changed: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.perCaller = max(1, perCaller)
        self.perInstance = max(1, perInstance)
        self.changed = changed
    }

    enum Refusal: Error, Equatable {
        case caller(limit: Int)
        case instance(limit: Int)
    }

    /// A slot for one stream of `caller`, released when the slot is: keep it alive for
    /// as long as the stream is written.
    func admit(_ caller: UUID) -> Result<Slot, Refusal> {
        let refusal: Refusal? = counts.withLock { counts in
            if counts.total >= perInstance { return .instance(limit: perInstance) }
            let mine = counts.byCaller[caller, default: 0]
            if mine >= perCaller { return .caller(limit: perCaller) }
            counts.total += 1
            counts.byCaller[caller] = mine + 1
            return nil
        }
        if let refusal { return .failure(refusal) }
        changed(1)
        return .success(Slot(limiter: self, caller: caller))
    }

    var open: Int { counts.withLock { $0.total } }

    fileprivate func release(_ caller: UUID) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.byCaller[caller, default: 1] - 1
            counts.byCaller[caller] = left > 0 ? left : nil
        }
        changed(-1)
    }

    /// One admitted stream. Released once, when the last reference goes: whether the
    /// stream ran to its end, the client left, or the response was never written.
    final class Slot: Sendable {
        private let limiter: EventStreamLimiter
        private let caller: UUID

        fileprivate init(limiter: EventStreamLimiter, caller: UUID) {
            self.limiter = limiter
            self.caller = caller
        }

        deinit { limiter.release(caller) }
    }
}
