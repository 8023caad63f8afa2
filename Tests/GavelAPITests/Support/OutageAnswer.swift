import Foundation
import Testing

/// One answer a bidder got while PostgreSQL was away or coming back.
struct OutageAnswer: Sendable {
    var instance = 0
    var status: Int
    var code: String
    var retryAfter: Bool
    var took: Duration
    var answeredAt: ContinuousClock.Instant
    var bidId: String?

    /// What every answer during an outage must be: a 2xx, a 4xx, or 503
    /// `service-unavailable` with `Retry-After`, within 5 s; and the outage was seen.
    /// Status 0 (no answer at all: a failed connection or the client's deadline) fails.
    static func expectServedThrough(_ all: [OutageAnswer]) {
        let unanswered = all.filter { $0.status == 0 }
        #expect(unanswered.isEmpty, "no answer within the client's deadline: \(unanswered.prefix(3).map(\.code))")
        let answered = all.filter { $0.status != 0 }
        let failures = answered.filter { $0.status >= 500 && !($0.status == 503 && $0.code == "service-unavailable" && $0.retryAfter) }
        #expect(failures.isEmpty, "\(failures.prefix(5).map { "\($0.status) \($0.code) retry-after \($0.retryAfter)" })")
        #expect(all.contains { $0.status == 503 }, "the outage was not seen")
        #expect(answered.allSatisfy { $0.took < .seconds(5) },
                "a request took 5 s: \(answered.filter { $0.took >= .seconds(5) }.map { "\($0.status) \($0.code) \($0.took)" })")
    }
}
