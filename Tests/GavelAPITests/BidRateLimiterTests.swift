import Foundation
@testable import GavelAPI
import Testing

@Suite("Bid rate limit")
struct BidRateLimiterTests {
    @Test("a bucket of 20 a second: twenty at once pass, the next waits 50 ms, a second later all twenty again")
    func bucket() {
        let limiter = BidRateLimiter(perSecond: 20)
        let bidder = UUID(), other = UUID()
        let start = ContinuousClock.now
        for _ in 0..<20 { #expect(limiter.admit(bidder, now: start) == nil) }
        #expect(limiter.admit(bidder, now: start) == .milliseconds(50))
        #expect(limiter.admit(other, now: start) == nil)
        #expect(limiter.admit(bidder, now: start + .milliseconds(50)) == nil)
        #expect(limiter.admit(bidder, now: start + .milliseconds(50)) != nil)
        for _ in 0..<20 { #expect(limiter.admit(bidder, now: start + .seconds(2)) == nil) }
    }
}
