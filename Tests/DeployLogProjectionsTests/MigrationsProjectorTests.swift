import DeployLogEvents
import DeployLogProjections
import XCTest

/// `deployment_migrations` (per environment) and `deployment_execution_logs` from
/// hand-written events.
final class MigrationsProjectorTests: XCTestCase {
    private static let createCameras: JSONValue = [
        "name": "001_create_cameras", "version": "20261101001", "migrationType": "schema",
        "sql": "CREATE TABLE cameras (id SERIAL PRIMARY KEY)", "rollbackSql": "DROP TABLE cameras",
        "dependencies": [], "checksum": "c1", "transactional": true,
    ]

    private func log() -> EventLog {
        var log = EventLog()
        var staging = Self.createCameras.objectValue!
        staging["environment"] = "staging"
        var production = staging
        production["environment"] = "production"
        log.add("migrations-staging", "MigrationRegistered", "09:00:00", .object(staging))  // 1
        log.add("migrations-production", "MigrationRegistered", "09:00:01", .object(production))  // 2
        log.add(
            "migrations-staging", "MigrationRegistered", "09:00:02",
            [
                "environment": "staging", "name": "002_counts_index", "version": "20261101002",
                "migrationType": "index", "sql": "CREATE INDEX CONCURRENTLY idx_counts ON counts (camera_id)",
                "dependencies": ["001_create_cameras"], "checksum": "c2", "transactional": false,
            ])  // 3
        log.add(
            "migrations-staging", "MigrationStarted", "10:00:00",
            ["environment": "staging", "name": "001_create_cameras", "deploymentId": "p1"])  // 4
        log.add(
            "migrations-staging", "MigrationApplied", "10:00:02",
            [
                "environment": "staging", "name": "001_create_cameras", "deploymentId": "p1", "executionTimeMs": 1500,
                "appliedBy": "staging_user",
            ])  // 5
        log.add(
            "migrations-staging", "MigrationStarted", "10:00:03",
            ["environment": "staging", "name": "002_counts_index", "deploymentId": "p1"])  // 6
        log.add(
            "migrations-staging", "MigrationFailed", "10:00:33",
            [
                "environment": "staging", "name": "002_counts_index", "deploymentId": "p1", "executionTimeMs": 30000,
                "error": "ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)",
            ])  // 7
        log.add(
            "migrations-staging", "MigrationRolledBack", "10:05:00",
            [
                "environment": "staging", "name": "001_create_cameras", "deploymentId": "p1", "rollbackId": "rb-1",
                "executionTimeMs": 120,
            ])  // 8
        log.add(
            "migrations-production", "MigrationStarted", "11:00:00",
            ["environment": "production", "name": "001_create_cameras", "deploymentId": "p2"])  // 9
        log.add(
            "migrations-production", "MigrationApplied", "11:00:01",
            [
                "environment": "production", "name": "001_create_cameras", "deploymentId": "p2",
                "executionTimeMs": 900, "appliedBy": "prod_user",
            ])  // 10
        return log
    }

    private let camerasStaging = row([
        "id": 1, "migration_name": "001_create_cameras", "migration_version": "20261101001", "migration_type": "schema",
        "migration_sql": "CREATE TABLE cameras (id SERIAL PRIMARY KEY)", "rollback_sql": "DROP TABLE cameras",
        "dependencies": [], "is_applied": false, "applied_at": nil, "applied_by": nil, "execution_time_ms": nil,
        "status": "pending", "error_message": nil, "created_at": cell("09:00:00"), "environment": "staging",
        "checksum": "c1", "transactional": true, "deployment_id": nil, "last_position": 1,
    ])

    func testMigrationLifecyclePerEnvironment() throws {
        let log = log()
        // Registered: pending, one row per environment for the same name.
        var camerasProduction = camerasStaging
        camerasProduction["id"] = 2
        camerasProduction["environment"] = "production"
        camerasProduction["created_at"] = cell("09:00:01")
        camerasProduction["last_position"] = 2
        let index = row([
            "id": 3, "migration_name": "002_counts_index", "migration_version": "20261101002", "migration_type": "index",
            "migration_sql": "CREATE INDEX CONCURRENTLY idx_counts ON counts (camera_id)", "rollback_sql": nil,
            "dependencies": ["001_create_cameras"], "is_applied": false, "applied_at": nil, "applied_by": nil,
            "execution_time_ms": nil, "status": "pending", "error_message": nil, "created_at": cell("09:00:02"),
            "environment": "staging", "checksum": "c2", "transactional": false, "deployment_id": nil,
            "last_position": 3,
        ])
        func rows(_ n: Int) -> [JSONObject]? {
            table("deployment_migrations", in: log.fold(MigrationsProjector.self, first: n).tables)?.objects
        }
        XCTAssertEqual(rows(3), [camerasStaging, camerasProduction, index])

        // Started: running.
        var running = camerasStaging
        running["status"] = "running"
        running["deployment_id"] = "p1"
        running["last_position"] = 4
        XCTAssertEqual(rows(4), [running, camerasProduction, index])

        // Applied: completed, applied_at its occurredAt, by and how long.
        var applied = running
        applied["status"] = "completed"
        applied["is_applied"] = true
        applied["applied_at"] = cell("10:00:02")
        applied["applied_by"] = "staging_user"
        applied["execution_time_ms"] = 1500
        applied["last_position"] = 5
        XCTAssertEqual(rows(5), [applied, camerasProduction, index])

        // The index fails: failed with the error, never applied.
        var failed = index
        failed["status"] = "failed"
        failed["error_message"] = "ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)"
        failed["execution_time_ms"] = 30000
        failed["deployment_id"] = "p1"
        failed["last_position"] = 7
        XCTAssertEqual(rows(7), [applied, camerasProduction, failed])

        // Rolled back: no longer applied, applied_at cleared (as the seed's execute_rollback does).
        var rolledBack = applied
        rolledBack["status"] = "rolled_back"
        rolledBack["is_applied"] = false
        rolledBack["applied_at"] = nil as JSONValue
        rolledBack["last_position"] = 8
        XCTAssertEqual(rows(8), [rolledBack, camerasProduction, failed])

        // Production applies the same name: only its own row changes.
        var productionApplied = camerasProduction
        productionApplied["status"] = "completed"
        productionApplied["is_applied"] = true
        productionApplied["applied_at"] = cell("11:00:01")
        productionApplied["applied_by"] = "prod_user"
        productionApplied["execution_time_ms"] = 900
        productionApplied["deployment_id"] = "p2"
        productionApplied["last_position"] = 10
        XCTAssertEqual(rows(10), [rolledBack, productionApplied, failed])

        let m = log.fold(MigrationsProjector.self)
        XCTAssertEqual(m.migration("001_create_cameras", in: "staging")?.isApplied, false)
        XCTAssertEqual(m.migration("001_create_cameras", in: "production")?.isApplied, true)
        XCTAssertNil(m.migration("001_create_cameras", in: "development"))
    }

    func testExecutionLogRowsUseTheSeedsStepNames() {
        let m = log().fold(MigrationsProjector.self)
        let expected: [JSONObject] = [
            row([
                "id": 1, "deployment_id": "p1", "migration_id": 1, "execution_step": "migration_start",
                "step_status": "started", "step_duration_ms": nil, "step_output": nil, "error_message": nil,
                "created_at": cell("10:00:00"), "position": 4,
            ]),
            row([
                "id": 2, "deployment_id": "p1", "migration_id": 1, "execution_step": "migration_complete",
                "step_status": "completed", "step_duration_ms": 1500, "step_output": nil, "error_message": nil,
                "created_at": cell("10:00:02"), "position": 5,
            ]),
            row([
                "id": 3, "deployment_id": "p1", "migration_id": 3, "execution_step": "migration_start",
                "step_status": "started", "step_duration_ms": nil, "step_output": nil, "error_message": nil,
                "created_at": cell("10:00:03"), "position": 6,
            ]),
            row([
                "id": 4, "deployment_id": "p1", "migration_id": 3, "execution_step": "migration_failed",
                "step_status": "failed", "step_duration_ms": 30000, "step_output": nil,
                "error_message": "ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)",
                "created_at": cell("10:00:33"), "position": 7,
            ]),
            row([
                "id": 5, "deployment_id": "p1", "migration_id": 1, "execution_step": "migration_rollback",
                "step_status": "completed", "step_duration_ms": 120, "step_output": "rollback rb-1",
                "error_message": nil, "created_at": cell("10:05:00"), "position": 8,
            ]),
            row([
                "id": 6, "deployment_id": "p2", "migration_id": 2, "execution_step": "migration_start",
                "step_status": "started", "step_duration_ms": nil, "step_output": nil, "error_message": nil,
                "created_at": cell("11:00:00"), "position": 9,
            ]),
            row([
                "id": 7, "deployment_id": "p2", "migration_id": 2, "execution_step": "migration_complete",
                "step_status": "completed", "step_duration_ms": 900, "step_output": nil, "error_message": nil,
                "created_at": cell("11:00:01"), "position": 10,
            ]),
        ]
        XCTAssertEqual(table("deployment_execution_logs", in: m.tables)?.objects, expected)
    }

    func testReappliedAfterRollbackIsAppliedAgain() {
        var log = log()
        log.add(
            "migrations-staging", "MigrationApplied", "12:00:00",
            [
                "environment": "staging", "name": "001_create_cameras", "deploymentId": "p3", "executionTimeMs": 700,
                "appliedBy": "staging_user",
            ])
        let m = log.fold(MigrationsProjector.self).migration("001_create_cameras", in: "staging")
        XCTAssertEqual(m?.isApplied, true)
        XCTAssertEqual(m?.status, "completed")
        XCTAssertEqual(m?.appliedAt, EventLog.instant("12:00:00"))
        XCTAssertEqual(m?.id, 1, "the row keeps its id")
    }
}
