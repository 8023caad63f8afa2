import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster under `GAVEL_HOME` (default `.gavel/`), used when no
/// `DATABASE_URL` is given. It runs the installed PostgreSQL binaries, listens on a unix
/// socket and a free port on 127.0.0.1 (password auth there), and runs as an
/// unprivileged user when Gavel runs as root, since PostgreSQL refuses root.
public struct EmbeddedPostgres: Sendable {
    public let home: String
    public let databaseName = "gavel"
    public let superuser = "gavel"

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public enum State: Sendable, Equatable {
        case notInitialized
        case stopped
        case running(port: Int)
    }

    public init(home: String) {
        self.home = (home as NSString).standardizingPath
    }

    /// `GAVEL_HOME`, else `.gavel` in the working directory.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["GAVEL_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home).path
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".gavel").path
    }

    var dataDirectory: String { home + "/pgdata" }
    var socketDirectory: String { home + "/run" }
    var logFile: String { home + "/postgres.log" }
    var passwordFile: String { home + "/superuser-password" }
    /// The port of the last start: a restarted cluster listens there again when it can, so
    /// clients still running (another `gavel serve`, a saved `gavel db url`) find it.
    var portFile: String { home + "/port" }

    // MARK: - Binaries and user

    /// The directory holding `initdb`, `pg_ctl` and `postgres`.
    public static func binaryDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        debianRoot: String = "/usr/lib/postgresql"
    ) throws -> String {
        var candidates: [String] = []
        if let configured = environment["GAVEL_PG_BIN"], !configured.isEmpty { candidates.append(configured) }
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: debianRoot) {
            // Prefer 15, the version Gavel is built and tested against, then the newest.
            let ordered = versions.sorted { (Int($0) ?? 0, $0) > (Int($1) ?? 0, $1) }
            candidates += (ordered.filter { $0 == "15" } + ordered.filter { $0 != "15" }).map { "\(debianRoot)/\($0)/bin" }
        }
        candidates += (environment["PATH"] ?? "/usr/local/bin:/usr/bin").split(separator: ":").map(String.init)
        for directory in candidates {
            let fm = FileManager.default
            if ["initdb", "pg_ctl", "postgres"].allSatisfy({ fm.isExecutableFile(atPath: "\(directory)/\($0)") }) {
                return directory
            }
        }
        throw Failure(description:
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `apt-get install postgresql-15`, or set DATABASE_URL")
    }

    /// PostgreSQL will not run as root; as root, the cluster belongs to an ordinary user.
    static func clusterUser() -> String? {
        guard geteuid() == 0 else { return nil }
        for name in ["postgres", "nobody"] where getpwnam(name) != nil {
            return name
        }
        return "nobody"
    }

    // MARK: - Lifecycle

    public func state() throws -> State {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return .notInitialized }
        let bin = try Self.binaryDirectory()
        let status = try run(bin + "/pg_ctl", ["-D", dataDirectory, "status"], allowFailure: true)
        guard status.exitCode == 0, let port = runningPort() else { return .stopped }
        return .running(port: port)
    }

    /// Starts the cluster if it is not running. Returns whether this call started it
    /// (the caller that started it is the one that stops it).
    @discardableResult
    public func start() throws -> Bool {
        let bin = try Self.binaryDirectory()
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        if case .running = try state() { return false }
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try initialize(bin: bin)
        }
        try handOverToClusterUser()
        let previous = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let port = try previous.flatMap { Self.bindable($0) } ?? Self.freePort()
        try? Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: portFile))
        var options = "-c listen_addresses=127.0.0.1 -p \(port) -k \(socketDirectory)"
        // Extra server settings, e.g. the test script's "-c fsync=off" for a throwaway cluster.
        if let extra = ProcessInfo.processInfo.environment["GAVEL_PG_OPTIONS"], !extra.isEmpty {
            options += " " + extra
        }
        let result = try run(
            bin + "/pg_ctl",
            ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"],
            allowFailure: true)
        guard result.exitCode == 0 else {
            let tail = (try? String(contentsOfFile: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
            throw Failure(description: "PostgreSQL did not start (\(result.output.trimmingCharacters(in: .whitespacesAndNewlines)))\n\(tail)")
        }
        return true
    }

    public func stop() throws {
        guard case .running = try state() else { return }
        let bin = try Self.binaryDirectory()
        _ = try run(bin + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"])
    }

    /// Where to connect: the unix socket, as the cluster's superuser, database `gavel`.
    public func location(database: String? = nil) throws -> DatabaseLocation {
        guard case .running(let port) = try state() else {
            throw Failure(description: "the embedded PostgreSQL under \(home) is not running (gavel db start)")
        }
        return DatabaseLocation(
            endpoint: .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)"),
            username: superuser, password: nil, database: database ?? databaseName)
    }

    /// The same cluster over TCP with the password, for tools and other processes.
    public func tcpLocation(database: String? = nil) throws -> DatabaseLocation {
        guard case .running(let port) = try state() else {
            throw Failure(description: "the embedded PostgreSQL under \(home) is not running (gavel db start)")
        }
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return DatabaseLocation(
            endpoint: .tcp(host: "127.0.0.1", port: port), username: superuser, password: password,
            database: database ?? databaseName)
    }

    private func initialize(bin: String) throws {
        let password = APIToken.generate()
        _ = FileManager.default.createFile(
            atPath: passwordFile, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        try handOverToClusterUser()
        _ = try run(bin + "/initdb", [
            "-D", dataDirectory, "-U", superuser, "--pwfile", passwordFile, "-E", "UTF8", "--locale=C",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        ])
        // The application database is created by the server itself on first boot.
        let bootstrap = dataDirectory + "/gavel-create-database.sql"
        _ = FileManager.default.createFile(atPath: bootstrap, contents: Data("CREATE DATABASE \(databaseName);\n".utf8))
        try handOverToClusterUser()
        _ = try run(bin + "/postgres", ["--single", "-D", dataDirectory, "-F", "postgres"], stdin: bootstrap)
        try? FileManager.default.removeItem(atPath: bootstrap)
    }

    private func handOverToClusterUser() throws {
        guard let user = Self.clusterUser() else { return }
        _ = try Self.runProcess("/bin/chown", ["-R", user, home])
        _ = try Self.runProcess("/bin/chmod", ["0700", home])
        if FileManager.default.fileExists(atPath: dataDirectory) {
            _ = try Self.runProcess("/bin/chmod", ["0700", dataDirectory])
        }
    }

    private func runningPort() -> Int? {
        guard let pidFile = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        let lines = pidFile.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) : nil
    }

    static func freePort() throws -> Int {
        guard let port = bindable(0) else { throw Failure(description: "cannot bind a socket to find a free port") }
        return port
    }

    /// `port` on 127.0.0.1 if it can be bound now (0: any free port), else nil.
    static func bindable(_ port: Int) -> Int? {
        guard port >= 0, port < 65_536 else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // As PostgreSQL binds: connections it closed on its way down linger in TIME_WAIT
        // on this port and must not make it look taken.
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - Processes

    struct ProcessResult {
        var exitCode: Int32
        var output: String
    }

    /// Runs a PostgreSQL binary, as the cluster user when Gavel is root.
    private func run(_ executable: String, _ arguments: [String], stdin: String? = nil, allowFailure: Bool = false) throws -> ProcessResult {
        let result: ProcessResult
        if let user = Self.clusterUser() {
            result = try Self.runProcess("/usr/sbin/runuser", ["-u", user, "--", executable] + arguments, stdin: stdin, directory: home)
        } else {
            result = try Self.runProcess(executable, arguments, stdin: stdin, directory: home)
        }
        if result.exitCode != 0 && !allowFailure {
            let name = (executable as NSString).lastPathComponent
            throw Failure(description: "\(name) failed (exit \(result.exitCode)): \(result.output.suffix(2_000))")
        }
        return result
    }

    /// Asks posix_spawn to close every descriptor from 3 up in the child. glibc has had
    /// `posix_spawn_file_actions_addclosefrom_np` since 2.34; Swift's Glibc module does
    /// not show it, so it is looked up by name (on an older libc nothing is closed).
    public static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
    }

    static func runProcess(_ executable: String, _ arguments: [String], stdin: String? = nil, directory: String? = nil) throws -> ProcessResult {
        // posix_spawn and waitpid rather than Foundation's Process: pg_ctl leaves a
        // daemon behind, and Process on Linux has been seen to wait on it forever.
        let outputPath = NSTemporaryDirectory() + "gavel-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours may reach the child: pg_ctl leaves a postmaster behind that
        // would keep every inherited socket open (a client connection of this process,
        // say) for as long as PostgreSQL runs.
        Self.closeInheritedDescriptors(&actions)
        // PostgreSQL's tools complain when the working directory is not theirs to read.
        let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] + arguments }
            ?? [executable] + arguments
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let exitCode = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return ProcessResult(exitCode: exitCode, output: text)
    }
}
