import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogTestSupport
import Foundation
import Testing

/// The slow-statement check on a server that has pg_stat_statements loaded (a cluster of its
/// own: the shared test server does not preload it), and on one where the extension is created
/// but not loaded.
@Suite struct BlueGreenHealthCheckTests {
    @Test func slowStatementsComeFromPgStatStatementsMeanExecTime() throws {
        let bin = LocalPostgresCluster.findBinDirectory()
        guard DemoScenario.statStatementsAvailable(binDirectory: bin) else {
            Issue.record(
                "pg_stat_statements is not installed beside \(bin): install postgresql-15 (it ships the extension)")
            return
        }
        let cluster = try LocalPostgresCluster.start(settings: ["shared_preload_libraries": "pg_stat_statements"])
        cluster.stopAtExit()
        defer { cluster.stop() }
        let url = try cluster.createDatabase(named: "checked")
        try cluster.psql("CREATE EXTENSION pg_stat_statements", database: "checked")
        let c = try PostgresConnection(url)
        try c.query("SELECT pg_sleep(0.05)")
        c.close()

        let relaxed = HealthChecker.run(
            url: url, options: HealthCheckOptions(query: "SELECT 1", slowStatementMs: 60_000))
        #expect(relaxed.map(\.status) == [.pass, .pass, .pass])
        #expect(relaxed[2].detail == "no statement with mean_exec_time above 60000 ms")

        let strict = HealthChecker.run(url: url, options: HealthCheckOptions(query: "SELECT 1", slowStatementMs: 20))
        #expect(strict[2].name == "slow_statements")
        #expect(strict[2].status == .warning)
        #expect(strict[2].detail?.contains("with mean_exec_time above 20 ms (slowest") == true)
        // Slow statements warn; they do not make the database unhealthy.
        #expect(HealthChecker.isHealthy(strict))

        // Created in a database of the shared server, which does not preload it: a WARNING too.
        let shared = try PostgresServer.shared()
        let other = try shared.createDatabase(prefix: "stat_unloaded")
        try LocalPostgresCluster.psql(
            "CREATE EXTENSION pg_stat_statements", url: other, binDirectory: shared.binDirectory)
        let unloaded = HealthChecker.run(url: other, options: HealthCheckOptions())
        #expect(unloaded[2].status == .warning)
        #expect(unloaded[2].detail?.hasPrefix("pg_stat_statements unreadable") == true)
        #expect(HealthChecker.isHealthy(unloaded))
        if shared.isExternal { try? shared.dropDatabase(url: other) }
    }
}
