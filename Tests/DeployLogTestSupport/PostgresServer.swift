import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A PostgreSQL server for tests, shared by every test of the process.
///
/// With `DEPLOYLOG_TEST_DATABASE_URL` set, that server is used. Otherwise the first test that
/// asks starts a throwaway PostgreSQL cluster (binaries from `pg_config --bindir`): a temp folder
/// holding its data and socket directories, `initdb -A trust`, `pg_ctl start` on 127.0.0.1 and a
/// free port with `fsync=off`. Running as root (CI), the folder belongs to the `postgres` user
/// and the binaries run as that user through `runuser`, since PostgreSQL refuses to run as
/// root. The cluster is stopped (`pg_ctl stop -m immediate`) and its folder removed when the
/// process exits; clusters left by a process that crashed are removed by the next start.
///
/// This target does not use the libpq layer: it runs the PostgreSQL binaries and hands out URLs.
///
///     let url = try PostgresServer.shared().createDatabase()
public final class PostgresServer: Sendable {
    /// `postgresql://postgres@127.0.0.1:<port>/postgres`, or `DEPLOYLOG_TEST_DATABASE_URL`.
    public let url: String
    /// The folder of the PostgreSQL binaries (`psql` creates the test databases).
    public let binDirectory: String
    /// Whether the server came from `DEPLOYLOG_TEST_DATABASE_URL` (then test databases are
    /// dropped after use; a throwaway cluster is simply deleted at exit).
    public let isExternal: Bool

    init(url: String, binDirectory: String, isExternal: Bool) {
        self.url = url
        self.binDirectory = binDirectory
        self.isExternal = isExternal
    }

    private static let started: Result<PostgresServer, PostgresServerError> = {
        do throws(PostgresServerError) { return .success(try start()) } catch { return .failure(error) }
    }()

    /// The process's server, started on first use (once, however many tests ask at once).
    ///
    /// - Throws: `PostgresServerError` with the output of `initdb` or `pg_ctl` when the server
    ///   cannot start: tests fail with it, they never skip.
    public static func shared() throws -> PostgresServer {
        try started.get()
    }

    /// Creates an empty database with a unique name and returns its URL.
    public func createDatabase(prefix: String = "test") throws -> String {
        let stem = String(prefix.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" }.prefix(20))
        let unique = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))
        let name = stem + "_" + unique
        try psql("CREATE DATABASE " + Self.quote(name))
        return Self.url(url, database: name)
    }

    /// Drops a database made by `createDatabase` (closing its connections).
    public func dropDatabase(url databaseURL: String) throws {
        guard let name = URLComponents(string: databaseURL)?.path.dropFirst(), !name.isEmpty else { return }
        try psql("DROP DATABASE IF EXISTS " + Self.quote(String(name)) + " WITH (FORCE)")
    }

    /// Runs one statement as the server's superuser through `psql`.
    public func psql(_ sql: String) throws {
        let psql = binDirectory.isEmpty ? "psql" : binDirectory + "/psql"
        let result = try Command.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        guard result.status == 0 else {
            throw PostgresServerError("psql failed (exit \(result.status)) running \(sql):\n\(result.output)")
        }
    }

    /// Runs `sql` through `psql` on the database at `databaseURL`; returns its exit status and
    /// output (for tests that expect the statement to fail).
    public func psql(_ sql: String, database databaseURL: String) throws -> (status: Int32, output: String) {
        let psql = binDirectory.isEmpty ? "psql" : binDirectory + "/psql"
        let result = try Command.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", databaseURL, "-c", sql])
        return (result.status, result.output)
    }

    /// The one role that must log in with a password on a throwaway cluster (every other role
    /// is trusted): tests of password failures create it with a password and use it.
    public static let passwordRole = "deploylog_password_check"

    /// `"name"`, doubling quotes inside.
    static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `base` with its database (the URL path) replaced by `database`.
    static func url(_ base: String, database: String) -> String {
        guard var components = URLComponents(string: base), components.scheme?.hasPrefix("postgres") == true else {
            return base + " dbname=" + database  // conninfo: the last keyword wins
        }
        components.percentEncodedPath = "/" + database
        return components.string ?? base
    }

    // MARK: Starting and stopping

    private static func start() throws(PostgresServerError) -> PostgresServer {
        let environment = ProcessInfo.processInfo.environment
        let binDirectory = findBinDirectory()
        if let external = environment["DEPLOYLOG_TEST_DATABASE_URL"], !external.isEmpty {
            return PostgresServer(url: external, binDirectory: binDirectory, isExternal: true)
        }
        guard !binDirectory.isEmpty, FileManager.default.isExecutableFile(atPath: binDirectory + "/initdb") else {
            throw PostgresServerError(
                "no PostgreSQL server binaries (initdb) found: `pg_config --bindir` gave \"\(binDirectory)\". "
                    + "Install postgresql-15 or set DEPLOYLOG_TEST_DATABASE_URL")
        }
        let cluster = try Cluster(binDirectory: binDirectory)
        cluster.removeStale()
        try cluster.create()
        var lastError: PostgresServerError?
        for _ in 0..<3 {
            do {
                let port = try freePort()
                try cluster.start(port: port)
                Cluster.registerStop(cluster)
                return PostgresServer(
                    url: "postgresql://postgres@127.0.0.1:\(port)/postgres", binDirectory: binDirectory,
                    isExternal: false)
            } catch {
                lastError = error
                // Another process took the port between our probe and the server's bind: try another.
                guard error.message.contains("could not bind") || error.message.contains("already in use") else {
                    break
                }
            }
        }
        cluster.remove()
        throw lastError ?? PostgresServerError("the PostgreSQL test server did not start")
    }

    /// `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`, else "" (PATH).
    private static func findBinDirectory() -> String {
        if let result = try? Command.run("/usr/bin/env", ["pg_config", "--bindir"]), result.status == 0 {
            let dir = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if FileManager.default.isExecutableFile(atPath: dir + "/initdb") { return dir }
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let dir = "/usr/lib/postgresql/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: dir + "/initdb") { return dir }
        }
        return ""
    }

    /// A port nobody listens on now: bind port 0 on 127.0.0.1 and read back what the kernel chose.
    private static func freePort() throws(PostgresServerError) -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw PostgresServerError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                guard bind(fd, sockaddr, length) == 0 else { return false }
                return getsockname(fd, sockaddr, &length) == 0
            }
        }
        guard bound else { throw PostgresServerError("could not find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why the test server could not start or run a command: the command's output included.
public struct PostgresServerError: Error, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { "PostgreSQL test server: " + message }
}

/// Runs `body` with the URL of a fresh database on the shared test server; on an external
/// server (`DEPLOYLOG_TEST_DATABASE_URL`) the database is dropped afterwards.
public func withTestDatabase<T>(prefix: String = "test", _ body: (String) throws -> T) throws -> T {
    let server = try PostgresServer.shared()
    let url = try server.createDatabase(prefix: prefix)
    defer { if server.isExternal { try? server.dropDatabase(url: url) } }
    return try body(url)
}

/// The temp folder of a throwaway cluster: `data/`, `socket/`, the server log, and
/// `owner.pid` (the test process, so a later run can tell an abandoned cluster).
private struct Cluster: Sendable {
    static let folderPrefix = "deploylog-pg-"
    let binDirectory: String
    let base: String
    let folder: String
    let asPostgresUser: Bool

    var data: String { folder + "/data" }
    var socket: String { folder + "/socket" }
    var log: String { folder + "/server.log" }

    init(binDirectory: String) throws(PostgresServerError) {
        self.binDirectory = binDirectory
        asPostgresUser = geteuid() == 0
        // As root, under /tmp: the postgres user must be able to reach the folder.
        base = asPostgresUser ? "/tmp" : FileManager.default.temporaryDirectory.path
        folder = base + "/" + Self.folderPrefix + UUID().uuidString.lowercased().prefix(13)
        do {
            let manager = FileManager.default
            try manager.createDirectory(
                atPath: socket, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
            try String(getpid()).write(toFile: folder + "/owner.pid", atomically: true, encoding: .utf8)
            if asPostgresUser {
                let chown = try Command.run("/bin/chown", ["-R", "postgres:postgres", folder])
                guard chown.status == 0 else {
                    throw PostgresServerError("chown of \(folder) to postgres failed:\n\(chown.output)")
                }
            }
        } catch let error as PostgresServerError {
            throw error
        } catch {
            throw PostgresServerError("could not create \(folder): \(error)")
        }
    }

    /// Runs a PostgreSQL binary, as the `postgres` user when we are root.
    func run(_ tool: String, _ arguments: [String]) throws(PostgresServerError) -> Command.Result {
        let path = binDirectory + "/" + tool
        do {
            if asPostgresUser {
                return try Command.run(
                    "/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments, directory: folder)
            }
            return try Command.run(path, arguments, directory: folder)
        } catch {
            throw PostgresServerError("could not run \(tool): \(error)")
        }
    }

    func create() throws(PostgresServerError) {
        let result = try run(
            "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])
        guard result.status == 0 else {
            remove()
            throw PostgresServerError("initdb failed (exit \(result.status)):\n\(result.output)")
        }
        // Trust everyone but one role, so tests can see a real password failure.
        let hba = """
            local all all trust
            host all \(PostgresServer.passwordRole) 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust
            host all all ::1/128 trust

            """
        do {
            // Not atomically: rewriting the file in place keeps its owner (postgres).
            try hba.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)
        } catch {
            remove()
            throw PostgresServerError("could not write pg_hba.conf: \(error)")
        }
    }

    func start(port: Int) throws(PostgresServerError) {
        let options = [
            "-k \(socket)", "-c listen_addresses=127.0.0.1", "-p \(port)", "-c fsync=off",
            "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200",
        ].joined(separator: " ")
        let result = try run("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"])
        guard result.status == 0 else {
            let serverLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            _ = try? run("pg_ctl", ["-D", data, "-m", "immediate", "stop"])
            throw PostgresServerError(
                "pg_ctl start failed (exit \(result.status)):\n\(result.output)\nserver log:\n\(serverLog)")
        }
        // pg_ctl -w waited for the postmaster; make sure it takes TCP connections too.
        for _ in 0..<300 {
            if let ready = try? run("pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]),
                ready.status == 0
            {
                return
            }
            usleep(100_000)
        }
        let serverLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw PostgresServerError("the server on port \(port) did not accept connections within 30 s:\n\(serverLog)")
    }

    func stop() {
        _ = try? run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Stops and removes clusters whose test process is gone (it crashed or was killed).
    func removeStale() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasPrefix(Self.folderPrefix) {
            let other = base + "/" + name
            guard let text = try? String(contentsOfFile: other + "/owner.pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            if FileManager.default.fileExists(atPath: other + "/data/postmaster.pid") {
                _ = try? run("pg_ctl", ["-D", other + "/data", "-m", "immediate", "-w", "stop"])
            }
            try? FileManager.default.removeItem(atPath: other)
        }
    }

    /// The cluster to stop at exit (set once, read by the atexit handler).
    nonisolated(unsafe) private static var toStop: Cluster?
    private static let stopLock = NSLock()

    static func registerStop(_ cluster: Cluster) {
        stopLock.lock()
        defer { stopLock.unlock() }
        toStop = cluster
        atexit {
            Cluster.stopLock.lock()
            let cluster = Cluster.toStop
            Cluster.toStop = nil
            Cluster.stopLock.unlock()
            cluster?.stop()
            cluster?.remove()
        }
    }
}

/// Runs a program to completion with `posix_spawn`, its standard output and error captured in a
/// file, every other descriptor closed in the child. (Foundation's `Process` watches for the
/// child's exit through a descriptor the child inherits: `pg_ctl start` leaves the server
/// holding it, and `waitUntilExit` never returns.)
enum Command {
    struct Result {
        var status: Int32
        var output: String
    }

    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static func glibc<F>(_ name: String, _: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ path: String, _ arguments: [String], directory: String? = nil) throws -> Result {
        let outputPath = FileManager.default.temporaryDirectory.path + "/deploylog-cmd-" + UUID().uuidString
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc's extensions (2.34+), looked up because Swift's Glibc module does not declare them.
        if let closeFrom = glibc("posix_spawn_file_actions_addclosefrom_np", CloseFrom.self) {
            _ = closeFrom(&actions, 3)
        }
        if let directory, let chdir = glibc("posix_spawn_file_actions_addchdir_np", ChangeDirectory.self) {
            _ = chdir(&actions, directory)
        }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw SpawnError(description: "could not start \(path): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid failed: errno \(errno)") }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exit code, or 128 + the signal that ended it (as a shell reports it).
        let exited = status & 0x7f == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: text)
    }
}
