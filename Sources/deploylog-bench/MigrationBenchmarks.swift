import DeployLogEngine
import DeployLogPostgres
import DeployLogStore
import Foundation

/// The cost of `migrate up` over running the same SQL with psql, on a durable PostgreSQL, in
/// the same run: N one-statement migrations (a table each) applied both ways to fresh
/// databases, repeated; medians.
///
/// - `psql_per_migration`: `psql -f` of the N statements (autocommit: one commit each), minus
///   psql's own start and connection (`psql -c 'SELECT 1'`), divided by N.
/// - `migrate_up_per_migration`: `Migrator.up` in process (reading the files, connecting,
///   taking the lock, folding the stream, registering, then MigrationStarted → SQL in a
///   transaction → MigrationApplied per migration, every append fsynced), divided by N.
/// - `migrate_overhead_per_migration`: the difference of the two.
/// - `migrate_cli_overhead_per_migration`: the `deploylog migrate up` binary against the whole
///   `psql -f` run (both with process start and connection), divided by N.
///
/// The server: a throwaway durable cluster (`LocalPostgresCluster`), or
/// `DEPLOYLOG_BENCH_DATABASE_URL` (databases are created on it and dropped).
extension Benchmarks {
    static let migrationNames = [
        "psql_per_migration", "migrate_up_per_migration", "migrate_overhead_per_migration",
        "migrate_cli_overhead_per_migration",
    ]

    func migrationGroup() throws {
        let n = config.quick ? 10 : 100
        let server = try BenchServer()
        defer { server.stop() }
        let psql = server.binDirectory.isEmpty ? "/usr/bin/psql" : server.binDirectory + "/psql"
        let cli = executableDirectory() + "/deploylog"
        let haveCLI = FileManager.default.isExecutableFile(atPath: cli)
        if !haveCLI { note("migrations: no deploylog binary beside the bench at \(cli); the CLI figure is skipped") }

        try withTemporaryDirectory { dir in
            let migrations = dir + "/migrations"
            try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
            var script = ""
            for i in 1...n {
                let sql =
                    "CREATE TABLE bench_counts_\(i) (id bigserial PRIMARY KEY, camera_id integer NOT NULL, "
                    + "count_value integer NOT NULL, created_at timestamptz DEFAULT now());"
                let name = String(format: "%04d__create_bench_counts_%d.sql", i, i)
                try "-- deploylog:up\n\(sql)\n-- deploylog:down\nDROP TABLE bench_counts_\(i);\n".write(
                    toFile: migrations + "/" + name, atomically: true, encoding: .utf8)
                script += sql + "\n"
            }
            try script.write(toFile: dir + "/all.sql", atomically: true, encoding: .utf8)

            var psqlTimes: [Double] = []
            var psqlStart: [Double] = []
            var migrateTimes: [Double] = []
            var cliTimes: [Double] = []
            for rep in 1...config.repetitions {
                // psql: start and connection alone, then the script.
                let psqlURL = try server.createDatabase("bench_psql_\(rep)")
                psqlStart.append(
                    try timed {
                        guard try runProgram(psql, ["-X", "-q", "-d", psqlURL, "-c", "SELECT 1"]) == 0 else {
                            throw BenchError("psql -c 'SELECT 1' failed")
                        }
                    })
                psqlTimes.append(
                    try timed {
                        guard
                            try runProgram(
                                psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", psqlURL, "-f", dir + "/all.sql"]) == 0
                        else { throw BenchError("psql -f failed") }
                    })
                // migrate up, in process, on a durable file store.
                let migrateURL = try server.createDatabase("bench_migrate_\(rep)")
                let store = try FileStore.create(at: dir + "/store-\(rep)")
                var applied = 0
                migrateTimes.append(
                    try timed {
                        applied = try Migrator(store: store, environment: "bench", actor: "bench")
                            .up(.directory(migrations), targetURL: migrateURL).applied.count
                    })
                guard applied == n else { throw BenchError("migrate up applied \(applied) of \(n)") }
                // The binary, end to end.
                if haveCLI {
                    let cliURL = try server.createDatabase("bench_cli_\(rep)")
                    let cliStore = dir + "/cli-store-\(rep)"
                    cliTimes.append(
                        try timed {
                            let status = try runProgram(
                                cli,
                                [
                                    "--store", cliStore, "migrate", "up", "--env", "bench", "--dir", migrations,
                                    "--target", cliURL,
                                ])
                            guard status == 0 else { throw BenchError("deploylog migrate up exited \(status)") }
                        })
                }
                note(
                    "migrations: rep \(rep): psql \(ms(psqlTimes.last!)) ms (start \(ms(psqlStart.last!)) ms), "
                        + "migrate up \(ms(migrateTimes.last!)) ms\(haveCLI ? ", cli \(ms(cliTimes.last!)) ms" : "") for \(n) migrations"
                )
            }
            let psqlPer = (median(psqlTimes) - median(psqlStart)) / Double(n)
            let migratePer = median(migrateTimes) / Double(n)
            printMilliseconds("psql_per_migration", psqlPer)
            printMilliseconds("migrate_up_per_migration", migratePer)
            printMilliseconds("migrate_overhead_per_migration", migratePer - psqlPer)
            if haveCLI {
                printMilliseconds(
                    "migrate_cli_overhead_per_migration", (median(cliTimes) - median(psqlTimes)) / Double(n))
            }
        }
    }

    private func ms(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }

    /// `name value ms` with two decimals (the report's integer rounding would hide the figure).
    private func printMilliseconds(_ name: String, _ seconds: Double) {
        guard config.wants(name) else { return }
        print(String(format: "%@ %.2f ms", name, seconds * 1000))
        fflush(nil)
    }
}

/// The PostgreSQL server of the migration benchmark.
struct BenchServer {
    let url: String
    let binDirectory: String
    private let cluster: LocalPostgresCluster?
    private var created: [String] = []

    init() throws {
        if let external = ProcessInfo.processInfo.environment["DEPLOYLOG_BENCH_DATABASE_URL"], !external.isEmpty {
            url = external
            binDirectory = ""
            cluster = nil
            note("migrations: on DEPLOYLOG_BENCH_DATABASE_URL (\(PostgresURL.redacted(external)))")
        } else {
            let c = try LocalPostgresCluster.start(durable: true)
            cluster = c
            url = c.url
            binDirectory = c.binDirectory
            note("migrations: on a throwaway durable cluster (\(c.url))")
        }
    }

    func createDatabase(_ name: String) throws -> String {
        if let cluster { return try cluster.createDatabase(named: name) }
        let c = try PostgresConnection(url)
        _ = try c.execute(script: "DROP DATABASE IF EXISTS \(try PostgresIdentifier.quote(name)) WITH (FORCE)")
        _ = try c.execute(script: "CREATE DATABASE \(try PostgresIdentifier.quote(name))")
        return LocalPostgresCluster.url(url, database: name)
    }

    func stop() { cluster?.stop() }
}
