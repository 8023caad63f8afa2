import ArgumentParser
import AsyncHTTPClient
import Foundation
import GavelAPI
import GavelCore
import GavelStore
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import ServiceLifecycle

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a surplus case, a deficiency case and a redemption end to end through the HTTP API, pay everything out and check the books.",
        discussion: """
            Uses the embedded PostgreSQL (or DATABASE_URL). Without --url it starts its own Gavel on a free
            local port; with --url it drives that running instance (on the same database). Exits non-zero if
            any invariant fails.
            """)

    @Option(help: "A running Gavel to drive, e.g. http://127.0.0.1:8080 (default: start one in this process).")
    var url: String?

    @Flag(help: "Leave one case mid-disposal for the console: a live lot with bids, an appraisal awaiting approval.")
    var keep = false

    func run() async throws {
        LogSetup.bootstrap()
        var logger = Logger(label: "gavel")
        logger.logLevel = .warning
        let (location, startedCluster) = try GavelEnvironment.database(logger: logger)
        defer { try? startedCluster?.stop() }
        let runner = try MigrationRunner(directory: GavelEnvironment.resourcesDirectory + "/SQL")
        // The demo acts as an admin of its own, minted straight in the database.
        let (adminToken, today) = try await PostgresConnection.with(location, logger: logger) { connection in
            try await runner.run(on: connection, logger: logger)
            let token = try await PostgresTransactionError.unwrapping {
                try await connection.withTransaction(logger: logger) { connection in
                    try await UserRepository.create(
                        User(id: UUID(), name: "demo admin", role: .admin, consignorId: nil), on: connection, logger: logger)
                }
            }
            var today = ""
            for try await day in try await connection.query("SELECT current_date::text", logger: logger).decode(String.self) { today = day }
            return (token, today)
        }
        guard let day = CalendarDate(iso: today) else { throw ValidationError("the database's date does not parse: \(today)") }

        let server: (group: ServiceGroup, task: Task<Void, any Error>)?
        let base: String
        if let url {
            base = url.hasSuffix("/") ? String(url.dropLast()) : url
            server = nil
        } else {
            let port = try Self.freePort()
            base = "http://127.0.0.1:\(port)"
            let app = try buildApplication(GavelConfiguration(
                host: "127.0.0.1", port: port, database: location, resourcesDirectory: GavelEnvironment.resourcesDirectory,
                logger: logger))
            let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
            server = (group, Task { try await group.run() })
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let api = DemoAPI(http: http, base: base)
        var failures: [String] = []
        do {
            try await api.waitUntilReady()
            var scenario = DemoScenario(api: api, admin: adminToken, today: day, location: location, logger: logger)
            scenario.keep = keep
            try await scenario.run()
            failures = scenario.failures
        } catch {
            failures.append("the demo stopped: \(error)")
        }
        try? await http.shutdown()
        if let server {
            // Stopped the way SIGTERM stops `gavel serve`: requests drain, then services end.
            await server.group.triggerGracefulShutdown()
            _ = await server.task.result
        }
        if failures.isEmpty {
            print("\nAll invariants hold.")
        } else {
            print("\nFAILED:")
            for failure in failures { print("  - \(failure)") }
            throw ExitCode.failure
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw ValidationError("cannot find a free local port") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The HTTP calls of the demo: JSON in, JSON out, the status checked by the caller.
struct DemoAPI: Sendable {
    let http: HTTPClient
    let base: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func call(_ method: HTTPMethod, _ path: String, token: String?, json: String? = nil) async throws -> (status: Int, body: JSONValue) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))) ?? .null
        return (Int(response.status.code), value)
    }

    /// A call that must answer `expected`; anything else stops the demo with the answer.
    @discardableResult
    func expect(_ expected: Int, _ method: HTTPMethod, _ path: String, token: String?, json: String? = nil) async throws -> JSONValue {
        let (status, body) = try await call(method, path, token: token, json: json)
        guard status == expected else {
            throw Failure(description: "\(method) \(path) answered \(status), expected \(expected): \(JSONText.encode(body))")
        }
        return body
    }

    /// A printable page (text/html): its status and text.
    func page(_ path: String, token: String) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/html")
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let (status, _) = try? await call(.GET, "/ready", token: nil), status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "\(base) did not become ready within 30 s")
    }
}
