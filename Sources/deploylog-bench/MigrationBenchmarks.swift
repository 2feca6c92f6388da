import DeployLogEngine
import DeployLogPostgres
import DeployLogStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The cost of `migrate up` over running the same SQL with psql, on a durable PostgreSQL, in
/// the same run: N one-statement migrations (a table each) applied both ways to fresh
/// databases, repeated; medians.
///
/// - `psql_per_migration`: `psql -f` of the N statements (autocommit: one commit each), minus
///   psql's own start and connection (`psql -c 'SELECT 1'`), divided by N.
/// - `migrate_up_per_migration`: `Migrator.up` in process (reading the files, connecting,
///   taking the lock, folding the stream, registering, then MigrationStarted → SQL in a
///   transaction → MigrationApplied per migration, every append fsynced), divided by N.
/// - `migrate_overhead_per_migration`: the median over repetitions of the difference of the two
///   (the two run back to back, in alternating order).
/// - `migrate_cli_overhead_per_migration`: the `deploylog migrate up` binary against the whole
///   `psql -f` run just before it (both with process start and connection), divided by N.
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
        let server = try BenchServer(label: "migrations")
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
            var overheads: [Double] = []
            var cliOverheads: [Double] = []
            for rep in 1...config.repetitions {
                let psqlURL = try server.createDatabase("bench_psql_\(rep)")
                let migrateURL = try server.createDatabase("bench_migrate_\(rep)")
                let store = try FileStore.create(at: dir + "/store-\(rep)")
                // psql: its start and connection alone, then the script.
                func runPsql() throws {
                    psqlStart.append(
                        try timed {
                            guard try spawnAndWait(psql, ["-X", "-q", "-d", psqlURL, "-c", "SELECT 1"]) == 0 else {
                                throw BenchError("psql -c 'SELECT 1' failed")
                            }
                        })
                    psqlTimes.append(
                        try timed {
                            let args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", psqlURL, "-f", dir + "/all.sql"]
                            guard try spawnAndWait(psql, args) == 0 else { throw BenchError("psql -f failed") }
                        })
                }
                // migrate up, in process, on a durable file store.
                func runMigrate() throws {
                    var applied = 0
                    migrateTimes.append(
                        try timed {
                            applied = try Migrator(store: store, environment: "bench", actor: "bench")
                                .up(.directory(migrations), targetURL: migrateURL).applied.count
                        })
                    guard applied == n else { throw BenchError("migrate up applied \(applied) of \(n)") }
                }
                // Alternate which goes first, so that a slow stretch of the disk hits both alike.
                if rep % 2 == 1 {
                    try runPsql()
                    try runMigrate()
                } else {
                    try runMigrate()
                    try runPsql()
                }
                overheads.append((migrateTimes.last! - (psqlTimes.last! - psqlStart.last!)) / Double(n))
                // The binary, end to end, against psql's whole run.
                if haveCLI {
                    let cliURL = try server.createDatabase("bench_cli_\(rep)")
                    let cliStore = dir + "/cli-store-\(rep)"
                    let psqlAgainURL = try server.createDatabase("bench_psql_again_\(rep)")
                    let psqlAgain = try timed {
                        let args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", psqlAgainURL, "-f", dir + "/all.sql"]
                        guard try spawnAndWait(psql, args) == 0 else { throw BenchError("psql -f failed") }
                    }
                    cliTimes.append(
                        try timed {
                            let status = try spawnAndWait(
                                cli,
                                [
                                    "--store", cliStore, "migrate", "up", "--env", "bench", "--dir", migrations,
                                    "--target", cliURL,
                                ])
                            guard status == 0 else { throw BenchError("deploylog migrate up exited \(status)") }
                        })
                    cliOverheads.append((cliTimes.last! - psqlAgain) / Double(n))
                }
                note(
                    "migrations: rep \(rep): psql \(ms(psqlTimes.last!)) ms (start \(ms(psqlStart.last!)) ms), "
                        + "migrate up \(ms(migrateTimes.last!)) ms\(haveCLI ? ", cli \(ms(cliTimes.last!)) ms" : "") for \(n) migrations"
                )
            }
            printMilliseconds("psql_per_migration", (median(psqlTimes) - median(psqlStart)) / Double(n))
            printMilliseconds("migrate_up_per_migration", median(migrateTimes) / Double(n))
            printMilliseconds("migrate_overhead_per_migration", median(overheads))
            if haveCLI { printMilliseconds("migrate_cli_overhead_per_migration", median(cliOverheads)) }
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

/// Runs a program with stdin and stdout on /dev/null and waits for it: `posix_spawn` and
/// `waitpid` directly, since Foundation's `Process` notices an exit only some tens of
/// milliseconds late, which would swamp a psql run of a few milliseconds.
func spawnAndWait(_ path: String, _ arguments: [String]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard rc == 0 else { throw BenchError("cannot run \(path): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw BenchError("waitpid \(path): \(String(cString: strerror(errno)))") }
    }
    // WIFEXITED / WEXITSTATUS are C macros.
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}
