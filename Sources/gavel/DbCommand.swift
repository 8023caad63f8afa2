import ArgumentParser
import Foundation
import GavelStore

struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the embedded PostgreSQL cluster under GAVEL_HOME (default .gavel/).",
        subcommands: [Start.self, Stop.self, Status.self, URLCommand.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the embedded cluster (created on first use).")
        func run() throws {
            let cluster = EmbeddedPostgres(home: EmbeddedPostgres.defaultHome())
            let started = try cluster.start()
            print(started ? "started PostgreSQL under \(cluster.home)" : "PostgreSQL under \(cluster.home) was already running")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded cluster.")
        func run() throws {
            let cluster = EmbeddedPostgres(home: EmbeddedPostgres.defaultHome())
            try cluster.stop()
            print("stopped PostgreSQL under \(cluster.home)")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the embedded cluster runs; exit 3 when it does not.")
        func run() throws {
            let cluster = EmbeddedPostgres(home: EmbeddedPostgres.defaultHome())
            switch try cluster.state() {
            case .notInitialized:
                print("no cluster under \(cluster.home)")
                throw ExitCode(3)
            case .stopped:
                print("stopped (\(cluster.home))")
                throw ExitCode(3)
            case .running(let port):
                print("running on 127.0.0.1:\(port) and a unix socket under \(cluster.home)/run")
            }
        }
    }

    struct URLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url", abstract: "Print a postgres:// URL of the running embedded cluster (password included).")
        @Option(help: "Database name in the URL.") var database: String = "gavel"
        func run() throws {
            let cluster = EmbeddedPostgres(home: EmbeddedPostgres.defaultHome())
            print(try cluster.tcpLocation(database: database).url)
        }
    }
}
