import Foundation
import GavelCore
import Testing

@Suite("Instants as RFC 3339 text")
struct TimestampTests {
    @Test("known instants, before and after 1970, at day and leap-day edges")
    func known() {
        #expect(Date(timeIntervalSince1970: 0).rfc3339 == "1970-01-01T00:00:00Z")
        #expect(Date(timeIntervalSince1970: -1).rfc3339 == "1969-12-31T23:59:59Z")
        #expect(Date(timeIntervalSince1970: -0.5).rfc3339 == "1969-12-31T23:59:59Z")
        #expect(Date(timeIntervalSince1970: 86_399.999).rfc3339 == "1970-01-01T23:59:59Z")
        #expect(Date(timeIntervalSince1970: 951_782_400).rfc3339 == "2000-02-29T00:00:00Z")
        #expect(Date(timeIntervalSince1970: 1_795_161_600.25).rfc3339 == "2026-11-20T08:00:00Z")
        // Truncated, never rounded up: a lot's end is never shown later than it is.
        #expect(Date(timeIntervalSince1970: 1_795_161_599.9999).rfc3339 == "2026-11-20T07:59:59Z")
    }

    /// ICU rounds to the millisecond before it drops the fraction, so the reference is
    /// given the whole second.
    @Test("the same text as ISO8601DateFormatter for any instant from 1900 to 2200", arguments: 0..<20)
    func sameAsFoundation(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed) + 900)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for _ in 0..<500 {
            let seconds = Double.random(in: -2_208_988_800...7_258_118_400, using: &random)
            let date = Date(timeIntervalSince1970: seconds)
            #expect(date.rfc3339 == formatter.string(from: Date(timeIntervalSince1970: seconds.rounded(.down))), "\(seconds)")
        }
    }
}
