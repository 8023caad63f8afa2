import Foundation
import GavelStore
import PostgresNIO
import Testing

@Suite("gavel serve as a process")
struct ServeProcessTests {
    /// Starts `gavel serve` on `location` and waits until its output satisfies `ready`.
    static func launch(_ location: DatabaseLocation, until ready: (String) -> Bool) async throws -> (ChildProcess, Int) {
        let port = try freeLocalPort()
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = location.url
        environment["GAVEL_RESOURCES"] = repositoryRoot
        environment["GAVEL_PORT"] = String(port)
        environment["GAVEL_LOG_FORMAT"] = "json"
        // The load tests bid as fast as they can; the limit has a test of its own.
        environment["GAVEL_BIDS_PER_SECOND"] = "1000"
        let child = try ChildProcess.start(try gavelExecutable(), ["serve"], environment: environment)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if ready(child.output) { return (child, port) }
            if try await child.wait(timeout: .milliseconds(100)) != nil {
                throw TestSetupError("gavel serve exited early:\n\(child.output)")
            }
        }
        child.signal(SIGKILL)
        throw TestSetupError("gavel serve did not start:\n\(child.output)")
    }

    static func adminToken(in output: String) -> String? {
        output.split(separator: "\n").first(where: { $0.contains("Admin token") })?.split(separator: " ").last.map(String.init)
    }

    /// Starts `gavel serve` on a database of its own; returns the process, port and admin token.
    static func serve(_ location: DatabaseLocation) async throws -> (ChildProcess, Int, String) {
        let (child, port) = try await launch(location) { adminToken(in: $0) != nil && $0.contains("listening") }
        return (child, port, adminToken(in: child.output) ?? "")
    }

    /// Starts one more `gavel serve` on a database that has its admin already; returns
    /// once it listens.
    static func instance(_ location: DatabaseLocation) async throws -> (ChildProcess, Int) {
        try await launch(location) { $0.contains("listening") }
    }

    @Test("gavel demo runs its four cases end to end through the HTTP API, pays everything out and every invariant holds")
    func demo() async throws {
        try await withMigratedDatabase { location in
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = location.url
            environment["GAVEL_RESOURCES"] = repositoryRoot
            let child = try ChildProcess.start(try gavelExecutable(), ["demo"], environment: environment)
            let code = try await child.wait(timeout: .seconds(240))
            if code == nil { child.signal(SIGKILL) }
            let output = child.output
            #expect(code == 0, "\(output.suffix(3_000))")
            #expect(output.contains("All invariants hold."))
            #expect(!output.contains("FAILED"))
            for line in [
                "ok: a bid in the last 5 s extends the lot (soft close)",
                "ok: vector D: premium 4,000.00, total 84,300.00, due 78,400.00",
                "ok: vector E: surplus 5,250.00 after the junior lien's 3,000.00",
                "ok: an unpaid invoice is defaulted when due, by the scheduler",
                "ok: the defaulter may not bid again on this vehicle",
                "ok: vector F: deficiency 15,250.00",
                "ok: the trial balance balances",
                "7. Deficiency",
                "ok: vector I: lender 64,450.00, junior 3,000.00, vendors 5,700.00",
                "ok: vector H: payoff 68,225.00 after 35 days of interest",
                "ok: the scheduled lot is cancelled and the car released to the borrower",
                "ok: every payable is paid out and the case is closed",
                "ok: the trial balance shows zero in every payable and in the deposits held",
                "ok: no lot before the parties are told: 422 notice-period",
                "ok: the borrower's notice prints as a 拍卖通知书 naming the borrower",
                "ok: an auction 1 hour away is still refused: announced 15 days ahead",
                "ok: the lot is its own public announcement: bidders see it from today, 15 days before it opens",
                "ok: a bidder without a verified real name is refused",
                "ok: vector J: the priority holder meets the current price and leads on equal maxima",
                "ok: vector J: sold at 71,000.00",
                "ok: the confirmation names the priority holder by its real name, published under the judicial rules",
            ] {
                #expect(output.contains(line), "missing: \(line)")
            }
        }
    }

    @Test("logs are JSON lines carrying the request ID, and never the token")
    func jsonLogs() async throws {
        try await withMigratedDatabase { location in
            let (child, port, token) = try await Self.serve(location)
            let connection = try RawHTTPConnection(port: port)
            connection.send("GET /v1/audit HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nX-Request-ID: log-probe-7\r\n\r\n")
            let response = await connection.receive()
            connection.closeConnection()
            #expect(response.hasPrefix("HTTP/1.1 200"))
            child.signal(SIGTERM)
            #expect(try await child.wait(timeout: .seconds(20)) == 0)
            let lines = child.output.split(separator: "\n").filter { $0.hasPrefix("{") }
            #expect(!lines.isEmpty)
            let requestLine = try #require(lines.first { $0.contains("log-probe-7") })
            let parsed = try JSONSerialization.jsonObject(with: Data(requestLine.utf8)) as? [String: Any]
            #expect(parsed?["request_id"] as? String == "log-probe-7")
            #expect(parsed?["status"] as? String == "200")
            #expect(parsed?["path"] as? String == "/v1/audit")
            // Every line is a JSON object with an RFC 3339 UTC time, its keys in order.
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                let ts = try #require(object["ts"] as? String)
                #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(ts)")
                let keys = line.matches(of: /"([a-z_.]+)":/).map { String($0.output.1) }
                #expect(keys == keys.sorted(), "\(line)")
            }
            // The token is printed once at first start, outside the log stream, and in no log line
            // (it was also printed a second time inside a sample curl line: issue 13).
            #expect(!lines.contains { $0.contains(token) })
            #expect(child.output.components(separatedBy: token).count == 2, "the token is printed more than once")
        }
    }

    static func metrics(_ port: Int) async throws -> String {
        let connection = try RawHTTPConnection(port: port)
        defer { connection.closeConnection() }
        connection.send("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return await connection.receive()
    }

    @Test("a second serve on a database with an admin prints no new token")
    func adminOnce() async throws {
        try await withMigratedDatabase { location in
            let (first, _, _) = try await Self.serve(location)
            first.signal(SIGTERM)
            #expect(try await first.wait(timeout: .seconds(20)) == 0)
            let (second, _) = try await Self.instance(location)
            #expect(!second.output.contains("Admin token"))
            second.signal(SIGTERM)
            #expect(try await second.wait(timeout: .seconds(20)) == 0)
        }
    }

    @Test("gavel migrate and gavel token create work against DATABASE_URL; the token authenticates")
    func cli() async throws {
        try await withEmptyDatabase { location in
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = location.url
            environment["GAVEL_RESOURCES"] = repositoryRoot
            let migrate = try ChildProcess.start(try gavelExecutable(), ["migrate"], environment: environment)
            #expect(try await migrate.wait(timeout: .seconds(30)) == 0)
            #expect(migrate.output.contains("applied 0001"))
            let again = try ChildProcess.start(try gavelExecutable(), ["migrate"], environment: environment)
            #expect(try await again.wait(timeout: .seconds(30)) == 0)
            #expect(again.output.contains("nothing to apply"))

            let create = try ChildProcess.start(
                try gavelExecutable(), ["token", "create", "--role", "finance", "--name", "Finance desk"], environment: environment)
            #expect(try await create.wait(timeout: .seconds(30)) == 0)
            let token = create.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
            #expect(token.count == 43, "\(create.output)")
            let (role, audited) = try await PostgresConnection.with(location, logger: quietLogger) { client in
                var role = ""
                let rows = try await client.query(
                    "SELECT u.role FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = \(APIToken.sha256Hex(token))",
                    logger: quietLogger)
                for try await value in rows.decode(String.self) { role = value }
                var audited = 0
                let audit = try await client.query("SELECT count(*)::int FROM audit_log WHERE actor_name = 'system:cli'", logger: quietLogger)
                for try await count in audit.decode(Int.self) { audited = count }
                return (role, audited)
            }
            #expect(role == "finance")
            #expect(audited == 1)
            // The user's ID comes first: finance records a bidder's deposit by it.
            let idLine = create.output.split(separator: "\n").first { $0.hasPrefix("user ") }.map(String.init) ?? ""
            let printedId = idLine.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let storedId = try await PostgresConnection.with(location, logger: quietLogger) { client -> String in
                var id = ""
                for try await value in try await client.query(
                    "SELECT user_id::text FROM api_tokens WHERE token_sha256 = \(APIToken.sha256Hex(token))", logger: quietLogger
                ).decode(String.self) { id = value }
                return id
            }
            #expect(printedId == storedId && !storedId.isEmpty, "\(create.output)")

            let refused = try ChildProcess.start(
                try gavelExecutable(), ["token", "create", "--role", "manager", "--name", "M"], environment: environment)
            #expect(try await refused.wait(timeout: .seconds(30)) != 0)
            #expect(refused.output.contains("a manager needs --consignor ID"))
        }
    }
}

extension RealTime {
    @Suite("gavel serve as a process, in real time")
    struct ServeProcessTiming {
        @Test("SIGTERM lets the request in flight finish, then exits 0")
        func sigtermDrains() async throws {
            try await withMigratedDatabase { location in
                let (child, port, token) = try await ServeProcessTests.serve(location)
                let body = #"{"name": "Drained Finance", "currency": "CNY"}"#
                let connection = try RawHTTPConnection(port: port)
                defer { connection.closeConnection() }
                connection.send(
                    "POST /v1/consignors HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                        + String(body.prefix(10)))
                try await Task.sleep(for: .milliseconds(300))
                child.signal(SIGTERM)
                try await Task.sleep(for: .milliseconds(700))
                // Still running: a request is in flight.
                #expect(try await child.wait(timeout: .milliseconds(10)) == nil)
                connection.send(String(body.dropFirst(10)))
                let response = await connection.receive()
                #expect(response.hasPrefix("HTTP/1.1 201"), "\(response)")
                let exitCode = try await child.wait(timeout: .seconds(20))
                #expect(exitCode == 0, "\(child.output)")
                let stored = try await PostgresConnection.with(location, logger: quietLogger) { client in
                    let rows = try await client.query("SELECT count(*)::int FROM consignors WHERE name = 'Drained Finance'", logger: quietLogger)
                    for try await count in rows.decode(Int.self) { return count }
                    return -1
                }
                #expect(stored == 1)
            }
        }

        @Test("LISTEN or a connection never answered: the listeners give up on them, and SIGTERM still stops at once", arguments: [true, false])
        func unansweringDatabase(onlyListen: Bool) async throws {
            try await SystemTests.withProxiedDatabase { proxy, proxied in
                let (child, port) = try await ServeProcessTests.launch(proxied) { $0.contains("listening") }
                // Wait until both listeners hear (the caller cache says so).
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline, !(try await ServeProcessTests.metrics(port).contains("\ngavel_caller_cache_listening 1")) {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await ServeProcessTests.metrics(port).contains("\ngavel_caller_cache_listening 1"))
                // Every connection is dropped; then either each new one stalls once its client
                // sends LISTEN (PostgresNIO then waits for ever), or no new one is answered at all.
                if onlyListen { proxy.stallOnListen.withLock { $0 = true } } else { proxy.stalled.withLock { $0 = true } }
                await proxy.cut()
                proxy.restore()
                try await Task.sleep(for: .seconds(8))
                #expect(child.output.contains("was not confirmed in time"), "no listener gave up on an unanswered connection")
                #expect(try await ServeProcessTests.metrics(port).contains("\ngavel_caller_cache_listening 0"))
                child.signal(SIGTERM)
                let code = try await child.wait(timeout: .seconds(10))
                if code == nil { child.signal(SIGKILL) }
                #expect(code == 0, "did not stop within 10 s of SIGTERM:\n\(child.output.suffix(1_500))")
            }
        }
    }
}
