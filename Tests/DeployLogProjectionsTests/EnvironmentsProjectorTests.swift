import DeployLogEvents
import DeployLogProjections
import XCTest

/// `environment_configs` from hand-written events.
final class EnvironmentsProjectorTests: XCTestCase {
    private static func staging(poolSize: Int, backup: String) -> JSONValue {
        [
            "environment": "staging", "environmentType": "staging",
            "databaseUrl": "postgresql://staging_user@staging-db:5432/ai_camera_staging",
            "databaseName": "ai_camera_staging", "databaseUser": "staging_user",
            "connectionPoolSize": .number(JSONNumber(poolSize)), "maxConnections": 50, "backupSchedule": .string(backup),
            "monitoringEnabled": true, "alertingEnabled": true, "rollbackPolicy": "automatic",
            "config": ["log_level": "info", "debug_mode": false],
        ]
    }

    private func log() -> EventLog {
        var log = EventLog()
        log.add("environment-staging", "EnvironmentConfigured", "09:00:00", Self.staging(poolSize: 10, backup: "daily"))  // 1
        // Only the required fields: the seed's defaults fill the rest.
        log.add(
            "environment-production", "EnvironmentConfigured", "09:00:01",
            [
                "environment": "production", "environmentType": "production", "connectionPoolSize": 20,
                "maxConnections": 200, "monitoringEnabled": false, "alertingEnabled": true,
                "rollbackPolicy": "automatic", "config": ["ssl_mode": "require"],
            ])  // 2
        log.add("environment-staging", "EnvironmentConfigured", "12:00:00", Self.staging(poolSize: 15, backup: "hourly"))  // 3
        log.add(
            "environment-production", "EnvironmentDeactivated", "13:00:00",
            ["environment": "production", "reason": "decommissioned"])  // 4
        log.add("environment-nowhere", "EnvironmentDeactivated", "13:30:00", ["environment": "nowhere"])  // 5
        return log
    }

    private let stagingRow = row([
        "id": 1, "environment_name": "staging", "environment_type": "staging",
        "database_url": "postgresql://staging_user@staging-db:5432/ai_camera_staging",
        "database_name": "ai_camera_staging", "database_user": "staging_user", "connection_pool_size": 10,
        "max_connections": 50, "backup_schedule": "daily", "monitoring_enabled": true, "alerting_enabled": true,
        "config_data": ["log_level": "info", "debug_mode": false], "is_active": true, "created_at": cell("09:00:00"),
        "updated_at": cell("09:00:00"), "rollback_policy": "automatic", "deactivation_reason": nil, "last_position": 1,
    ])

    private let productionRow = row([
        "id": 2, "environment_name": "production", "environment_type": "production", "database_url": nil,
        "database_name": nil, "database_user": nil, "connection_pool_size": 20, "max_connections": 200,
        "backup_schedule": nil, "monitoring_enabled": false, "alerting_enabled": true,
        "config_data": ["ssl_mode": "require"], "is_active": true, "created_at": cell("09:00:01"),
        "updated_at": cell("09:00:01"), "rollback_policy": "automatic", "deactivation_reason": nil, "last_position": 2,
    ])

    private func rows(_ log: EventLog, _ n: Int) -> [JSONObject]? {
        table("environment_configs", in: log.fold(EnvironmentsProjector.self, first: n).tables)?.objects
    }

    func testCreatedAtStaysUpdatedAtMovesDeactivationSticks() {
        var log = log()
        XCTAssertEqual(rows(log, 2), [stagingRow, productionRow])

        // Reconfigured: id and created_at stay, the fields and updated_at move.
        var staging = stagingRow
        staging["connection_pool_size"] = 15
        staging["backup_schedule"] = "hourly"
        staging["updated_at"] = cell("12:00:00")
        staging["last_position"] = 3
        XCTAssertEqual(rows(log, 3), [staging, productionRow])

        // Deactivated; an unknown environment's deactivation adds nothing.
        var production = productionRow
        production["is_active"] = false
        production["deactivation_reason"] = "decommissioned"
        production["updated_at"] = cell("13:00:00")
        production["last_position"] = 4
        XCTAssertEqual(rows(log, 5), [staging, production])

        // Configured again: active again, created_at still the first one.
        log.add(
            "environment-production", "EnvironmentConfigured", "14:00:00",
            [
                "environment": "production", "environmentType": "production", "connectionPoolSize": 25,
                "maxConnections": 200, "monitoringEnabled": true, "alertingEnabled": true, "rollbackPolicy": "manual",
                "config": [:],
            ])  // 6
        var reactivated = productionRow
        reactivated["connection_pool_size"] = 25
        reactivated["monitoring_enabled"] = true
        reactivated["rollback_policy"] = "manual"
        reactivated["config_data"] = [:]
        reactivated["updated_at"] = cell("14:00:00")
        reactivated["last_position"] = 6
        XCTAssertEqual(rows(log, 6), [staging, reactivated])
    }
}
