import Foundation
import GavelStore
import Testing

@Suite("The embedded PostgreSQL default")
struct EmbeddedPostgresTests {
    @Test("missing server binaries give a one-line error naming the package")
    func missingBinaries() {
        do {
            _ = try EmbeddedPostgres.binaryDirectory(environment: ["PATH": "/nonexistent"], debianRoot: "/nonexistent")
            Issue.record("found binaries where there are none")
        } catch {
            let message = "\(error)"
            #expect(message.contains("apt-get install postgresql-15"))
            #expect(!message.contains("\n"))
        }
    }

    @Test("database URLs parse, with sockets and TLS, and refuse nonsense")
    func urls() throws {
        let tcp = try DatabaseLocation(url: "postgres://gavel:s%40cret@db.internal:6432/gavel?sslmode=require")
        #expect(tcp.endpoint == .tcp(host: "db.internal", port: 6432))
        #expect(tcp.password == "s@cret")
        #expect(tcp.requireTLS)
        #expect(!tcp.isLocal)
        let socket = try DatabaseLocation(url: "postgresql://gavel@localhost:5433/app?host=/run/pg")
        #expect(socket.endpoint == .unixSocket(path: "/run/pg/.s.PGSQL.5433"))
        #expect(socket.isLocal)
        #expect(try DatabaseLocation(url: socket.url) == socket)
        for bad in ["mysql://a@b/c", "postgres://host/db", "postgres://user@host/", "nonsense"] {
            #expect(throws: DatabaseLocation.InvalidURL.self) { try DatabaseLocation(url: bad) }
        }
    }

    @Test("serve without DATABASE_URL starts a private cluster, a second serve reuses it, the first stops it on exit")
    func embeddedDefault() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gavel-home-\(UUID().uuidString.prefix(8))").path
        defer {
            try? EmbeddedPostgres(home: home).stop()
            try? FileManager.default.removeItem(atPath: home)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = nil
        environment["GAVEL_HOME"] = home
        environment["GAVEL_RESOURCES"] = repositoryRoot
        environment["GAVEL_PG_OPTIONS"] = "-c fsync=off"
        environment["GAVEL_PORT"] = String(try freeLocalPort())
        let first = try ChildProcess.start(try gavelExecutable(), ["serve"], environment: environment)
        try await waitUntil(first, prints: "listening", within: .seconds(90))
        #expect(first.output.contains("Admin token"))
        guard case .running = try EmbeddedPostgres(home: home).state() else {
            Issue.record("no cluster running under \(home)")
            first.signal(SIGKILL)
            return
        }

        environment["GAVEL_PORT"] = String(try freeLocalPort())
        let second = try ChildProcess.start(try gavelExecutable(), ["serve"], environment: environment)
        try await waitUntil(second, prints: "listening", within: .seconds(60))
        #expect(second.output.contains("reusing embedded PostgreSQL"))
        #expect(!second.output.contains("Admin token"))
        second.signal(SIGTERM)
        #expect(try await second.wait(timeout: .seconds(20)) == 0)
        // The reusing instance leaves the cluster to the one that started it.
        guard case .running = try EmbeddedPostgres(home: home).state() else {
            Issue.record("the second serve stopped a cluster it did not start")
            first.signal(SIGKILL)
            return
        }

        first.signal(SIGTERM)
        #expect(try await first.wait(timeout: .seconds(30)) == 0)
        #expect(try EmbeddedPostgres(home: home).state() == .stopped)
    }

    func waitUntil(_ child: ChildProcess, prints text: String, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if child.output.contains(text) { return }
            if try await child.wait(timeout: .milliseconds(100)) != nil {
                throw TestSetupError("gavel exited early:\n\(child.output)")
            }
        }
        child.signal(SIGKILL)
        throw TestSetupError("gavel did not print \(text):\n\(child.output)")
    }
}
