import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway PostgreSQL cluster on this machine: what the tests, the benchmark and
/// `deploylog demo` start when they are given no server.
///
/// A temp folder holds its data and socket directories; `initdb -A trust`, then `pg_ctl start`
/// on 127.0.0.1 and a free port. Running as root (CI), the folder belongs to the `postgres` user
/// and the binaries run as that user through `runuser`, since PostgreSQL refuses to run as root.
/// Binaries come from `pg_config --bindir` (else the newest `/usr/lib/postgresql/*/bin`).
/// `stop()` stops the server and removes the folder; clusters left by a process that died are
/// removed by the next `start`.
///
///     let cluster = try LocalPostgresCluster.start()
///     defer { cluster.stop() }
///     let url = try cluster.createDatabase(named: "blue")
public final class LocalPostgresCluster: Sendable {
    /// `postgresql://postgres@127.0.0.1:<port>/postgres`.
    public let url: String
    /// The port the server listens on (127.0.0.1 only).
    public let port: Int
    /// The folder of the PostgreSQL binaries.
    public let binDirectory: String
    private let cluster: ClusterFolder

    /// The one role that must log in with a password (every other role is trusted): tests of
    /// password failures create it with a password and use it.
    public static let passwordRole = "deploylog_password_check"

    private init(url: String, port: Int, binDirectory: String, cluster: ClusterFolder) {
        self.url = url
        self.port = port
        self.binDirectory = binDirectory
        self.cluster = cluster
    }

    /// Creates and starts a cluster.
    ///
    /// - Parameters:
    ///   - durable: false (tests) runs with `fsync=off`, `synchronous_commit=off` and
    ///     `full_page_writes=off`; true keeps PostgreSQL's durable defaults (benchmarks).
    ///   - settings: more server settings (`-c name=value`), e.g.
    ///     `["shared_preload_libraries": "pg_stat_statements"]`; names and values of letters,
    ///     digits, `_`, `.`, `,` and `-` only.
    /// - Throws: `LocalClusterError` with the output of `initdb` or `pg_ctl`.
    public static func start(
        durable: Bool = false, settings: [String: String] = [:]
    ) throws(LocalClusterError) -> LocalPostgresCluster {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,-")
        for (name, value) in settings where name.isEmpty || !(name + value).allSatisfy(allowed.contains) {
            throw LocalClusterError("bad server setting \(name)=\(value): letters, digits, _ . , - only")
        }
        let binDirectory = findBinDirectory()
        guard !binDirectory.isEmpty, FileManager.default.isExecutableFile(atPath: binDirectory + "/initdb") else {
            throw LocalClusterError(
                "no PostgreSQL server binaries (initdb) found: `pg_config --bindir` gave \"\(binDirectory)\". "
                    + "Install postgresql-15")
        }
        let cluster = try ClusterFolder(binDirectory: binDirectory)
        cluster.removeStale()
        try cluster.create()
        var lastError: LocalClusterError?
        for _ in 0..<3 {
            do {
                let port = try freePort()
                try cluster.start(port: port, durable: durable, settings: settings)
                return LocalPostgresCluster(
                    url: "postgresql://postgres@127.0.0.1:\(port)/postgres", port: port, binDirectory: binDirectory,
                    cluster: cluster)
            } catch {
                lastError = error
                // Another process took the port between our probe and the server's bind: try another.
                guard error.message.contains("could not bind") || error.message.contains("already in use") else {
                    break
                }
            }
        }
        cluster.remove()
        throw lastError ?? LocalClusterError("the PostgreSQL server did not start")
    }

    /// Stops the server (immediate mode) and removes its folder.
    public func stop() {
        cluster.stop()
        cluster.remove()
    }

    /// Stops and removes this cluster when the process exits (normally or through `exit`).
    public func stopAtExit() {
        ClusterFolder.registerStop(cluster)
    }

    /// Runs one statement as the superuser through `psql`.
    public func psql(_ sql: String, database: String? = nil) throws(LocalClusterError) {
        try Self.psql(sql, url: database.map { Self.url(url, database: $0) } ?? url, binDirectory: binDirectory)
    }

    /// Creates a database and returns its URL.
    @discardableResult
    public func createDatabase(named name: String) throws(LocalClusterError) -> String {
        try psql("CREATE DATABASE " + Self.quote(name))
        return Self.url(url, database: name)
    }

    /// Runs one statement through `psql` on `url`.
    public static func psql(_ sql: String, url: String, binDirectory: String) throws(LocalClusterError) {
        let psql = binDirectory.isEmpty ? "psql" : binDirectory + "/psql"
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        } catch {
            throw LocalClusterError("could not run psql: \(error)")
        }
        guard result.status == 0 else {
            throw LocalClusterError("psql failed (exit \(result.status)) running \(sql):\n\(result.output)")
        }
    }

    /// `"name"`, doubling quotes inside.
    static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `base` with its database (the URL path) replaced by `database`.
    public static func url(_ base: String, database: String) -> String {
        guard var components = URLComponents(string: base), components.scheme?.hasPrefix("postgres") == true else {
            return base + " dbname=" + database  // conninfo: the last keyword wins
        }
        components.percentEncodedPath = "/" + database
        return components.string ?? base
    }

    /// `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`, else "" (PATH).
    public static func findBinDirectory() -> String {
        if let result = try? Subprocess.run("/usr/bin/env", ["pg_config", "--bindir"]), result.status == 0 {
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
    private static func freePort() throws(LocalClusterError) -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LocalClusterError("socket() failed: errno \(errno)") }
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
        guard bound else { throw LocalClusterError("could not find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a local cluster could not start or run a command: the command's output included.
public struct LocalClusterError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "PostgreSQL: " + message }
}

/// The temp folder of a throwaway cluster: `data/`, `socket/`, the server log, and
/// `owner.pid` (the test process, so a later run can tell an abandoned cluster).
struct ClusterFolder: Sendable {
    static let folderPrefix = "deploylog-pg-"
    let binDirectory: String
    let base: String
    let folder: String
    let asPostgresUser: Bool

    var data: String { folder + "/data" }
    var socket: String { folder + "/socket" }
    var log: String { folder + "/server.log" }

    init(binDirectory: String) throws(LocalClusterError) {
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
                let chown = try Subprocess.run("/bin/chown", ["-R", "postgres:postgres", folder])
                guard chown.status == 0 else {
                    throw LocalClusterError("chown of \(folder) to postgres failed:\n\(chown.output)")
                }
            }
        } catch let error as LocalClusterError {
            throw error
        } catch {
            throw LocalClusterError("could not create \(folder): \(error)")
        }
    }

    /// Runs a PostgreSQL binary, as the `postgres` user when we are root.
    func run(_ tool: String, _ arguments: [String]) throws(LocalClusterError) -> Subprocess.Result {
        let path = binDirectory + "/" + tool
        do {
            if asPostgresUser {
                return try Subprocess.run(
                    "/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments, directory: folder)
            }
            return try Subprocess.run(path, arguments, directory: folder)
        } catch {
            throw LocalClusterError("could not run \(tool): \(error)")
        }
    }

    func create() throws(LocalClusterError) {
        let result = try run(
            "initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])
        guard result.status == 0 else {
            remove()
            throw LocalClusterError("initdb failed (exit \(result.status)):\n\(result.output)")
        }
        // Trust everyone but one role, so tests can see a real password failure.
        let hba = """
            local all all trust
            host all \(LocalPostgresCluster.passwordRole) 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust
            host all all ::1/128 trust

            """
        do {
            // Not atomically: rewriting the file in place keeps its owner (postgres).
            try hba.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)
        } catch {
            remove()
            throw LocalClusterError("could not write pg_hba.conf: \(error)")
        }
    }

    func start(port: Int, durable: Bool, settings: [String: String] = [:]) throws(LocalClusterError) {
        var options = ["-k \(socket)", "-c listen_addresses=127.0.0.1", "-p \(port)", "-c max_connections=200"]
        if !durable {
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        }
        options += settings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }
        let optionString = options.joined(separator: " ")
        let result = try run("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", optionString, "start"])
        guard result.status == 0 else {
            let serverLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            _ = try? run("pg_ctl", ["-D", data, "-m", "immediate", "stop"])
            throw LocalClusterError(
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
        stop()
        throw LocalClusterError("the server on port \(port) did not accept connections within 30 s:\n\(serverLog)")
    }

    /// Stops the server (immediate mode); true when none is left running on the folder.
    @discardableResult
    func stop() -> Bool {
        _ = try? run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        return !FileManager.default.fileExists(atPath: data + "/postmaster.pid")
    }

    /// Removes the folder, unless a server still runs on it (its removal is then left to
    /// `removeStale` of a later run, once this process is gone).
    func remove() {
        guard !FileManager.default.fileExists(atPath: data + "/postmaster.pid") else { return }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Whether `path` is a real directory (not a link) owned by this process's user, or as
    /// root by `postgres` (to whom root gives its folders): the base folder is shared (`/tmp`),
    /// and a folder another user made there is not ours to act on (`pg_ctl stop` would signal
    /// whatever process its `postmaster.pid` names).
    static func isOurs(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
        if info.st_uid == geteuid() { return true }
        guard geteuid() == 0, let postgres = getpwnam("postgres") else { return false }
        return info.st_uid == postgres.pointee.pw_uid
    }

    /// Stops and removes clusters whose test process is gone (it crashed or was killed).
    func removeStale() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasPrefix(Self.folderPrefix) {
            let other = base + "/" + name
            guard Self.isOurs(other), let text = try? String(contentsOfFile: other + "/owner.pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            if FileManager.default.fileExists(atPath: other + "/data/postmaster.pid") {
                _ = try? run("pg_ctl", ["-D", other + "/data", "-m", "immediate", "-w", "stop"])
            }
            try? FileManager.default.removeItem(atPath: other)
        }
    }

    /// The clusters to stop at exit (read by the atexit handler, registered once).
    nonisolated(unsafe) private static var toStop: [ClusterFolder] = []
    nonisolated(unsafe) private static var handlerRegistered = false
    private static let stopLock = NSLock()

    static func registerStop(_ cluster: ClusterFolder) {
        stopLock.lock()
        defer { stopLock.unlock() }
        toStop.append(cluster)
        guard !handlerRegistered else { return }
        handlerRegistered = true
        atexit {
            ClusterFolder.stopLock.lock()
            let clusters = ClusterFolder.toStop
            ClusterFolder.toStop = []
            ClusterFolder.stopLock.unlock()
            for cluster in clusters {
                cluster.stop()
                cluster.remove()
            }
        }
    }
}

/// Runs a program to completion with `posix_spawn`, its standard output and error captured in a
/// file, every other descriptor closed in the child. (Foundation's `Process` watches for the
/// child's exit through a descriptor the child inherits: `pg_ctl start` leaves the server
/// holding it, and `waitUntilExit` never returns.)
public enum Subprocess {
    public struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended the program.
        public var status: Int32
        /// Standard output and error, interleaved.
        public var output: String
    }

    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static func glibc<F>(_ name: String, _: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `path` with `arguments` (in `directory`) and waits for it.
    public static func run(_ path: String, _ arguments: [String], directory: String? = nil) throws -> Result {
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
