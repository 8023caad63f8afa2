import Foundation
import PostgresNIO

/// Where Gavel's PostgreSQL is: a `postgres://user:password@host:port/database` URL
/// (the `DATABASE_URL` convention), or a unix socket of the embedded cluster.
public struct DatabaseLocation: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    /// The other hosts of a multi-host URL (`postgres://u:p@primary:5432,standby:5432/db`,
    /// libpq's form, as pg_auto_failover prints it), tried in order after `endpoint`.
    /// Gavel writes, so with several hosts it always uses the one that accepts writes
    /// (libpq's `target_session_attrs=read-write`; D46).
    public var otherEndpoints: [Endpoint] = []
    public var username: String
    public var password: String?
    public var database: String
    /// `sslmode=require` in the URL; anything else connects without TLS, which suits
    /// a database on the same host or private network.
    public var requireTLS: Bool

    public init(endpoint: Endpoint, username: String, password: String?, database: String, requireTLS: Bool = false) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.requireTLS = requireTLS
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public init(url: String) throws {
        // libpq's several hosts: `user:password@host1:port1,host2:port2/database`. Parsed
        // as the URL of the first host; the others are host[:port] each.
        var url = url
        var others: [Endpoint] = []
        if let scheme = url.range(of: "://") {
            let rest = url[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            let hostsStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
            let hosts = authority[hostsStart...].split(separator: ",", omittingEmptySubsequences: false)
            if hosts.count > 1 {
                for host in hosts.dropFirst() {
                    guard let parsed = URLComponents(string: "postgres://" + host), let name = parsed.host, !name.isEmpty,
                          parsed.user == nil, parsed.path.isEmpty
                    else { throw InvalidURL(description: "DATABASE_URL lists a host it cannot read: \(host)") }
                    others.append(.tcp(host: name, port: parsed.port ?? 5432))
                }
                url = String(url[..<hostsStart]) + hosts[0] + String(url[authorityEnd...])
            }
        }
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw InvalidURL(description: "DATABASE_URL must look like postgres://user:password@host:5432/database") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard let user = components.user, !user.isEmpty, !database.isEmpty else {
            throw InvalidURL(description: "DATABASE_URL must name a user and a database")
        }
        let query = components.queryItems ?? []
        let socketDirectory = query.first(where: { $0.name == "host" })?.value
        let port = components.port ?? 5432
        if let socketDirectory, socketDirectory.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw InvalidURL(description: "DATABASE_URL must name a host")
            }
            endpoint = .tcp(host: host, port: port)
        }
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        self.requireTLS = query.first(where: { $0.name == "sslmode" })?.value == "require"
        if !others.isEmpty, case .unixSocket = endpoint {
            throw InvalidURL(description: "DATABASE_URL with several hosts must name TCP hosts, not a socket directory")
        }
        self.otherEndpoints = others
        if let attributes = query.first(where: { $0.name == "target_session_attrs" })?.value,
           !["read-write", "primary", "any"].contains(attributes) {
            throw InvalidURL(description: "DATABASE_URL: Gavel writes, so target_session_attrs must be read-write (or primary), not \(attributes)")
        }
    }

    /// Every host, in the order given.
    public var endpoints: [Endpoint] { [endpoint] + otherEndpoints }

    /// The same location with one host only: what one pool or one connection is made for.
    public func at(_ endpoint: Endpoint) -> DatabaseLocation {
        var copy = self
        copy.endpoint = endpoint
        copy.otherEndpoints = []
        return copy
    }

    /// The same server, another database on it (tests make one per test).
    public func with(database: String) -> DatabaseLocation {
        var copy = self
        copy.database = database
        return copy
    }

    public var isLocal: Bool {
        switch endpoint {
        case .unixSocket: true
        case .tcp(let host, _): ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host)
        }
    }

    public var clientConfiguration: PostgresClient.Configuration { clientConfiguration(statementTimeout: .seconds(5)) }

    /// The pool's settings. `statementTimeout` bounds every statement, so a stuck query
    /// answers 503 rather than holding a request (and its row locks) for ever.
    public func clientConfiguration(statementTimeout: Duration) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 20
        // A 201 for a bid or a payment promises it survives a crash, whatever the
        // server's default says.
        configuration.options.additionalStartupParameters = Self.startupParameters(statementTimeout: statementTimeout)
        return configuration
    }

    /// What every pooled connection asks of its session. A pooler in transaction mode
    /// cannot pass them on (PgBouncer refuses them unless told to ignore them), so
    /// `PoolSettingsCheck` looks at what the connections really get.
    static func startupParameters(statementTimeout: Duration) -> [(String, String)] {
        [("synchronous_commit", "on"), ("statement_timeout", String(milliseconds(statementTimeout)))]
    }

    /// A duration as PostgreSQL's settings take it: whole milliseconds, at least one.
    public static func milliseconds(_ duration: Duration) -> Int64 {
        max(1, duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// A URL for the same database, password included, for `gavel db url`.
    public var url: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.path = "/" + database
        switch endpoint {
        case .tcp(let host, let port):
            components.host = host
            components.port = port
        case .unixSocket(let path):
            let directory = (path as NSString).deletingLastPathComponent
            let port = Int(path.split(separator: ".").last ?? "") ?? 5432
            components.host = "localhost"
            components.port = port
            components.queryItems = [URLQueryItem(name: "host", value: directory)]
        }
        return components.string ?? ""
    }
}
