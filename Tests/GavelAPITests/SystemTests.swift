import Foundation
import GavelAPI
import GavelCore
import GavelStore
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Health, readiness, metrics and the OpenAPI document")
struct SystemTests {
    /// A migrated database reached through a TCP proxy the test can cut and restore.
    static func withProxiedDatabase(_ body: (TCPProxy, DatabaseLocation) async throws -> Void) async throws {
        try await withMigratedDatabase { location in
            guard case .tcp(_, let port) = location.endpoint else { throw TestSetupError("the test server must be on TCP") }
            let proxy = TCPProxy(targetPort: port)
            let proxyPort = try await proxy.start()
            var proxied = location
            proxied.endpoint = .tcp(host: "127.0.0.1", port: proxyPort)
            do {
                try await body(proxy, proxied)
            } catch {
                await proxy.stop()
                throw error
            }
            await proxy.stop()
        }
    }

    @Test("health and readiness answer 200 while PostgreSQL answers")
    func healthy() async throws {
        try await withGavel { gavel in
            let health = try await gavel.request(.get, "/health")
            #expect(health.status == .ok)
            #expect(try health.json == .object(["status": .string("ok")]))
            let ready = try await gavel.request(.get, "/ready")
            #expect(ready.status == .ok)
        }
    }

    @Test("metrics count requests by route and status, with latency histograms and pool use")
    func metrics() async throws {
        try await withGavel { gavel in
            _ = try await gavel.request(.get, "/health")
            _ = try await gavel.request(.get, "/v1/consignors/\(UUID())", token: gavel.adminToken)
            let reply = try await gavel.request(.get, "/metrics")
            #expect(reply.status == .ok)
            #expect(reply.text.contains(#"gavel_http_requests_total{route="/health",method="GET",status="200"} 1"#))
            #expect(reply.text.contains(#"gavel_http_requests_total{route="/v1/consignors/{id}",method="GET",status="404"} 1"#))
            #expect(reply.text.contains(#"gavel_http_request_duration_seconds_bucket{route="/health",method="GET",status="200",le="#))
            #expect(reply.text.contains("gavel_db_pool_connections_in_use"))
        }
    }

    @Test("the OpenAPI document is served")
    func served() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(.get, "/openapi.yaml")
            #expect(reply.status == .ok)
            let onDisk = try String(contentsOfFile: repositoryRoot + "/Docs/openapi.yaml", encoding: .utf8)
            #expect(reply.text == onDisk)
        }
    }

    @Test("every registered route is in the OpenAPI document, and every documented route is registered")
    func specMatchesRouter() throws {
        let spec = try String(contentsOfFile: repositoryRoot + "/Docs/openapi.yaml", encoding: .utf8)
        let documented = Set(OpenAPIPaths.operations(in: spec))
        let registered = Set(registeredEndpoints().map { "\($0.method.rawValue) \($0.path)" })
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered: \(documented.subtracting(registered).sorted())")
        #expect(registered.subtracting(documented).isEmpty, "registered but not documented: \(registered.subtracting(documented).sorted())")
        #expect(!registered.isEmpty)
    }
}

/// Reads `paths:` of the OpenAPI document as written here: a path at two spaces of
/// indentation, its operations at four.
enum OpenAPIPaths {
    static func operations(in spec: String) -> [String] {
        let methods = ["get", "put", "post", "delete", "patch", "head", "options"]
        var inPaths = false
        var currentPath: String?
        var operations: [String] = []
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if !line.isEmpty && !line.hasPrefix(" ") { break }
            if line.hasPrefix("  /") && line.hasSuffix(":") && !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    ") && !line.hasPrefix("     "), let path = currentPath {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if line.hasSuffix(":"), methods.contains(String(key)) {
                    operations.append("\(key.uppercased()) \(path)")
                }
            }
        }
        return operations
    }
}

extension RealTime {
    @Suite("System, in real time")
    struct SystemTiming {
        @Test("readiness is 503 while PostgreSQL is unreachable, and recovers by itself")
        func outageAndRecovery() async throws {
            try await SystemTests.withProxiedDatabase { proxy, proxied in
                try await withGavel(on: proxied) { gavel in
                    #expect(try await gavel.request(.get, "/ready").status == .ok)
                    await proxy.cut()
                    let started = ContinuousClock.now
                    let down = try await gavel.request(.get, "/ready")
                    #expect(down.status == .serviceUnavailable)
                    #expect(try down.problemCode == "service-unavailable")
                    #expect(down.headers[.retryAfter] != nil)
                    #expect(ContinuousClock.now - started < .seconds(5))
                    // The process keeps serving what needs no database.
                    #expect(try await gavel.request(.get, "/health").status == .ok)

                    proxy.restore()
                    var recovered = false
                    let deadline = ContinuousClock.now + .seconds(20)
                    while ContinuousClock.now < deadline {
                        if try await gavel.request(.get, "/ready").status == .ok { recovered = true; break }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    #expect(recovered, "readiness did not come back after PostgreSQL returned")
                    // And real work goes through again.
                    #expect(try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "After"}"#).status == .created)
                }
            }
        }

        @Test("PostgreSQL away for 5 s under bid load: 503 with Retry-After, never a 500 nor a hang; bids again within 5 s of its return")
        func outageUnderLoad() async throws {
            try await SystemTests.withProxiedDatabase { proxy, proxied in
                try await withGavel(on: proxied) { gavel in
                    let lot = try await OpenLot.start(gavel, bidders: 6)
                    let started = ContinuousClock.now
                    async let answers = withThrowingTaskGroup(of: [OutageAnswer].self) { group in
                        for index in lot.bidders.indices {
                            group.addTask {
                                var answers: [OutageAnswer] = []
                                var amount: Int64 = 5_900_000 + Int64(index) * 1_000
                                while ContinuousClock.now - started < .seconds(9) {
                                    let sent = ContinuousClock.now
                                    let reply = try await lot.bid(index, amount)
                                    let code = (try? reply.json["code"]).flatMap { if case .string(let c) = $0 { c } else { nil } } ?? ""
                                    let answeredAt = ContinuousClock.now
                                    answers.append(OutageAnswer(
                                        status: Int(reply.status.code), code: code, retryAfter: reply.headers[.retryAfter] != nil,
                                        took: answeredAt - sent, answeredAt: answeredAt,
                                        bidId: reply.status == .created ? try? reply.string("bidId") : nil))
                                    if case .integer(let minimum)? = try? reply.json["minimumNextBid"] { amount = max(amount, minimum) }
                                    amount += 20_000
                                    try await Task.sleep(for: .milliseconds(50))
                                }
                                return answers
                            }
                        }
                        return try await group.reduce(into: [OutageAnswer]()) { $0 += $1 }
                    }
                    try await Task.sleep(for: .seconds(2))
                    await proxy.cut()
                    try await Task.sleep(for: .seconds(5))
                    proxy.restore()
                    let restored = ContinuousClock.now
                    let all = try await answers
                    OutageAnswer.expectServedThrough(all)
                    // Bids go through again without a restart, within 5 s of the return.
                    var back = false
                    while ContinuousClock.now - restored < .seconds(5) {
                        if try await lot.bid(0, 20_000_000 + Int64.random(in: 0...9) * 10_000).status == .created { back = true; break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    #expect(back, "no bid went through within 5 s of PostgreSQL's return")
                    let acceptedIds = Set(all.compactMap(\.bidId))
                    let storedIds = try await gavel.sql { connection in
                        var ids: Set<String> = []
                        for try await id in try await connection.query("SELECT id FROM bids", logger: quietLogger).decode(UUID.self) {
                            ids.insert(id.uuidString.lowercased())
                        }
                        return ids
                    }
                    #expect(acceptedIds.isSubset(of: storedIds))
                }
            }
        }

        @Test("a client that goes quiet half-way through a request is disconnected after the idle timeout, nothing written; a quiet event stream stays open")
        func idleTimeout() async throws {
            try await withGavel(live: true, eventHeartbeat: .seconds(60), idleTimeout: .milliseconds(500)) { gavel in
                let lot = try await OpenLot.start(gavel, bidders: 1)
                let port = try #require(gavel.port)
                let watcher = try LotEventsTests.watch(gavel, lot.lotId, token: lot.bidders[0].token)
                defer { watcher.close() }
                try await watcher.wait(for: "the stream to open") { !$0.isEmpty }

                let connection = try RawHTTPConnection(port: port)
                defer { connection.closeConnection() }
                let body = #"{"name": "Half Finance", "currency": "CNY"}"#
                connection.send(
                    "POST /v1/consignors HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(gavel.adminToken)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + String(body.prefix(10)))
                let started = ContinuousClock.now
                // Returns when the server closes the connection (or after the socket's own 15 s).
                let response = await connection.receive()
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(400) && waited < .seconds(5), "closed after \(waited)")
                #expect(!response.hasPrefix("HTTP/1.1 2"), "\(response)")
                let stored = try await gavel.sql { connection in
                    var count = -1
                    for try await value in try await connection.query(
                        "SELECT count(*)::int FROM consignors WHERE name = 'Half Finance'", logger: quietLogger
                    ).decode(Int.self) { count = value }
                    return count
                }
                #expect(stored == 0)
                // The stream wrote nothing for longer than the idle timeout, and is still open.
                try await Task.sleep(for: .seconds(1))
                #expect(!watcher.ended)
                // (The harness's own keep-alive connection was idle too and is gone: a new one.)
                let fresh = try RawHTTPConnection(port: port)
                defer { fresh.closeConnection() }
                fresh.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(await fresh.receive().hasPrefix("HTTP/1.1 200"))
            }
        }
    }
}
