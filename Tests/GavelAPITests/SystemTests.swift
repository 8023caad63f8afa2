import Foundation
import GavelAPI
import GavelStore
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

@Suite("Health, readiness, metrics and the OpenAPI document")
struct SystemTests {
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

    @Test("readiness is 503 while PostgreSQL is unreachable, and recovers by itself")
    func outageAndRecovery() async throws {
        try await withMigratedDatabase { location in
            guard case .tcp(_, let port) = location.endpoint else { throw TestSetupError("the test server must be on TCP") }
            let proxy = TCPProxy(targetPort: port)
            let proxyPort = try await proxy.start()
            var proxied = location
            proxied.endpoint = .tcp(host: "127.0.0.1", port: proxyPort)
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
            await proxy.stop()
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
