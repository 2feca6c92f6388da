import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import Foundation
import XCTest

@testable import DeployLogProjectionSink

/// What the sink must not do to the people reading the read model: queue them behind a
/// catch-up, answer from another schema's tables, take their privileges or their views away
/// on a swap, show a REPEATABLE READ reader empty tables; and `--only` must not fail on rows
/// that reference a projector left behind.
final class SinkSafetyTests: SinkTestCase {
    /// How many of `deploylog_read_next` and `deploylog_read_old` exist.
    static func shadowSchemas(on c: PostgresConnection) throws -> Int64 {
        try c.query("SELECT count(*) FROM pg_namespace WHERE nspname IN ('deploylog_read_next', 'deploylog_read_old')")[0]
            .int64(0)
    }

    /// A catch-up runs the read model's SQL only when it changed (the schema's comment says
    /// which SQL made it): a reader holding a view open does not make it wait. With the SQL run
    /// every time, `CREATE OR REPLACE VIEW` would wait for the reader's lock and time out here.
    func testCatchUpDoesNotWaitForAReaderOfTheViews() throws {
        let history = try Self.recentHistory(pipelines: 30)
        try append(history.prefix(history.count / 2))
        try sink().rebuild()
        try append(history.dropFirst(history.count / 2))

        let reader = try self.reader()
        try reader.execute(script: "BEGIN")
        XCTAssertEqual(try reader.query("SELECT count(*) FROM deployment_metrics").count, 1)
        let writer = try sink()
        try writer.connection.execute(script: "SET lock_timeout = '3s'")
        let report = try writer.catchUp()
        XCTAssertTrue(report.entries.contains { if case .caughtUp = $0.action { true } else { false } })
        try reader.execute(script: "COMMIT")
        XCTAssertEqual(try checkpoints(on: try connect())["pipelines"]?.position, try store.head().position)

        // A schema without the comment (made by an older build) has the SQL run again.
        let c = try connect()
        try c.execute(script: "COMMENT ON SCHEMA deploylog_read IS NULL")
        try sink().catchUp()
        let comment = try c.query(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'deploylog_read'")
        XCTAssertEqual(try comment[0].string(0), "deploylog read model " + ProjectionSQL.version)
    }

    /// `get_deployment_health()` reads the read schema's tables and runs in UTC whatever the
    /// caller's `search_path` and TimeZone: here a decoy `public.deployment_pipelines` and a
    /// caller in Los Angeles get the same document as a reader of the schema, before and
    /// after a zero-downtime swap.
    func testTheHealthFunctionReadsItsOwnSchemaInUTC() throws {
        try append(Self.recentHistory(pipelines: 40, daysAgo: 20))
        try sink().rebuild()
        let expected = try reader().query("SELECT get_deployment_health()::text")[0].string(0)
        XCTAssertTrue(expected.contains("\"environment\": \"production\""), expected)

        let caller = try connect()
        try caller.execute(
            script: """
                CREATE TABLE public.deployment_pipelines (LIKE deploylog_read.deployment_pipelines);
                SET search_path = public;
                SET TimeZone = 'America/Los_Angeles'
                """)
        for round in 1...2 {
            XCTAssertEqual(
                try caller.query("SELECT deploylog_read.get_deployment_health()::text")[0].string(0), expected,
                "round \(round)")
            try sink().rebuildWithoutDowntime()
        }
    }

    /// Privileges granted on the schema, a table, a view and the function survive a
    /// zero-downtime swap (granted again on the shadow's namesakes).
    func testAZeroDowntimeSwapKeepsWhatWasGranted() throws {
        try append(Self.recentHistory(pipelines: 10))
        try sink().rebuild()
        let c = try connect()
        let role = "deploylog_reporting_" + UUID().uuidString.lowercased().prefix(8)
        let quoted = try PostgresIdentifier.quote(role)
        try c.execute(
            script: """
                CREATE ROLE \(quoted) NOLOGIN;
                GRANT USAGE ON SCHEMA deploylog_read TO \(quoted);
                GRANT SELECT ON deploylog_read.deployment_pipelines, deploylog_read.deployment_metrics TO \(quoted) WITH GRANT OPTION;
                REVOKE EXECUTE ON FUNCTION deploylog_read.get_deployment_health() FROM PUBLIC;
                GRANT EXECUTE ON FUNCTION deploylog_read.get_deployment_health() TO \(quoted)
                """)
        defer { _ = try? c.execute(script: "DROP OWNED BY \(quoted); DROP ROLE \(quoted)") }
        func privileges() throws -> [Bool] {
            let row = try c.query(
                """
                SELECT has_schema_privilege($1, 'deploylog_read', 'USAGE'),
                    has_table_privilege($1, 'deploylog_read.deployment_pipelines', 'SELECT WITH GRANT OPTION'),
                    has_table_privilege($1, 'deploylog_read.deployment_metrics', 'SELECT'),
                    has_table_privilege($1, 'deploylog_read.deployment_stages', 'SELECT'),
                    has_function_privilege($1, 'deploylog_read.get_deployment_health()', 'EXECUTE')
                """, [.text(role)])[0]
            return try (0..<5).map { try row.bool($0) }
        }
        XCTAssertEqual(try privileges(), [true, true, true, false, true])
        try sink().rebuildWithoutDowntime()
        XCTAssertEqual(try privileges(), [true, true, true, false, true])
    }

    /// A view of another schema on the read model's tables would be dropped with the old
    /// tables: the zero-downtime rebuild refuses, names it, and changes nothing.
    func testAZeroDowntimeRebuildRefusesToDropAnotherSchemasView() throws {
        try append(Self.recentHistory(pipelines: 10))
        try sink().rebuild()
        let c = try connect()
        try c.execute(
            script: """
                CREATE SCHEMA reports;
                CREATE VIEW reports.pipeline_count AS SELECT count(*) AS n FROM deploylog_read.deployment_pipelines
                """)
        let before = try c.query("SELECT n FROM reports.pipeline_count")[0].int64(0)
        XCTAssertThrowsError(try sink().rebuildWithoutDowntime()) { error in
            let e = error as? ProjectionSinkError
            XCTAssertEqual(e?.code, .conflict, "\(error)")
            XCTAssertTrue(e?.message.contains("view reports.pipeline_count") == true, "\(error)")
            XCTAssertTrue(e?.message.contains("deploylog_read.deployment_pipelines") == true, "\(error)")
        }
        XCTAssertEqual(try c.query("SELECT n FROM reports.pipeline_count")[0].int64(0), before)
        XCTAssertEqual(try Self.shadowSchemas(on: c), 0)
        try sink().rebuild()  // a plain rebuild keeps the tables, and the view with them
        XCTAssertEqual(try c.query("SELECT n FROM reports.pipeline_count")[0].int64(0), before)
    }

    /// Someone's own view and index inside the read schema would go with the old schema: the
    /// swap refuses, names them, and leaves everything as it was (no shadow left behind).
    func testAZeroDowntimeRebuildRefusesToDropObjectsMadeInsideTheSchema() throws {
        try append(Self.recentHistory(pipelines: 10))
        try sink().rebuild()
        let c = try connect()
        try c.execute(
            script: """
                CREATE VIEW deploylog_read.my_counts AS SELECT count(*) AS n FROM deploylog_read.deployment_stages;
                CREATE INDEX my_stage_names ON deploylog_read.deployment_stages (stage_name)
                """)
        let checkpointsBefore = try checkpoints(on: c)
        XCTAssertThrowsError(try sink().rebuildWithoutDowntime()) { error in
            let e = error as? ProjectionSinkError
            XCTAssertEqual(e?.code, .conflict, "\(error)")
            XCTAssertTrue(
                e?.message.hasPrefix("index deploylog_read.my_stage_names, view deploylog_read.my_counts are not part of the read model") == true,
                "\(error)")
        }
        XCTAssertGreaterThan(try c.query("SELECT n FROM deploylog_read.my_counts")[0].int64(0), 0)
        XCTAssertEqual(try checkpoints(on: c), checkpointsBefore)
        XCTAssertEqual(try Self.shadowSchemas(on: c), 0)
        // A plain rebuild keeps both (the index set aside while the table loads, then rebuilt).
        try sink().rebuild()
        XCTAssertGreaterThan(try c.query("SELECT n FROM deploylog_read.my_counts")[0].int64(0), 0)
        XCTAssertEqual(
            try c.query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'deploylog_read' AND indexname = 'my_stage_names'")[0].int64(0), 1)
    }

    /// A `<schema>_old` left behind (a crash after the swap, or a reader still in the old
    /// tables when it ended) is dropped by the next operation of any kind, which does not wait
    /// for a reader still in it: it leaves it for a later one.
    func testLeftoverSchemasAreDroppedByTheNextOperationWithoutWaiting() throws {
        try append(Self.recentHistory(pipelines: 10))
        try sink().rebuild()
        let c = try connect()
        try c.execute(
            script: """
                CREATE SCHEMA deploylog_read_old; CREATE TABLE deploylog_read_old.t (x int);
                COMMENT ON SCHEMA deploylog_read_old IS '\(ProjectionSink.readModelComment)'
                """)
        func leftovers() throws -> Int64 {
            try c.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'deploylog_read_old'")[0].int64(0)
        }
        let reader = try connect()
        try reader.execute(script: "BEGIN; SELECT * FROM deploylog_read_old.t")
        let started = Date()
        try sink().catchUp()
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the catch-up waited for the reader")
        XCTAssertEqual(try leftovers(), 1)
        try reader.execute(script: "COMMIT")
        try sink().catchUp()
        XCTAssertEqual(try leftovers(), 0)
    }

    /// A schema of someone's own named like the sink's leftovers (`<schema>_old`,
    /// `<schema>_next`, without the sink's comment) is not the sink's to drop: it survives a
    /// catch-up and a rebuild.
    func testSchemasOfTheirOwnNamedLikeLeftoversAreLeftAlone() throws {
        try append(Self.recentHistory(pipelines: 10))
        let c = try connect()
        try sink(schema: "analytics").rebuild()
        try c.execute(
            script: """
                CREATE SCHEMA analytics_old; CREATE TABLE analytics_old.kept AS SELECT generate_series(1, 3) AS n;
                CREATE SCHEMA analytics_next; CREATE TABLE analytics_next.kept AS SELECT generate_series(1, 5) AS n
                """)
        func kept() throws -> [Int64] {
            try ["analytics_old", "analytics_next"].map { try c.query("SELECT count(*) FROM \($0).kept")[0].int64(0) }
        }
        try sink(schema: "analytics").catchUp()
        XCTAssertEqual(try kept(), [3, 5], "after catch-up")
        try sink(schema: "analytics").rebuild()
        XCTAssertEqual(try kept(), [3, 5], "after rebuild")
        XCTAssertEqual(try checkpoints(schema: "analytics", on: c).count, SinkProjector.allCases.count)
    }

    /// A zero-downtime rebuild needs `<schema>_next` and `<schema>_old`: while either is a
    /// schema of someone's own it refuses (`.conflict`, naming it) and changes nothing, neither
    /// that schema nor the live one.
    func testAZeroDowntimeRebuildRefusesWhileTheNamesItNeedsAreTaken() throws {
        let history = try Self.recentHistory(pipelines: 10)
        try append(history.prefix(history.count / 2))
        try sink(schema: "analytics").rebuild()
        try append(history.dropFirst(history.count / 2))
        let c = try connect()
        let p = try Projections.fold(store)  // (for its tables' names and columns)
        let rowsBefore = try actualRows(p, schema: "analytics", on: c)
        let checkpointsBefore = try checkpoints(schema: "analytics", on: c)
        for taken in ["analytics_next", "analytics_old"] {
            try c.execute(
                script: "CREATE SCHEMA \(taken); CREATE TABLE \(taken).kept AS SELECT generate_series(1, 4) AS n")
            XCTAssertThrowsError(try sink(schema: "analytics").rebuildWithoutDowntime(), taken) { error in
                let e = error as? ProjectionSinkError
                XCTAssertEqual(e?.code, .conflict, "\(error)")
                XCTAssertTrue(
                    e?.message.hasPrefix("schema \(taken) exists and was not made by the projection sink") == true,
                    "\(error)")
                XCTAssertTrue(e?.message.contains("zero-downtime rebuild of analytics") == true, "\(error)")
            }
            XCTAssertEqual(try c.query("SELECT count(*) FROM \(taken).kept")[0].int64(0), 4, taken)
            XCTAssertEqual(try checkpoints(schema: "analytics", on: c), checkpointsBefore, taken)
            XCTAssertEqual(try actualRows(p, schema: "analytics", on: c), rowsBefore, taken)
            let schemas = try c.query(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'analytics%' ORDER BY 1")
            XCTAssertEqual(try schemas.map { try $0.string(0) }, ["analytics", taken], taken)
            try c.execute(script: "DROP SCHEMA \(taken) CASCADE")
        }
        try sink(schema: "analytics").rebuildWithoutDowntime()  // with the names free, it goes ahead
        XCTAssertEqual(try checkpoints(schema: "analytics", on: c)["pipelines"]?.position, try store.head().position)
    }

    /// What the sink makes under those names is marked as its own from the start and dropped
    /// as a leftover: a shadow left by a zero-downtime rebuild interrupted after building it,
    /// or before its swap committed; and the old schema a swap retired (here one made before
    /// schemas were marked), left behind because a reader still held its tables.
    func testLeftoversOfTheSinksOwnAreMarkedAndDropped() throws {
        try append(Self.recentHistory(pipelines: 10))
        try sink().rebuild()
        let c = try connect()
        func comment(_ schema: String) throws -> String? {
            let rows = try c.query(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1", [.text(schema)])
            guard let row = rows.first else { return nil }
            return try row.isNull(0) ? "" : row.string(0)
        }
        for step in ["shadow built", "before swap"] {
            let interrupted = try sink()
            interrupted.faultHook = { if $0 == step { throw InjectedFailure() } }
            XCTAssertThrowsError(try interrupted.rebuildWithoutDowntime(), step)
            XCTAssertEqual(try comment("deploylog_read_next"), ProjectionSink.readModelComment, step)
            try sink().catchUp()
            XCTAssertNil(try comment("deploylog_read_next"), step)
        }

        try c.execute(script: "COMMENT ON SCHEMA deploylog_read IS NULL")
        let reader = try connect()
        try reader.execute(script: "BEGIN; SELECT count(*) FROM deploylog_read.deployment_pipelines")
        try sink().rebuildWithoutDowntime()  // waits 5 s for the reader, then leaves the old schema
        XCTAssertEqual(try comment("deploylog_read_old"), ProjectionSink.readModelComment)
        try reader.execute(script: "COMMIT")
        try sink().catchUp()
        XCTAssertEqual(try Self.shadowSchemas(on: c), 0)
    }

    /// A reader in one REPEATABLE READ transaction, its snapshot taken before a rebuild or a
    /// swap, then reading the tables after it, finds the new rows (written frozen), not empty
    /// tables.
    func testAReaderWhoseSnapshotPredatesARebuildSeesItsRows() throws {
        try append(Self.recentHistory(pipelines: 20))
        try sink().rebuild()
        let expected = try connect().query("SELECT count(*) FROM deploylog_read.deployment_stages")[0].int64(0)
        XCTAssertGreaterThan(expected, 0)
        for zeroDowntime in [false, true] {
            let reader = try connect()
            try reader.execute(script: "BEGIN ISOLATION LEVEL REPEATABLE READ")
            _ = try reader.query("SELECT 1")
            if zeroDowntime { try sink().rebuildWithoutDowntime() } else { try sink().rebuild() }
            let seen = try reader.query("SELECT count(*) FROM deploylog_read.deployment_stages")[0].int64(0)
            XCTAssertEqual(seen, expected, zeroDowntime ? "after a swap" : "after a rebuild")
            try reader.execute(script: "COMMIT")
        }
    }

    /// A log written before the catalog bounded `environment` may hold a pipeline whose
    /// environment is too long for `deployment_pipelines.environment VARCHAR(20)`: the rebuild
    /// and the catch-up name the column, the row and the event, and write nothing.
    func testAValueTooLongForItsColumnIsNamedWithItsEvent() throws {
        let history = try Self.recentHistory(pipelines: 10)
        try append(history)
        try sink().rebuild()
        let before = try checkpoints(on: try connect())
        let started = try XCTUnwrap(history.first { $0.type == "PipelineStarted" })
        var data = try XCTUnwrap(started.data.objectValue)
        data["pipelineId"] = "long"
        data["environment"] = "production-eu-central-1"
        var long = ProposedEvent(
            stream: "pipeline-long", type: "PipelineStarted", data: .object(data), metadata: started.metadata)
        long.occurredAt = started.occurredAt
        let position = try store.append([long]).positions[0]  // the store itself does not validate
        for operation in ["rebuild", "catch-up"] {
            XCTAssertThrowsError(try operation == "rebuild" ? sink().rebuild() : sink().catchUp()) { error in
                let e = error as? ProjectionSinkError
                XCTAssertEqual(e?.code, .valueTooLong, "\(error)")
                XCTAssertTrue(e?.message.hasPrefix("deployment_pipelines.environment is VARCHAR(20), but a row") == true, "\(error)")
                XCTAssertTrue(e?.message.contains("position \(position) holds 23 characters") == true, "\(error)")
            }
            XCTAssertEqual(try checkpoints(on: try connect()), before, operation)
        }
    }

    /// `--only rollbacks` on a database whose pipelines are missing or behind: the rollbacks'
    /// rows name pipelines, so the pipelines are rebuilt with them (and said why); once the
    /// pipelines are at the head, only the rollbacks are.
    func testOnlyRollbacksBringsThePipelinesTheyReferenceAlong() throws {
        let history = try Self.recentHistory(pipelines: 80)
        try append(history)
        let p = try Projections.fold(store)
        XCTAssertTrue(
            p.rollbacks.tables.contains { !$0.rows.isEmpty }, "the history needs rollbacks for this test")

        let first = try sink().rebuild(only: [.rollbacks])
        XCTAssertEqual(first.entries.map(\.projector), [.pipelines, .rollbacks])
        guard case .rebuilt(let reason) = first.entries[0].action else { return XCTFail("\(first.entries[0])") }
        XCTAssertTrue(reason.contains("behind the log"), reason)
        let c = try connect()
        let actual = try actualRows(p, on: c)
        let expected = Self.expectedRows(p)
        for name in ["deployment_pipelines", "deployment_stages", "deployment_rollbacks"] {
            XCTAssertEqual(actual[name], expected[name], name)
        }
        let again = try sink().rebuild(only: [.rollbacks])
        XCTAssertEqual(again.entries.map(\.projector), [.rollbacks])
    }
}
