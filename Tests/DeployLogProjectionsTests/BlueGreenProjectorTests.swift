import DeployLogEvents
import DeployLogProjections
import XCTest

/// `blue_green_deployments` from hand-written events.
final class BlueGreenProjectorTests: XCTestCase {
    private static let pair = "camera-counting-prod"
    private static let greenChecks: JSONValue = [
        ["name": "database_connectivity", "status": "PASS", "durationMs": 4],
        ["name": "performance", "status": "PASS", "detail": "slowest 300 ms", "durationMs": 150],
    ]
    private static let blueChecks: JSONValue = [
        ["name": "database_connectivity", "status": "PASS", "durationMs": 5],
        ["name": "performance", "status": "FAIL", "detail": "slowest 7000 ms", "durationMs": 210],
    ]

    private func log() -> EventLog {
        let stream = "bluegreen-\(Self.pair)"
        let name = JSONValue.string(Self.pair)
        var log = EventLog()
        log.add(
            stream, "BlueGreenConfigured", "09:00:00",
            [
                "deploymentName": name, "blueEnvironment": "production-blue", "greenEnvironment": "production-green",
                "blueDatabaseUrl": "postgresql://prod_user@prod-db-blue:5432/ai_camera_prod",
                "greenDatabaseUrl": "postgresql://prod_user@prod-db-green:5432/ai_camera_prod", "activeColor": "blue",
            ])  // 1
        log.add(
            stream, "DeployToInactiveStarted", "10:00:00",
            ["deploymentName": name, "version": "1.4.0", "targetColor": "green", "pipelineId": "p2"])  // 2
        log.add(
            stream, "HealthChecksRecorded", "10:05:00",
            ["deploymentName": name, "color": "green", "healthy": true, "checks": Self.greenChecks])  // 3
        log.add(stream, "TrafficSwitchStarted", "10:06:00", ["deploymentName": name, "fromColor": "blue", "toColor": "green"])  // 4
        log.add(
            stream, "TrafficSwitched", "10:07:00",
            ["deploymentName": name, "fromColor": "blue", "toColor": "green", "version": "1.4.0"])  // 5
        // A later configuration naming another active colour: the active colour stays.
        log.add(
            stream, "BlueGreenConfigured", "10:30:00",
            [
                "deploymentName": name, "blueEnvironment": "production-blue", "greenEnvironment": "production-green",
                "blueDatabaseUrl": "postgresql://prod_user@prod-db-blue:5432/ai_camera_prod",
                "greenDatabaseUrl": "postgresql://prod_user@prod-db-green2:5432/ai_camera_prod", "activeColor": "blue",
            ])  // 6
        log.add(
            stream, "DeployToInactiveStarted", "11:00:00",
            ["deploymentName": name, "version": "1.5.0", "targetColor": "blue", "pipelineId": "p3"])  // 7
        log.add(
            stream, "HealthChecksRecorded", "11:05:00",
            ["deploymentName": name, "color": "blue", "healthy": false, "checks": Self.blueChecks])  // 8
        log.add(
            stream, "BlueGreenDeployFailed", "11:05:01",
            [
                "deploymentName": name, "version": "1.5.0", "reason": "health checks failed on blue",
                "rollbackTriggered": true,
            ])  // 9
        // A pair never configured: ignored.
        log.add(
            "bluegreen-other", "TrafficSwitched", "11:06:00",
            ["deploymentName": "other", "fromColor": "blue", "toColor": "green", "version": "9"])  // 10
        return log
    }

    private let configured = row([
        "id": 1, "deployment_name": "camera-counting-prod", "blue_environment": "production-blue",
        "green_environment": "production-green", "current_active": "blue", "deployment_status": "idle",
        "blue_database_url": "postgresql://prod_user@prod-db-blue:5432/ai_camera_prod",
        "green_database_url": "postgresql://prod_user@prod-db-green:5432/ai_camera_prod", "switch_started_at": nil,
        "switch_completed_at": nil, "health_check_results": [:], "rollback_triggered": false,
        "created_at": cell("09:00:00"), "updated_at": cell("09:00:00"), "active_version": nil, "last_position": 1,
    ])

    private func rows(_ log: EventLog, _ n: Int) -> [JSONObject]? {
        table("blue_green_deployments", in: log.fold(BlueGreenProjector.self, first: n).tables)?.objects
    }

    func testRowThroughADeploySwitchAndAFailedDeploy() {
        let log = log()
        XCTAssertEqual(rows(log, 1), [configured])

        var deploying = configured
        deploying["deployment_status"] = "deploying"
        deploying["updated_at"] = cell("10:00:00")
        deploying["last_position"] = 2
        XCTAssertEqual(rows(log, 2), [deploying])

        let greenResult: JSONValue = [
            "healthy": true, "checks": Self.greenChecks, "recordedAt": cell("10:05:00"), "position": 3,
        ]
        var checked = deploying
        checked["health_check_results"] = ["green": greenResult]
        checked["updated_at"] = cell("10:05:00")
        checked["last_position"] = 3
        XCTAssertEqual(rows(log, 3), [checked])

        // Switching: the active colour has not changed yet.
        var switching = checked
        switching["deployment_status"] = "switching"
        switching["switch_started_at"] = cell("10:06:00")
        switching["updated_at"] = cell("10:06:00")
        switching["last_position"] = 4
        XCTAssertEqual(rows(log, 4), [switching])

        // Switched: green is active.
        var switched = switching
        switched["deployment_status"] = "completed"
        switched["current_active"] = "green"
        switched["switch_completed_at"] = cell("10:07:00")
        switched["active_version"] = "1.4.0"
        switched["updated_at"] = cell("10:07:00")
        switched["last_position"] = 5
        XCTAssertEqual(rows(log, 5), [switched])

        // Reconfigured with activeColor blue: URLs change, the active colour does not.
        var reconfigured = switched
        reconfigured["green_database_url"] = "postgresql://prod_user@prod-db-green2:5432/ai_camera_prod"
        reconfigured["updated_at"] = cell("10:30:00")
        reconfigured["last_position"] = 6
        XCTAssertEqual(rows(log, 6), [reconfigured])

        // A deploy to blue fails its health checks: failed, rollback triggered, green still active.
        let blueResult: JSONValue = [
            "healthy": false, "checks": Self.blueChecks, "recordedAt": cell("11:05:00"), "position": 8,
        ]
        var failed = reconfigured
        failed["deployment_status"] = "failed"
        failed["rollback_triggered"] = true
        failed["health_check_results"] = ["green": greenResult, "blue": blueResult]
        failed["updated_at"] = cell("11:05:01")
        failed["last_position"] = 9
        XCTAssertEqual(rows(log, 10), [failed])
    }

    func testActiveColourChangesOnlyOnTrafficSwitched() {
        let log = log()
        let colours = (1...log.events.count).map { log.fold(BlueGreenProjector.self, first: $0).deployment(Self.pair)?.currentActive }
        XCTAssertEqual(colours, ["blue", "blue", "blue", "blue", "green", "green", "green", "green", "green", "green"])
        let statuses = (1...9).map { log.fold(BlueGreenProjector.self, first: $0).deployment(Self.pair)?.deploymentStatus }
        XCTAssertEqual(
            statuses, ["idle", "deploying", "deploying", "switching", "completed", "completed", "deploying", "deploying", "failed"])
        XCTAssertNil(log.fold(BlueGreenProjector.self).deployment("other"))
    }
}
