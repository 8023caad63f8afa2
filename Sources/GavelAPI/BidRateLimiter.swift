import Foundation
import Synchronization

/// A token bucket per bidder: `perSecond` bids a second, with bursts of as many. It
/// protects the hot path from a runaway bidding program; it is not a rule of the
/// auction, so it lives in each instance's memory (with several instances a client
/// may reach the limit once per instance).
final class BidRateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perSecond: Double
    private let buckets = Mutex<[UUID: Bucket]>([:])

    init(perSecond: Int) {
        self.perSecond = Double(max(1, perSecond))
    }

    /// Nil when the bid may go ahead; otherwise how long until it may.
    func admit(_ bidder: UUID, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { buckets in
            // Forget bidders idle for a minute, so the table stays small.
            if buckets.count > 10_000 {
                buckets = buckets.filter { now - $0.value.updated < .seconds(60) }
            }
            var bucket = buckets[bidder] ?? Bucket(tokens: perSecond, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(perSecond, bucket.tokens + seconds * perSecond)
            bucket.updated = now
            defer { buckets[bidder] = bucket }
            guard bucket.tokens >= 1 else { return .milliseconds(Int(((1 - bucket.tokens) / perSecond * 1_000).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}
