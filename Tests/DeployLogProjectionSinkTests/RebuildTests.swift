import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import XCTest

@testable import DeployLogProjectionSink

/// Full rebuilds: the tables hold the projectors' rows, the seed's views agree with
/// `deploylog metrics`, and a failure leaves the previous rows and checkpoints.
final class RebuildTests: SinkTestCase {
    func testFullRebuildWritesEveryRowOfEveryProjectorAndTheCheckpoints() throws {
        try append(Self.recentHistory(pipelines: 60))
        let report = try sink().rebuild()
        let head = try store.head()
        XCTAssertEqual(report.head, head)
        XCTAssertEqual(report.entries.map(\.projector), SinkProjector.allCases)

        let p = try Projections.fold(store)
        let c = try connect()
        let expected = Self.expectedRows(p)
        let actual = try actualRows(p, on: c)
        XCTAssertEqual(Set(actual.keys), Set(SinkProjector.allCases.flatMap(\.tableNames)))
        for (name, rows) in expected {
            XCTAssertFalse(rows.isEmpty, "\(name) should have rows")
            XCTAssertEqual(actual[name]?.count, rows.count, "\(name): row count")
        }
        // A few whole rows, then all of them.
        for name in ["deployment_pipelines", "deployment_stages", "deployment_migrations", "environment_configs"] {
            let rows = try XCTUnwrap(expected[name])
            for i in [0, rows.count / 2, rows.count - 1] {
                XCTAssertEqual(actual[name]?[i], rows[i], "\(name) row \(i)")
            }
        }
        XCTAssertEqual(actual, expected)

        let checkpoints = try self.checkpoints(on: c)
        XCTAssertEqual(Set(checkpoints.keys), Set(SinkProjector.allCases.map(\.name)))
        for cp in checkpoints.values {
            XCTAssertEqual(cp.position, head.position)
            XCTAssertEqual(cp.hash, head.hash)
        }
    }

    /// The seed's `deployment_metrics` view text, verbatim (as projections/metrics.sql holds it
    /// and as a query of its own), on the projected tables, against MetricsReport as of the
    /// database's now().
    func testSeedMetricsViewAgreesWithMetricsReportAsOfTheDatabasesNow() throws {
        try append(Self.recentHistory(pipelines: 120))
        try sink().rebuild()
        let sql = try ProjectionSQL.text(of: "metrics.sql")
        let viewStart = try XCTUnwrap(sql.range(of: "CREATE OR REPLACE VIEW deployment_metrics AS\n"))
        let viewEnd = try XCTUnwrap(sql[viewStart.upperBound...].firstIndex(of: ";"))
        let seedQuery = String(sql[viewStart.upperBound..<viewEnd])
        XCTAssertTrue(seedQuery.hasPrefix("SELECT \n    environment,\n    COUNT(*) as total_deployments,"))

        let metrics = try Projections.fold(MetricsProjector.self, store)
        let c = try reader()  // TimeZone comes from the database's default, which the sink set
        XCTAssertEqual(try c.query("SHOW TimeZone")[0].string(0), "UTC")
        try c.transaction { c in
            let now = try c.query("SELECT now()")[0].timestamp(0)
            let report = MetricsReport(metrics, asOf: Timestamp(microsecondsSinceEpoch: now), windowDays: 30)
            XCTAssertEqual(report.environments.count, 3)
            for query in ["SELECT * FROM deployment_metrics", seedQuery] {
                let rows = try c.query(query)
                XCTAssertEqual(rows.count, report.environments.count, query)
                for (row, m) in zip(rows, report.environments) {
                    XCTAssertEqual(try row.string(0), m.environment)
                    XCTAssertEqual(try row.int(1), m.totalDeployments, m.environment)
                    XCTAssertEqual(try row.int(2), m.successfulDeployments, m.environment)
                    XCTAssertEqual(try row.int(3), m.failedDeployments, m.environment)
                    XCTAssertEqual(try row.int(4), m.rolledBackDeployments, m.environment)
                    XCTAssertEqual(Double(try row.get(5, as: String.self)), m.successRate, m.environment)
                    let avg = try XCTUnwrap(Double(try row.get(6, as: String.self)))
                    XCTAssertEqual(avg, try XCTUnwrap(m.avgDeploymentTimeSeconds), accuracy: 0.001, m.environment)
                    let max = try XCTUnwrap(Double(try row.get(7, as: String.self)))
                    XCTAssertEqual(max, try XCTUnwrap(m.maxDeploymentTimeSeconds), accuracy: 0.001, m.environment)
                }
            }
            // deployment_performance: every pipeline with a terminal event, newest first.
            let performance = try c.query(
                "SELECT pipeline_name, status, performance_category FROM deployment_performance")
            let expected = metrics.tables(asOf: Timestamp(microsecondsSinceEpoch: now))[1]
            XCTAssertEqual(performance.count, expected.rows.count)
            for (i, row) in performance.enumerated() where i < 20 {
                XCTAssertEqual(try row.string(2), expected.value("performance_category", row: i)?.stringValue)
            }
        }
    }

    func testDeploymentHealthRunsAndHasTheSeedsKeys() throws {
        try append(Self.recentHistory(pipelines: 60))
        try sink().rebuild()
        let c = try reader()
        let doc = try JSONParser.parse(try c.query("SELECT get_deployment_health()")[0].string(0))
        let o = try XCTUnwrap(doc.objectValue)
        XCTAssertEqual(Set(o.keys), ["deployment_health", "environment_status", "recent_rollbacks"])
        let health = try XCTUnwrap(o["deployment_health"]?.objectValue)
        XCTAssertEqual(
            Set(health.keys),
            [
                "total_deployments_today", "successful_deployments_today", "failed_deployments_today",
                "active_deployments", "avg_deployment_time_minutes",
            ])
        let environments = try XCTUnwrap(o["environment_status"]?.arrayValue)
        XCTAssertEqual(
            environments.compactMap { $0.objectValue?["environment"]?.stringValue },
            ["development", "production", "staging"])
        XCTAssertNotNil(o["recent_rollbacks"]?.arrayValue)
    }

    func testOnlyRebuildsOneProjectorAndThoseReferencingIt() throws {
        let history = try Self.recentHistory(pipelines: 40)
        try append(history.prefix(history.count / 2))
        try sink().rebuild()
        let first = try store.head()
        try append(history.dropFirst(history.count / 2))
        let head = try store.head()

        let report = try sink().rebuild(only: [.environments])
        XCTAssertEqual(report.entries.map(\.projector), [.environments])
        let pipelines = try sink().rebuild(only: [.pipelines])
        XCTAssertEqual(pipelines.entries.map(\.projector), [.pipelines, .rollbacks])
        try sink().rebuild(only: [.metrics])

        let c = try connect()
        let checkpoints = try self.checkpoints(on: c)
        for p in SinkProjector.allCases {
            let expected = [.environments, .pipelines, .rollbacks, .metrics].contains(p) ? head : first
            XCTAssertEqual(checkpoints[p.name]?.position, expected.position, p.name)
            XCTAssertEqual(checkpoints[p.name]?.hash, expected.hash, p.name)
        }
        let p = try Projections.fold(store)
        let actual = try actualRows(p, on: c)
        let expected = Self.expectedRows(p)
        for name in ["deployment_pipelines", "deployment_stages", "deployment_rollbacks", "environment_configs"] {
            XCTAssertEqual(actual[name], expected[name], name)
        }
    }

    /// An error injected after the first tables were loaded, then a connection killed mid-load:
    /// both times the previous rows and checkpoints are what a reader sees.
    func testAFailureMidLoadLeavesThePreviousRowsAndCheckpoints() throws {
        let history = try Self.recentHistory(pipelines: 40)
        try append(history.prefix(history.count / 2))
        try sink().rebuild()
        let before = try Projections.fold(store)
        let c = try connect()
        let rowsBefore = try actualRows(before, on: c)
        let checkpointsBefore = try checkpoints(on: c)
        try append(history.dropFirst(history.count / 2))

        // An error after deployment_stages was loaded.
        let failing = try sink()
        failing.faultHook = { step in if step == "loaded deployment_stages" { throw InjectedFailure() } }
        XCTAssertThrowsError(try failing.rebuild()) { XCTAssertTrue($0 is InjectedFailure, "\($0)") }
        XCTAssertEqual(try actualRows(before, on: c), rowsBefore)
        XCTAssertEqual(try checkpoints(on: c), checkpointsBefore)

        // The sink's connection killed by the server after deployment_migrations was loaded.
        let killed = try sink()
        let pid = killed.connection.backendPID
        killed.faultHook = { step in
            if step == "loaded deployment_migrations" {
                try c.query("SELECT pg_terminate_backend($1)", [.int4(pid)])
            }
        }
        XCTAssertThrowsError(try killed.rebuild()) { error in
            XCTAssertEqual((error as? PostgresError)?.kind, .connection, "\(error)")
        }
        XCTAssertEqual(try actualRows(before, on: c), rowsBefore)
        XCTAssertEqual(try checkpoints(on: c), checkpointsBefore)

        // And the next rebuild succeeds.
        try sink().rebuild()
        let after = try Projections.fold(store)
        XCTAssertEqual(try actualRows(after, on: c), Self.expectedRows(after))
    }

    func testASecondSinkOnTheSameSchemaIsRefused() throws {
        try append(Self.recentHistory(pipelines: 5))
        let first = try sink()
        let second = try sink()
        first.faultHook = { step in
            guard step == "before commit" else { return }
            XCTAssertThrowsError(try second.rebuild()) { error in
                XCTAssertEqual((error as? ProjectionSinkError)?.code, .busy, "\(error)")
            }
        }
        try first.rebuild()
        try second.rebuild()  // the lock is released
    }
}
