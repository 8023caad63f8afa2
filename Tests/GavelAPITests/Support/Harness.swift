import AsyncHTTPClient
import Foundation
import GavelAPI
import GavelCore
import GavelStore
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import PostgresNIO
import Synchronization
import Testing

/// A running Gavel on a database of its own, through the same `buildApplication` as
/// `gavel serve`, with the bootstrap admin's token.
struct Harness: Sendable {
    let client: any TestClientProtocol
    let adminToken: String
    let database: DatabaseLocation
    /// The port a live harness listens on (nil in router mode).
    var port: Int? { client.port }

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let text: String

        var json: JSONValue {
            get throws { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
        }

        /// The problem's `code`, after checking that this is a problem+json answer with
        /// every member RFC 9457 and the contract require.
        var problemCode: String {
            get throws {
                #expect(headers[.contentType] == "application/problem+json", "not a problem: \(text)")
                let body = try json
                for member in ["type", "title", "detail", "code"] {
                    guard case .string = body[member] else {
                        Issue.record("problem without \(member): \(text)")
                        return ""
                    }
                }
                #expect(body["status"] == .integer(Int64(status.code)))
                guard case .string(let code) = body["code"] else { return "" }
                return code
            }
        }

        func string(_ key: String) throws -> String {
            guard case .string(let value) = try json[key] else {
                throw TestSetupError("no string \(key) in \(text)")
            }
            return value
        }
    }

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        // A body is JSON unless the caller says otherwise (CSV uploads).
        if json != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let reply: Reply
        if let port {
            reply = try await Self.live(method, path, port: port, headers: headers, body: json)
        } else {
            let response = try await client.executeRequest(
                uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
            reply = Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
        // Every JSON answer must be what Docs/openapi.yaml says it is.
        let mismatches = SpecValidator.shared.problems(
            method: method.rawValue, path: path, status: reply.status.code, contentType: reply.headers[.contentType], body: reply.text)
        if !mismatches.isEmpty {
            Issue.record("\(method.rawValue) \(path) -> \(reply.status.code) differs from Docs/openapi.yaml: \(mismatches.joined(separator: "; "))\n\(reply.text.prefix(600))")
        }
        return reply
    }

    /// A request to a live server through a pooled client that connects again when the
    /// server has closed an idle keep-alive connection. The test framework's live client
    /// holds one connection for a whole test and cannot: under load a test could meet
    /// "I/O on closed channel" on a request the server never saw.
    static func live(
        _ method: HTTPRequest.Method, _ path: String, port: Int, headers: HTTPFields, body: String?
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method.rawValue)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
        return Reply(status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields, text: text)
    }

    /// Creates a user through the API and returns its ID and token.
    func createUser(_ role: Role, consignorId: String? = nil, name: String? = nil) async throws -> (id: String, token: String) {
        let consignor = consignorId.map { #", "consignorId": "\#($0)""# } ?? ""
        let reply = try await request(
            .post, "/v1/users", token: adminToken,
            json: #"{"name": "\#(name ?? role.rawValue)", "role": "\#(role.rawValue)"\#(consignor)}"#)
        guard reply.status == .created else { throw TestSetupError("cannot create \(role): \(reply.text)") }
        return (try reply.string("id"), try reply.string("token"))
    }

    func createConsignor(_ name: String = "First Auto Finance") async throws -> String {
        let reply = try await request(
            .post, "/v1/consignors", token: adminToken,
            json: #"{"name": "\#(name)", "currency": "CNY", "policy": {"notice": {"minDays": 0}}}"#)
        guard reply.status == .created else { throw TestSetupError("cannot create consignor: \(reply.text)") }
        return try reply.string("id")
    }

    /// Runs SQL against this test's database directly, to look behind the API.
    @discardableResult
    func sql<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await PostgresConnection.with(database, logger: quietLogger, body)
    }

    func count(_ table: String) async throws -> Int {
        try await sql { client in
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table)"), logger: quietLogger)
            for try await (count) in rows.decode(Int.self) { return count }
            return -1
        }
    }
}

/// Builds Gavel on a fresh migrated database and runs `body` against it in-process.
/// `live` serves on a real port (for streams read from a socket).
func withGavel<T: Sendable>(
    newID: @escaping @Sendable () -> UUID = { UUID() }, live: Bool = false, eventHeartbeat: Duration = .seconds(15),
    statementTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(30), callerCacheLifetime: Duration = .seconds(10),
    configure: @Sendable (inout GavelConfiguration) -> Void = { _ in },
    _ body: @Sendable (Harness) async throws -> T
) async throws -> T {
    do {
        return try await withMigratedDatabase { location in
            try await withGavel(
                on: location, newID: newID, live: live, eventHeartbeat: eventHeartbeat, statementTimeout: statementTimeout,
                idleTimeout: idleTimeout, callerCacheLifetime: callerCacheLifetime, configure: configure, body)
        }
    } catch let error as PSQLError {
        // PSQLError's description hides the server's message; a failing test needs it.
        throw TestSetupError("PostgreSQL: \(String(reflecting: error))")
    }
}

/// Builds Gavel on the given (migrated or empty) database.
func withGavel<T: Sendable>(
    on location: DatabaseLocation,
    newID: @escaping @Sendable () -> UUID = { UUID() }, live: Bool = false, eventHeartbeat: Duration = .seconds(15),
    statementTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(30), callerCacheLifetime: Duration = .seconds(10),
    configure: @Sendable (inout GavelConfiguration) -> Void = { _ in },
    _ body: @Sendable (Harness) async throws -> T
) async throws -> T {
    let token = Mutex<String?>(nil)
    let serverLog = CollectedLog()
    var configuration = GavelConfiguration(
        host: "127.0.0.1", port: 0, database: location, resourcesDirectory: repositoryRoot, logger: serverLog.logger, newID: newID)
    configuration.eventHeartbeat = eventHeartbeat
    configuration.statementTimeout = statementTimeout
    configuration.idleTimeout = idleTimeout
    configuration.callerCacheLifetime = callerCacheLifetime
    configure(&configuration)
    // Only for databases of the test server: the tests that stop or hide a PostgreSQL
    // of their own keep Gavel on it.
    if let pooler = try TestDatabase.pooler(), try await TestDatabase.shared.serverLocation().endpoint == location.endpoint {
        // The run through PgBouncer (scripts/test): the pool goes through it, the
        // sessions go straight to PostgreSQL, and the settings PgBouncer cannot pass on
        // are the database's own, as Docs/operations.md tells an operator to set them.
        configuration.listenDatabase = location
        configuration.database = pooler.with(database: location.database)
        // And the reads that may lag through a read-only pool of their own, on the same
        // server (so as fresh as the primary): any of them that wrote would fail here.
        if configuration.readDatabase == nil { configuration.readDatabase = location }
        let milliseconds = DatabaseLocation.milliseconds(configuration.statementTimeout)
        try await PostgresConnection.with(location, logger: quietLogger) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER DATABASE \(location.database) SET synchronous_commit = on"), logger: quietLogger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "ALTER DATABASE \(location.database) SET statement_timeout = '\(milliseconds)ms'"),
                logger: quietLogger)
        }
    }
    let app = try buildApplication(configuration, onAdminToken: { value in token.withLock { $0 = value } })
    let result: T
    do {
        result = try await app.test(live ? .live : .router) { client in
            // A second instance on the same database finds its admin already made.
            let adminToken = token.withLock({ $0 }) ?? ""
            return try await body(Harness(client: client, adminToken: adminToken, database: location))
        }
    } catch {
        throw FailedWithServerLog(error: error, log: serverLog.tail())
    }
    try await expectBalancedBooks(location)
    return result
}

/// After every scenario, whatever it did: each journal entry has two lines or more
/// and balances, so the trial balance does too; and every closed case's own accounts
/// net to zero (domain rules section 10).
func expectBalancedBooks(_ location: DatabaseLocation) async throws {
    let (unbalanced, openInClosedCases) = try await PostgresConnection.with(location, logger: quietLogger) { connection -> ([String], [String]) in
        // A database that never got this far in migrations has no journal to check.
        var hasJournal = false
        for try await exists in try await connection.query(
            "SELECT to_regclass('journal_entries') IS NOT NULL", logger: quietLogger).decode(Bool.self) { hasJournal = exists }
        guard hasJournal else { return ([], []) }
        var keys: [String] = []
        for try await key in try await connection.query(
            """
            SELECT e.event_key FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id
            GROUP BY e.id, e.event_key HAVING count(l.*) < 2 OR sum(l.debit) <> sum(l.credit)
            """, logger: quietLogger
        ).decode(String.self) { keys.append(key) }
        var open: [String] = []
        for try await (caseId, account, net) in try await connection.query(
            """
            SELECT e.case_id::text, l.account, sum(l.debit - l.credit)::bigint
            FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id JOIN cases c ON c.id = e.case_id
            WHERE c.status = 'closed' AND NOT (l.account = ANY(\(Array(CaseBooks.notTheCase))::text[]))
            GROUP BY e.case_id, l.account HAVING sum(l.debit - l.credit) <> 0
            """, logger: quietLogger
        ).decode((String, String, Int64).self) { open.append("case \(caseId): \(account) holds \(net)") }
        return (keys, open)
    }
    #expect(unbalanced.isEmpty, "unbalanced journal entries: \(unbalanced)")
    #expect(openInClosedCases.isEmpty, "a closed case's accounts do not net to zero: \(openInClosedCases)")
}
