import Foundation
import GavelCore
import GavelStore
import GavelWorkflows
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

public struct GavelConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Where the pool's connections go: PostgreSQL, or a pooler in transaction mode.
    public var database: DatabaseLocation
    /// Where the connections that hold a session go (`GAVEL_LISTEN_DATABASE_URL`): the
    /// LISTEN connections, the notifier's, and the one that migrates at start. Behind
    /// PgBouncer in transaction mode this must reach PostgreSQL directly: a LISTEN made
    /// through it would stay on whichever server connection it ran on (D44). Unset, the
    /// same as `database`.
    public var listenDatabase: DatabaseLocation?
    /// A standby for the reads that may lag a little (`GAVEL_READ_DATABASE_URL`): lists,
    /// statements, the ledger, reports (D47). Nil: every read on the primary.
    public var readDatabase: DatabaseLocation?
    /// How old what the standby serves may be (`GAVEL_READ_MAX_LAG_MS`); past it, the
    /// primary serves those reads too.
    public var readMaximumLag: Duration = .seconds(2)
    /// Holds `SQL/` (migrations) and `Docs/openapi.yaml`; the repository root, or
    /// wherever the Dockerfile copies them.
    public var resourcesDirectory: String
    public var logger: Logger
    /// Where new IDs come from, and the application's own clock (`Seam`); tests pin them.
    public var newID: @Sendable () -> UUID
    public var now: @Sendable () -> Date = { Date() }
    /// How often an idle event stream says it is alive (proxies drop silent connections).
    public var eventHeartbeat: Duration = .seconds(15)
    /// Bids a second per bidder (per instance) before 429 `rate-limited`.
    public var bidsPerSecond: Int = 20
    /// The longest any one SQL statement may run before it is cancelled (503).
    public var statementTimeout: Duration = .seconds(5)
    /// How long a connection may send nothing while no answer is being written before it
    /// is closed: idle keep-alive connections, and clients that stop half-way through a
    /// request. An event stream being written is never idle.
    public var idleTimeout: Duration = .seconds(30)
    /// How long an instance may answer from memory whose token a request carries
    /// (a change in the database is announced and forgotten at once; this bounds the
    /// rest). Zero looks every token up.
    public var callerCacheLifetime: Duration = .seconds(10)
    /// How long the first answer to a POST with an Idempotency-Key is kept for retries.
    public var idempotencyLifetime: Duration = .seconds(86_400)
    /// Lot event streams one token may hold open at once, and this instance in all;
    /// past either, 429 `rate-limited`.
    public var eventStreamsPerCaller = 20
    public var eventStreamsPerInstance = 2_000
    /// The longest a request body may take to arrive, however steadily it trickles in
    /// (the idle timeout only catches a client that stops altogether): 408 past it.
    public var bodyTimeout: Duration = .seconds(30)
    /// No keep-alive queries on the pool's idle connections: PostgresNIO then schedules
    /// no keep-alive timer each time a connection goes back to the pool (D38). `gavel
    /// serve` sets it; tests that start many applications do not. The pool still opens
    /// connections on demand: with a minimum above zero, PostgresNIO 1.33 fails a
    /// precondition and stops the process when a lease comes while reconnections are
    /// failing (a PostgreSQL restart or failover; D38, 2026-12-01).
    public var databaseKeepAliveQueries = true
    /// Months of bids, lot events and audit records kept attached before the current one
    /// (`GAVEL_HISTORY_RETENTION_MONTHS`, at least 12); older months are detached for
    /// archiving (D45). Nil keeps everything.
    public var historyRetentionMonths: Int?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, database: DatabaseLocation, resourcesDirectory: String,
        logger: Logger = Logger(label: "gavel"), newID: @escaping @Sendable () -> UUID = { UUID() }
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.resourcesDirectory = resourcesDirectory
        self.logger = logger
        self.newID = newID
    }
}

public struct ResourceMissing: Error, CustomStringConvertible {
    public let description: String
}

/// The one wiring of Gavel, used by `gavel serve` and by the tests. Before the server
/// accepts connections it applies migrations and, on an empty database, creates the
/// first admin, whose token goes to `onAdminToken` (and nowhere else).
public func buildApplication(
    _ configuration: GavelConfiguration,
    onAdminToken: @escaping @Sendable (String) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let migrations = try MigrationRunner(directory: configuration.resourcesDirectory + "/SQL")
    let specPath = configuration.resourcesDirectory + "/Docs/openapi.yaml"
    guard let openAPIDocument = try? String(contentsOfFile: specPath, encoding: .utf8) else {
        throw ResourceMissing(description: "cannot read \(specPath) (set GAVEL_RESOURCES to the folder holding SQL/ and Docs/)")
    }

    // One pool per host of the URL (one, unless it lists a standby too: D46).
    let hostLocations = configuration.database.endpoints.map { configuration.database.at($0) }
    let clients = hostLocations.map { location in
        var clientConfiguration = location.clientConfiguration(statementTimeout: configuration.statementTimeout)
        if !configuration.databaseKeepAliveQueries {
            clientConfiguration.options.keepAliveBehavior = nil
        }
        return PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    }
    let hosts = PrimaryHosts(clients: clients, locations: hostLocations, logger: logger)
    let metrics = GavelMetrics()
    var database = Database(hosts: hosts, logger: logger, leaseObserver: { metrics.leaseChanged(by: $0) })
    database.idempotencyLifetime = configuration.idempotencyLifetime
    var replicaClient: PostgresClient?
    if let readLocation = configuration.readDatabase {
        var clientConfiguration = readLocation.clientConfiguration(statementTimeout: configuration.statementTimeout)
        // Read-only sessions: on a standby they are anyway; on anything else a write
        // routed here by mistake fails instead of landing.
        clientConfiguration.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
        if !configuration.databaseKeepAliveQueries {
            clientConfiguration.options.keepAliveBehavior = nil
        }
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        replicaClient = client
        database.replica = ReadReplica(
            client: client, maximumLag: configuration.readMaximumLag, logger: logger, observer: { metrics.replicaRead($0) })
    }

    let router = Router(context: GavelRequestContext.self)
    let routesBox = RouteTableBox()
    router.add(middleware: SeamMiddleware(newID: configuration.newID, now: configuration.now))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: ProblemMiddleware(routes: { routesBox.table.withLock { $0 } }))
    router.add(middleware: BodyDeadlineMiddleware(timeout: configuration.bodyTimeout))

    let sessions = configuration.listenDatabase ?? configuration.database
    let hub = LotEventHub()
    let notifier = LotEventNotifier(location: sessions, hub: hub, logger: logger)
    let callers = CallerCache(lifetime: configuration.callerCacheLifetime, metrics: metrics)
    let routes = registerRoutes(
        on: router, database: database, metrics: metrics, openAPIDocument: openAPIDocument,
        events: LotEventsController(
            database: database, hub: hub, heartbeat: configuration.eventHeartbeat,
            limiter: EventStreamLimiter(
                perCaller: configuration.eventStreamsPerCaller, perInstance: configuration.eventStreamsPerInstance,
                changed: { metrics.eventStreams(changedBy: $0) })),
        bidLimiter: BidRateLimiter(perSecond: configuration.bidsPerSecond), callers: callers, notifier: notifier)
    let routeTable = routes.table
    routesBox.table.withLock { $0 = routeTable }

    try ConsoleController(
        database: database, pages: ConsolePages(directory: configuration.resourcesDirectory + "/Console"),
        api: ConsoleAPI(handlers: routes.guarded)
    ).register(on: router)

    let idle = configuration.idleTimeout.components
    // Services start alongside the migrations; the closer waits for them.
    let schemaReady = Gate()
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .seconds(idle.seconds) + .nanoseconds(idle.attoseconds / 1_000_000_000))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    for client in clients { app.addServices(client) }
    if let replicaClient, let replica = database.replica {
        app.addServices(replicaClient, ReplicaSampler(database: database, replica: replica))
    }
    app.addServices(
        LotCloser(
            database: database, logger: logger, schemaReady: schemaReady, metrics: metrics, notifier: notifier,
            newID: configuration.newID, now: configuration.now),
        LotEventListener(location: sessions, hub: hub, logger: logger, instance: notifier.instance), notifier)
    app.addServices(HistoryKeeper(
        database: database, logger: logger, schemaReady: schemaReady, retentionMonths: configuration.historyRetentionMonths))
    // A service that returns would stop the application: none when the cache is off.
    if configuration.callerCacheLifetime > .zero {
        app.addServices(CallerChangeListener(location: sessions, cache: callers, logger: logger))
    }
    let newID = configuration.newID
    let now = configuration.now
    let pooled = configuration.database
    let statementTimeout = configuration.statementTimeout
    app.beforeServerStarts {
        // Before anything is written: a pool whose sessions would not keep a 201's
        // promise stops the start here (D44).
        try await PoolSettingsCheck(location: pooled, statementTimeout: statementTimeout).run(logger: logger)
        await hosts.findPrimary()
        // A connection of its own, not the pool's: this runs beside the pool's start, and
        // a lease before `PostgresClient.run()` gave the first request a connection that
        // had just closed (a 503 right after start).
        let token = try await PostgresConnection.withPatience(sessions, logger: logger) { connection in
            try await migrations.run(on: connection, logger: logger)
            schemaReady.open()
            return try await Seam.with(newID: newID, now: now) {
                try await PostgresTransactionError.unwrapping {
                    try await connection.withTransaction(logger: logger) { connection in
                        try await Users().bootstrapAdmin(in: Session(connection: connection, logger: logger))
                    }
                }
            }
        }
        if let token { onAdminToken(token) }
    }
    return app
}

/// The route table, filled in once the routes are registered; the error middleware is
/// created before the routes and needs it to tell 404 from 405.
final class RouteTableBox: Sendable {
    let table = Mutex(RouteTable())
}

private func registerRoutes(
    on router: Router<GavelRequestContext>, database: Database, metrics: GavelMetrics, openAPIDocument: String,
    events: LotEventsController, bidLimiter: BidRateLimiter, callers: CallerCache, notifier: LotEventNotifier
) -> RouteBuilder {
    var routes = RouteBuilder(router: router, authenticator: Authenticator(database: database, cache: callers))
    if let replica = database.replica { routes.changed = { replica.noteChange(by: $0) } }
    routes.addRoutes(
        system: SystemController(database: database, metrics: metrics, openAPIDocument: openAPIDocument),
        users: UsersController(database: database, callers: callers),
        consignors: ConsignorsController(database: database),
        audit: AuditController(database: database),
        cases: CasesController(database: database),
        vehicles: VehiclesController(database: database),
        appraisals: AppraisalsController(database: database),
        lots: LotsController(database: database),
        bidding: BiddingController(database: database, rateLimiter: bidLimiter, notifier: notifier),
        events: events,
        money: MoneyController(database: database),
        reconciliation: ReconciliationController(database: database),
        settlement: SettlementController(database: database),
        ends: CaseEndsController(database: database), reports: ReportsController(database: database))
    return routes
}

/// The routes `buildApplication` registers, for tests that compare them with the spec.
/// Nothing here connects anywhere: the client is never run.
public func registeredEndpoints() -> [Endpoint] {
    let location = DatabaseLocation(endpoint: .tcp(host: "127.0.0.1", port: 1), username: "none", password: nil, database: "none")
    let logger = Logger(label: "routes")
    let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: logger)
    let database = Database(client: client, logger: logger)
    return registerRoutes(
        on: Router(context: GavelRequestContext.self), database: database,
        metrics: GavelMetrics(), openAPIDocument: "",
        events: LotEventsController(
            database: database, hub: LotEventHub(), heartbeat: .seconds(15),
            limiter: EventStreamLimiter(perCaller: 1, perInstance: 1)),
        bidLimiter: BidRateLimiter(perSecond: 20), callers: CallerCache(lifetime: .zero),
        notifier: LotEventNotifier(location: location, hub: LotEventHub(), logger: logger)
    ).table.endpoints
}
