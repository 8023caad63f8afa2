import ArgumentParser
import Foundation
import GavelAPI
import GavelStore
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (with the embedded PostgreSQL unless DATABASE_URL is set).")

    @Option(help: "Address to listen on (env GAVEL_HOST).")
    var host: String = ProcessInfo.processInfo.environment["GAVEL_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to listen on (env GAVEL_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["GAVEL_PORT"] ?? "") ?? 8080

    /// How long a graceful shutdown may take before it is escalated to cancellation.
    var shutdownGrace: Duration {
        let seconds = ProcessInfo.processInfo.environment["GAVEL_SHUTDOWN_SECONDS"].flatMap(Double.init) ?? 8
        return .milliseconds(Int(max(1, seconds) * 1_000))
    }

    func run() async throws {
        LogSetup.bootstrap()
        let logger = Logger(label: "gavel")
        let (location, startedCluster) = try GavelEnvironment.database(logger: logger)
        do {
            var configuration = GavelConfiguration(
                host: host, port: port, database: location, resourcesDirectory: GavelEnvironment.resourcesDirectory, logger: logger)
            let environment = ProcessInfo.processInfo.environment
            configuration.listenDatabase = try GavelEnvironment.listenDatabase()
            configuration.readDatabase = try GavelEnvironment.readDatabase()
            if let lag = environment["GAVEL_READ_MAX_LAG_MS"], !lag.isEmpty {
                // Below 100 ms a standby is rarely fresh enough to be used; past a minute a
                // list or a statement would mislead whoever reads it.
                guard let milliseconds = Int(lag), (100...60_000).contains(milliseconds) else {
                    throw ValidationError("GAVEL_READ_MAX_LAG_MS must be a whole number of milliseconds from 100 to 60000 (default 2000)")
                }
                configuration.readMaximumLag = .milliseconds(milliseconds)
            }
            if let limit = environment["GAVEL_BIDS_PER_SECOND"].flatMap(Int.init), limit > 0 { configuration.bidsPerSecond = limit }
            if let seconds = environment["GAVEL_STATEMENT_TIMEOUT_SECONDS"].flatMap(Double.init), seconds > 0 {
                configuration.statementTimeout = .milliseconds(Int(seconds * 1_000))
            }
            if let seconds = environment["GAVEL_CALLER_CACHE_SECONDS"].flatMap(Double.init), seconds >= 0 {
                configuration.callerCacheLifetime = .milliseconds(Int(seconds * 1_000))
            }
            if let seconds = environment["GAVEL_IDLE_TIMEOUT_SECONDS"].flatMap(Double.init), seconds > 0 {
                configuration.idleTimeout = .milliseconds(Int(seconds * 1_000))
            }
            if let seconds = environment["GAVEL_BODY_TIMEOUT_SECONDS"].flatMap(Double.init), seconds > 0 {
                configuration.bodyTimeout = .milliseconds(Int(seconds * 1_000))
            }
            if let hours = environment["GAVEL_IDEMPOTENCY_HOURS"].flatMap(Double.init), hours > 0 {
                configuration.idempotencyLifetime = .seconds(Int(hours * 3_600))
            }
            if let limit = environment["GAVEL_STREAMS_PER_CALLER"].flatMap(Int.init), limit > 0 {
                configuration.eventStreamsPerCaller = limit
            }
            if let limit = environment["GAVEL_STREAMS_PER_INSTANCE"].flatMap(Int.init), limit > 0 {
                configuration.eventStreamsPerInstance = limit
            }
            if let months = environment["GAVEL_HISTORY_RETENTION_MONTHS"], !months.isEmpty {
                // Less than a year would take bids and notices from cases a lender still
                // works on, and the audit trail is evidence.
                guard let value = Int(months), value >= 12 else {
                    throw ValidationError("GAVEL_HISTORY_RETENTION_MONTHS must be a whole number of months, 12 or more (unset keeps everything)")
                }
                configuration.historyRetentionMonths = value
            }
            configuration.databaseKeepAliveQueries = false
            // Every start says where the console is; the token only the first.
            print("Gavel console: http://\(host):\(port)/console")
            fflush(nil)
            let app = try buildApplication(
                configuration,
                onAdminToken: { token in
                    print("""

                        First start: created user "admin" with role admin.
                        Admin token (shown once, keep it): \(token)
                        Console: http://\(host):\(port)/console (sign in with the token above)
                        Try: TOKEN=<the token above>; curl -H "Authorization: Bearer $TOKEN" http://\(host):\(port)/v1/audit

                        """)
                    // Shown once: make sure it reaches a pipe or file now, not at exit.
                    fflush(nil)
                })
            // SIGTERM or SIGINT: stop accepting, finish requests in flight, then return. A
            // shutdown that has not finished after `shutdownGrace` (a service waiting on a
            // database that does not answer) is escalated to cancellation, so the process
            // always ends (D24).
            var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = shutdownGrace
            group.maximumCancellationDuration = .seconds(5)
            try await ServiceGroup(configuration: group).run()
        } catch {
            try? startedCluster?.stop()
            throw error
        }
        if let startedCluster {
            logger.info("stopping embedded PostgreSQL under \(startedCluster.home)")
            try startedCluster.stop()
        }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the SQL/ migrations that are not applied yet.")

    func run() async throws {
        LogSetup.bootstrap()
        let logger = Logger(label: "gavel")
        let (location, startedCluster) = try GavelEnvironment.database(logger: logger)
        defer { try? startedCluster?.stop() }
        let runner = try MigrationRunner(directory: GavelEnvironment.resourcesDirectory + "/SQL")
        let applied = try await PostgresConnection.with(try GavelEnvironment.listenDatabase() ?? location, logger: logger) { connection in
            try await runner.run(on: connection, logger: logger)
        }
        print(applied.isEmpty ? "nothing to apply" : "applied \(applied.map { String(format: "%04d", $0) }.joined(separator: ", "))")
    }
}
