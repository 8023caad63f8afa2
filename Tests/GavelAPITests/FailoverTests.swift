import Foundation
import GavelCore
@testable import GavelStore
import PostgresNIO
import Testing

/// Several hosts in DATABASE_URL (issue 19, item 2; D46): Gavel writes to whichever
/// accepts writes, and finds the new one after a failover without a restart.
@Suite("Several database hosts")
struct FailoverTests {
    @Test("a URL of several hosts reads as libpq's: the first host, the others in order, a writable session required")
    func multiHostURL() throws {
        let location = try DatabaseLocation(url: "postgres://gavel:s%40cret@db-a:6001,db-b,10.0.0.3:6003/gavel?target_session_attrs=read-write")
        #expect(location.endpoint == .tcp(host: "db-a", port: 6001))
        #expect(location.otherEndpoints == [.tcp(host: "db-b", port: 5432), .tcp(host: "10.0.0.3", port: 6003)])
        #expect(location.password == "s@cret" && location.database == "gavel" && location.username == "gavel")
        #expect(location.at(.tcp(host: "db-b", port: 5432)).endpoints == [.tcp(host: "db-b", port: 5432)])
        #expect(try DatabaseLocation(url: "postgres://gavel@db-a/gavel").otherEndpoints.isEmpty)
        #expect(throws: DatabaseLocation.InvalidURL.self) {
            try DatabaseLocation(url: "postgres://gavel@db-a,db-b/gavel?target_session_attrs=read-only")
        }
        #expect(throws: DatabaseLocation.InvalidURL.self) { try DatabaseLocation(url: "postgres://gavel@db-a,/gavel") }
        #expect(throws: DatabaseLocation.InvalidURL.self) {
            try DatabaseLocation(url: "postgres://gavel@localhost:5432,db-b/gavel?host=/run/postgresql")
        }
    }

    @Test("a host that refuses connections, listed first, is passed over")
    func deadFirstHost() async throws {
        try await withMigratedDatabase { location in
            var twoHosts = location
            twoHosts.endpoint = .tcp(host: "127.0.0.1", port: try Self.closedPort())
            twoHosts.otherEndpoints = [location.endpoint]
            try await withGavel(on: twoHosts) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                let bid = try await lot.bid(0, 6_000_000)
                #expect(bid.status == .created, "\(bid.text)")
            }
        }
    }

    @Test("primary and standby: Gavel writes to the primary whatever the order; after the primary stops and the standby is promoted, bids go on without a restart, never a 500, every 201 kept")
    func failover() async throws {
        try await withPrimaryAndStandby("failover") { primary, standby in
            let primaryLocation = try primary.tcpLocation()
            // The standby first, as a URL from before a failover might list them.
            var location = try standby.tcpLocation()
            location.otherEndpoints = [primaryLocation.endpoint]

            let answers: [FailoverAnswer] = try await withGavel(on: location) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 2)
                var answers: [FailoverAnswer] = []
                for index in 0..<20 {
                    answers.append(try await FailoverAnswer.bid(lot, index: index))
                }
                // 422: a maximum overtaken by the other bidder's proxy, as in any auction.
                let before = answers.map(\.status)
                #expect(before.allSatisfy { $0 == 201 || $0 == 422 } && before.filter { $0 == 201 }.count >= 10, "before the failover: \(before)")
                // The failover: the primary stops, the standby is promoted.
                try primary.stop()
                try await BackupTests.run("/usr/sbin/runuser", ["-u", EmbeddedPostgres.clusterUser() ?? "root", "--",
                    try EmbeddedPostgres.binaryDirectory() + "/pg_ctl", "-D", standby.home + "/pgdata", "-w", "promote"])
                let promoted = ContinuousClock.now
                var acceptedAfter = 0
                var firstBack: Duration?
                var index = 20
                while ContinuousClock.now - promoted < .seconds(15) && acceptedAfter < 10 {
                    let answer = try await FailoverAnswer.bid(lot, index: index)
                    answers.append(answer)
                    if answer.status == 201 {
                        acceptedAfter += 1
                        if firstBack == nil { firstBack = answer.at - promoted }
                    }
                    index += 1
                    try await Task.sleep(for: .milliseconds(50))
                }
                let unavailable = answers.filter { $0.status == 503 }.count
                print("failover: \(unavailable) answers 503 during the switch; first bid accepted \(firstBack.map { "\($0)" } ?? "never") after the promotion")
                #expect(firstBack.map { $0 < .seconds(5) } == true)
                #expect(acceptedAfter == 10)
                return answers
            }
            #expect(answers.allSatisfy { [201, 422, 503].contains($0.status) }, "\(Set(answers.map(\.status)))")
            // Every bid answered 201, before and after, is on the new primary.
            let accepted = Set(answers.compactMap(\.bidId))
            let stored = try await PostgresConnection.with(try standby.tcpLocation(), logger: quietLogger) { connection in
                var ids = Set<String>()
                for try await id in try await connection.query("SELECT id::text FROM bids", logger: quietLogger).decode(String.self) { ids.insert(id) }
                return ids
            }
            #expect(accepted.isSubset(of: stored))
        }
    }

    static func closedPort() throws -> Int {
        try EmbeddedPostgres.freePort()
    }
}

/// One bid's answer in the failover test, and when it came.
struct FailoverAnswer: Sendable {
    var status: Int
    var bidId: String?
    var at: ContinuousClock.Instant

    /// Bidders take turns, each raising by 50 000 on the last amount sent.
    static func bid(_ lot: OpenLot, index: Int) async throws -> FailoverAnswer {
        let reply = try await lot.bid(index % 2, 5_900_000 + Int64(index) * 50_000)
        return FailoverAnswer(status: Int(reply.status.code), bidId: reply.status == .created ? try reply.string("bidId") : nil, at: .now)
    }
}
