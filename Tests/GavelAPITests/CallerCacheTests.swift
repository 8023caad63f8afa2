import Foundation
@testable import GavelAPI
import GavelCore
import GavelStore
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Remembering whose token a request carries")
struct CallerCacheTests {
    static let dealer = User(id: UUID(), name: "Dealer", role: .bidder, consignorId: nil)

    @Test("nothing is remembered while not listening; a lookup older than a change stores nothing; entries expire")
    func rules() throws {
        let cache = CallerCache(lifetime: .seconds(10))
        let start = ContinuousClock.now
        #expect(cache.begin() == nil)
        cache.remember(Self.dealer, for: "a", since: 0, now: start)
        #expect(cache.user(for: "a", now: start) == nil)

        cache.setListening(true)
        cache.remember(Self.dealer, for: "a", since: try #require(cache.begin()), now: start)
        #expect(cache.user(for: "a", now: start + .seconds(9)) == Self.dealer)
        #expect(cache.user(for: "a", now: start + .seconds(10)) == nil)

        // Read before a revocation was announced, stored after it: must not be kept.
        let before = try #require(cache.begin())
        cache.forget("another token")
        cache.remember(Self.dealer, for: "b", since: before, now: start)
        #expect(cache.user(for: "b", now: start) == nil)

        cache.remember(Self.dealer, for: "c", since: try #require(cache.begin()), now: start)
        cache.remember(Self.dealer, for: "d", since: try #require(cache.begin()), now: start)
        cache.forget("c")
        #expect(cache.user(for: "c", now: start) == nil)
        #expect(cache.user(for: "d", now: start) == Self.dealer)
        cache.forget(nil)
        #expect(cache.user(for: "d", now: start) == nil)

        cache.remember(Self.dealer, for: "e", since: try #require(cache.begin()), now: start)
        cache.setListening(false)
        #expect(cache.user(for: "e", now: start) == nil)
        #expect(cache.begin() == nil)

        let off = CallerCache(lifetime: .zero)
        off.setListening(true)
        #expect(off.begin() == nil)
    }

    @Test("past its capacity the cache starts over instead of growing")
    func capacity() throws {
        let cache = CallerCache(lifetime: .seconds(10), capacity: 3)
        cache.setListening(true)
        let start = ContinuousClock.now
        for digest in ["a", "b", "c", "d"] {
            cache.remember(Self.dealer, for: digest, since: try #require(cache.begin()), now: start)
        }
        #expect(["a", "b", "c"].allSatisfy { cache.user(for: $0, now: start) == nil })
        #expect(cache.user(for: "d", now: start) == Self.dealer)
    }

    /// Waits until the instance hears of changes (it may remember callers from then on).
    static func waitUntilListening(_ gavel: Harness) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await gavel.request(.get, "/metrics").text.contains("\ngavel_caller_cache_listening 1") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("the caller cache never started listening")
    }

    static func revoke(_ gavel: Harness, _ user: (id: String, token: String), announced: Bool) async throws {
        _ = try await gavel.sql { connection in
            if !announced {
                try await connection.query("ALTER TABLE api_tokens DISABLE TRIGGER api_tokens_changed", logger: quietLogger)
            }
            try await connection.query(
                "UPDATE api_tokens SET revoked_at = now() WHERE user_id = \(UUID(uuidString: user.id)!)", logger: quietLogger)
            if !announced {
                try await connection.query("ALTER TABLE api_tokens ENABLE TRIGGER api_tokens_changed", logger: quietLogger)
            }
        }
    }
}

extension RealTime {
    @Suite("Remembering whose token a request carries, in real time")
    struct CallerCacheTiming {
        @Test("a token revoked in the database is refused at once on the next request, though the instance remembered it")
        func revocationIsAnnounced() async throws {
            try await withGavel(callerCacheLifetime: .seconds(60)) { gavel in
                try await CallerCacheTests.waitUntilListening(gavel)
                let dealer = try await gavel.createUser(.bidder, name: "Dealer")
                let quiet = try await gavel.createUser(.bidder, name: "Quiet dealer")
                for user in [dealer, quiet] {
                    #expect(try await gavel.request(.get, "/v1/lots", token: user.token).status == .ok)
                }
                let metrics = try await gavel.request(.get, "/metrics").text
                #expect(metrics.contains(#"gavel_caller_cache_lookups_total{source="database"}"#))

                // Without the announcement the remembered caller is still served: proof it was remembered.
                try await CallerCacheTests.revoke(gavel, quiet, announced: false)
                #expect(try await gavel.request(.get, "/v1/lots", token: quiet.token).status == .ok)

                // With it, the very next request is refused (the notification arrives after the commit).
                try await CallerCacheTests.revoke(gavel, dealer, announced: true)
                var status = HTTPResponse.Status.ok
                let deadline = ContinuousClock.now + .seconds(2)
                while ContinuousClock.now < deadline {
                    status = try await gavel.request(.get, "/v1/lots", token: dealer.token).status
                    if status == .unauthorized { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(status == .unauthorized)
            }
        }

        @Test("a change nobody announced is seen after the cache's lifetime at the latest; a lifetime of zero looks every token up")
        func lifetimeBoundsTheRest() async throws {
            try await withGavel(callerCacheLifetime: .seconds(1)) { gavel in
                try await CallerCacheTests.waitUntilListening(gavel)
                let dealer = try await gavel.createUser(.bidder, name: "Dealer")
                #expect(try await gavel.request(.get, "/v1/lots", token: dealer.token).status == .ok)
                try await CallerCacheTests.revoke(gavel, dealer, announced: false)
                try await Task.sleep(for: .milliseconds(1_100))
                #expect(try await gavel.request(.get, "/v1/lots", token: dealer.token).status == .unauthorized)
            }
            try await withGavel(callerCacheLifetime: .zero) { gavel in
                let dealer = try await gavel.createUser(.bidder, name: "Dealer")
                #expect(try await gavel.request(.get, "/v1/lots", token: dealer.token).status == .ok)
                try await CallerCacheTests.revoke(gavel, dealer, announced: false)
                #expect(try await gavel.request(.get, "/v1/lots", token: dealer.token).status == .unauthorized)
                #expect(try await gavel.request(.get, "/metrics").text.contains("\ngavel_caller_cache_listening 1") == false)
            }
        }
    }
}
