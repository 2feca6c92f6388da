import DeployLogPostgres
import Foundation

/// A PostgreSQL server for tests, shared by every test of the process.
///
/// With `DEPLOYLOG_TEST_DATABASE_URL` set, that server is used. Otherwise the first test that
/// asks starts a throwaway cluster (`LocalPostgresCluster`, with `fsync=off`): as the `postgres`
/// user when running as root, on 127.0.0.1 and a free port, stopped and removed when the process
/// exits. Tests never skip: a server that cannot start fails them with its output.
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
        let binDirectory = LocalPostgresCluster.findBinDirectory()
        if let external = ProcessInfo.processInfo.environment["DEPLOYLOG_TEST_DATABASE_URL"], !external.isEmpty {
            return .success(PostgresServer(url: external, binDirectory: binDirectory, isExternal: true))
        }
        do throws(LocalClusterError) {
            let cluster = try LocalPostgresCluster.start(durable: false)
            cluster.stopAtExit()
            return .success(PostgresServer(url: cluster.url, binDirectory: cluster.binDirectory, isExternal: false))
        } catch {
            return .failure(PostgresServerError(error.message + " (or set DEPLOYLOG_TEST_DATABASE_URL)"))
        }
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
        return LocalPostgresCluster.url(url, database: name)
    }

    /// Drops a database made by `createDatabase` (closing its connections).
    public func dropDatabase(url databaseURL: String) throws {
        guard let name = URLComponents(string: databaseURL)?.path.dropFirst(), !name.isEmpty else { return }
        try psql("DROP DATABASE IF EXISTS " + Self.quote(String(name)) + " WITH (FORCE)")
    }

    /// Runs one statement as the server's superuser through `psql`.
    public func psql(_ sql: String) throws {
        do throws(LocalClusterError) {
            try LocalPostgresCluster.psql(sql, url: url, binDirectory: binDirectory)
        } catch {
            throw PostgresServerError(error.message)
        }
    }

    /// Runs `sql` through `psql` on the database at `databaseURL`; returns its exit status and
    /// output (for tests that expect the statement to fail).
    public func psql(_ sql: String, database databaseURL: String) throws -> (status: Int32, output: String) {
        let psql = binDirectory.isEmpty ? "psql" : binDirectory + "/psql"
        let result = try Subprocess.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", databaseURL, "-c", sql])
        return (result.status, result.output)
    }

    /// The one role that must log in with a password on a throwaway cluster (every other role
    /// is trusted): tests of password failures create it with a password and use it.
    public static let passwordRole = LocalPostgresCluster.passwordRole

    /// `"name"`, doubling quotes inside.
    static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
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
