import Foundation
import GavelStore
import Logging

/// Where things are, from the environment: the database (DATABASE_URL or the embedded
/// cluster) and the resources (SQL/ and Docs/).
enum GavelEnvironment {
    static var variables: [String: String] { ProcessInfo.processInfo.environment }

    static var resourcesDirectory: String {
        if let configured = variables["GAVEL_RESOURCES"], !configured.isEmpty { return configured }
        return FileManager.default.currentDirectoryPath
    }

    /// The database to use and, when this call started the embedded cluster, that cluster
    /// (so the caller stops it again on exit).
    static func database(logger: Logger) throws -> (DatabaseLocation, startedCluster: EmbeddedPostgres?) {
        if let url = variables["DATABASE_URL"], !url.isEmpty {
            return (try DatabaseLocation(url: url), nil)
        }
        let cluster = EmbeddedPostgres(home: EmbeddedPostgres.defaultHome())
        let started = try cluster.start()
        logger.info("\(started ? "started" : "reusing") embedded PostgreSQL under \(cluster.home)")
        return (try cluster.location(), started ? cluster : nil)
    }

    /// `GAVEL_LISTEN_DATABASE_URL`: PostgreSQL itself, for the connections that hold a
    /// session, when DATABASE_URL is a pooler in transaction mode (D44).
    static func listenDatabase() throws -> DatabaseLocation? {
        guard let url = variables["GAVEL_LISTEN_DATABASE_URL"], !url.isEmpty else { return nil }
        do {
            return try DatabaseLocation(url: url)
        } catch let error as DatabaseLocation.InvalidURL {
            // The parser's messages name DATABASE_URL.
            throw DatabaseLocation.InvalidURL(
                description: error.description.replacingOccurrences(of: "DATABASE_URL", with: "GAVEL_LISTEN_DATABASE_URL"))
        }
    }

    /// `GAVEL_READ_DATABASE_URL`: a standby for the reads that may lag (D47). One host:
    /// a standby is chosen by the operator, not searched for.
    static func readDatabase() throws -> DatabaseLocation? {
        guard let url = variables["GAVEL_READ_DATABASE_URL"], !url.isEmpty else { return nil }
        let location: DatabaseLocation
        do {
            location = try DatabaseLocation(url: url)
        } catch let error as DatabaseLocation.InvalidURL {
            throw DatabaseLocation.InvalidURL(
                description: error.description.replacingOccurrences(of: "DATABASE_URL", with: "GAVEL_READ_DATABASE_URL"))
        }
        guard location.otherEndpoints.isEmpty else {
            throw DatabaseLocation.InvalidURL(description: "GAVEL_READ_DATABASE_URL must name one standby, not several hosts")
        }
        return location
    }
}
