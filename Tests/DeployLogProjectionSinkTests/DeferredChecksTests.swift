import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import XCTest

@testable import DeployLogProjectionSink

/// The load sets a table's foreign keys and plain indexes aside while COPY fills it
/// (`DeferredChecks`): the tables end with exactly the constraints and indexes that
/// `projections/*.sql` makes, and the foreign keys still refuse a row that references nothing.
final class DeferredChecksTests: SinkTestCase {
    /// Every constraint and index of a schema: table, name, definition.
    private func catalog(_ schema: String, on c: PostgresConnection) throws -> [String] {
        let constraints = try c.query(
            """
            SELECT t.relname::text || ' ' || k.conname::text || ' '
                || replace(pg_get_constraintdef(k.oid), $1 || '.', '') || ' ' || k.convalidated::text
            FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = $1 ORDER BY 1
            """, [.text(schema)]
        ).map { try $0.string(0) }
        let indexes = try c.query(
            """
            SELECT t.relname::text || ' ' || replace(pg_get_indexdef(i.indexrelid), $1 || '.', '') || ' ' || i.indisvalid::text
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = $1 ORDER BY 1
            """, [.text(schema)]
        ).map { try $0.string(0) }
        return constraints + indexes
    }

    func testTablesKeepTheirConstraintsAndIndexesAndForeignKeysStillRefuse() throws {
        try append(Self.recentHistory(pipelines: 60))
        let c = try connect()
        // The read model as the SQL alone makes it, in a schema of its own.
        let plain = try sink(schema: "deploylog_plain")
        try c.transaction { c in try plain.createReadModel(in: "deploylog_plain", always: true, on: c) }
        let expected = try catalog("deploylog_plain", on: c)
        XCTAssertTrue(expected.contains { $0.contains("FOREIGN KEY (pipeline_id)") }, "\(expected)")
        XCTAssertTrue(expected.contains { $0.contains("deployment_stages_pipeline") }, "\(expected)")

        try sink().rebuild()
        XCTAssertEqual(try catalog(ProjectionSink.defaultSchema, on: c), expected)
        try sink().rebuild(only: [.rollbacks])
        XCTAssertEqual(try catalog(ProjectionSink.defaultSchema, on: c), expected)
        try sink().rebuildWithoutDowntime()
        XCTAssertEqual(try catalog(ProjectionSink.defaultSchema, on: c), expected)

        // A pipeline that rollbacks reference, deleted by hand: reloading the rollbacks alone,
        // the foreign key (added back after the COPY) refuses their rows, and the rebuild
        // leaves the tables and checkpoints as they were.
        let referenced = try c.query(
            "SELECT pipeline_id FROM deploylog_read.deployment_rollbacks WHERE pipeline_id IS NOT NULL LIMIT 1")
        let id = try XCTUnwrap(referenced.first).int64(0)
        try c.query("DELETE FROM deploylog_read.deployment_rollbacks WHERE pipeline_id = $1", [.int8(id)])
        try c.query("DELETE FROM deploylog_read.deployment_stages WHERE pipeline_id = $1", [.int8(id)])
        try c.query("DELETE FROM deploylog_read.deployment_pipelines WHERE id = $1", [.int8(id)])
        let p = try Projections.fold(store)
        let rowsBefore = try actualRows(p, on: c)
        let checkpointsBefore = try checkpoints(on: c)
        XCTAssertThrowsError(try sink().rebuild(only: [.rollbacks])) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "23503", "\(error)")
            XCTAssertTrue("\(error)".contains("deployment_rollbacks_pipeline_id_fkey"), "\(error)")
        }
        XCTAssertEqual(try actualRows(p, on: c), rowsBefore)
        XCTAssertEqual(try checkpoints(on: c), checkpointsBefore)
        XCTAssertEqual(try catalog(ProjectionSink.defaultSchema, on: c), expected)
    }
}
