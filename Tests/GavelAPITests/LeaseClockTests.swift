import Foundation
@testable import GavelStore
import Synchronization
import Testing

@Suite("Lease deadlines")
struct LeaseClockTests {
    @Test("a deadline fires once after its time, a cancelled one never; the clock ticks again after it went idle")
    func deadlines() async throws {
        let clock = LeaseClock(tick: .milliseconds(10))
        let fired = Mutex<[Int]>([])
        let start = ContinuousClock.now
        _ = clock.schedule(at: start + .milliseconds(40)) { fired.withLock { $0.append(1) } }
        let cancelled = clock.schedule(at: start + .milliseconds(40)) { fired.withLock { $0.append(2) } }
        let later = clock.schedule(at: start + .seconds(60)) { fired.withLock { $0.append(4) } }
        clock.cancel(cancelled)
        try await Task.sleep(for: .milliseconds(20))
        #expect(fired.withLock { $0 } == [], "fired before its time")
        try await Task.sleep(for: .milliseconds(200))
        #expect(fired.withLock { $0 } == [1])
        clock.cancel(later)
        // Nothing pending: the ticking stops; a new deadline must start it again.
        try await Task.sleep(for: .milliseconds(100))
        _ = clock.schedule(at: .now + .milliseconds(20)) { fired.withLock { $0.append(3) } }
        try await Task.sleep(for: .milliseconds(200))
        #expect(fired.withLock { $0 } == [1, 3])
    }
}
