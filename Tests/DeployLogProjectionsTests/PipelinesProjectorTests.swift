import DeployLogEvents
import DeployLogProjections
import XCTest

/// `deployment_pipelines` and `deployment_stages` from hand-written events, row by row.
final class PipelinesProjectorTests: XCTestCase {
    /// Pipeline p1 (staging) fails in its unit tests and is rolled back; p2 (production) runs
    /// one stage and completes.
    private func log() -> EventLog {
        var log = EventLog()
        log.add(
            "pipeline-p1", "PipelineStarted", "10:00:00",
            [
                "pipelineId": "p1", "pipelineName": "camera-counting-db", "pipelineVersion": "1.3.0",
                "environment": "staging", "triggeredBy": "ci@build-1041", "gitCommitHash": "a1b2c3",
                "gitBranch": "release/1.3", "gitCommittedAt": "2026-11-20T09:30:00Z",
                "config": ["deployment_strategy": "in_place"],
            ])  // 1
        log.add(
            "pipeline-p1", "StageStarted", "10:00:01",
            [
                "pipelineId": "p1", "stageName": "Build Database Schema", "stageOrder": 1, "stageType": "build",
                "config": ["migrations": ["001_create_cameras"]],
            ])  // 2
        log.add(
            "pipeline-p1", "StageCompleted", "10:01:00",
            [
                "pipelineId": "p1", "stageName": "Build Database Schema", "stageOrder": 1, "durationMs": 59000,
                "output": "1 pending migrations validated",
            ])  // 3
        log.add(
            "pipeline-p1", "StageStarted", "10:01:01",
            ["pipelineId": "p1", "stageName": "Run Unit Tests", "stageOrder": 2, "stageType": "test"])  // 4
        log.add(
            "pipeline-p1", "StageFailed", "10:03:00",
            [
                "pipelineId": "p1", "stageName": "Run Unit Tests", "stageOrder": 2, "durationMs": 119000,
                "output": "123 passed, 1 failed", "error": "1 of 124 tests failed",
            ])  // 5
        log.add(
            "pipeline-p1", "StageSkipped", "10:03:01",
            [
                "pipelineId": "p1", "stageName": "Deploy to Environment", "stageOrder": 3,
                "reason": "stage 2 (Run Unit Tests) failed",
            ])  // 6
        log.add(
            "pipeline-p1", "PipelineFailed", "10:03:02",
            ["pipelineId": "p1", "failedStage": "Run Unit Tests", "error": "1 of 124 tests failed"])  // 7
        log.add(
            "pipeline-p2", "PipelineStarted", "10:05:00",
            [
                "pipelineId": "p2", "pipelineName": "camera-counting-db", "pipelineVersion": "1.4.0",
                "environment": "production", "triggeredBy": "ci@build-1050",
                "config": ["deployment_strategy": "blue_green"],
            ])  // 8
        log.add(
            "pipeline-p2", "StageStarted", "10:05:01",
            ["pipelineId": "p2", "stageName": "Build Database Schema", "stageOrder": 1, "stageType": "build"])  // 9
        log.add("pipeline-p1", "PipelineRolledBack", "10:20:00", ["pipelineId": "p1", "rollbackId": "rb-1"])  // 10
        log.add(
            "pipeline-p2", "StageCompleted", "10:24:00",
            ["pipelineId": "p2", "stageName": "Build Database Schema", "stageOrder": 1, "durationMs": 1_139_000])  // 11
        log.add("pipeline-p2", "PipelineCompleted", "10:25:00", ["pipelineId": "p2"])  // 12
        return log
    }

    private let p1Started = row([
        "id": 1, "pipeline_name": "camera-counting-db", "pipeline_version": "1.3.0", "environment": "staging",
        "status": "running", "started_at": cell("10:00:00"), "completed_at": nil, "triggered_by": "ci@build-1041",
        "git_commit_hash": "a1b2c3", "git_branch": "release/1.3", "deployment_config": ["deployment_strategy": "in_place"],
        "created_at": cell("10:00:00"), "pipeline_id": "p1", "git_committed_at": cell("09:30:00"), "failed_stage": nil,
        "error_message": nil, "rollback_id": nil, "last_position": 1,
    ])

    func testPipelineRowsFromStartToRolledBackAndCompleted() throws {
        let log = log()
        // Just started: running, created_at = started_at = PipelineStarted's occurredAt.
        let started = try XCTUnwrap(table("deployment_pipelines", in: log.fold(PipelinesProjector.self, first: 1).tables))
        XCTAssertEqual(started.objects, [p1Started])

        // Failed: completed_at is the failure's occurredAt.
        var failed = p1Started
        failed["status"] = "failed"
        failed["completed_at"] = cell("10:03:02")
        failed["failed_stage"] = "Run Unit Tests"
        failed["error_message"] = "1 of 124 tests failed"
        failed["last_position"] = 7
        let afterFailure = log.fold(PipelinesProjector.self, first: 7)
        XCTAssertEqual(table("deployment_pipelines", in: afterFailure.tables)?.objects, [failed])

        // p2 started: a second row, serial 2, running.
        let p2Running = row([
            "id": 2, "pipeline_name": "camera-counting-db", "pipeline_version": "1.4.0", "environment": "production",
            "status": "running", "started_at": cell("10:05:00"), "completed_at": nil, "triggered_by": "ci@build-1050",
            "git_commit_hash": nil, "git_branch": nil, "deployment_config": ["deployment_strategy": "blue_green"],
            "created_at": cell("10:05:00"), "pipeline_id": "p2", "git_committed_at": nil, "failed_stage": nil,
            "error_message": nil, "rollback_id": nil, "last_position": 9,
        ])
        XCTAssertEqual(
            table("deployment_pipelines", in: log.fold(PipelinesProjector.self, first: 9).tables)?.objects,
            [failed, p2Running])

        // Failed then rolled back: rolled_back, completed_at the rollback's occurredAt.
        var rolledBack = failed
        rolledBack["status"] = "rolled_back"
        rolledBack["completed_at"] = cell("10:20:00")
        rolledBack["rollback_id"] = "rb-1"
        rolledBack["last_position"] = 10
        var p2Completed = p2Running
        p2Completed["status"] = "completed"
        p2Completed["completed_at"] = cell("10:25:00")
        p2Completed["last_position"] = 12
        let final = log.fold(PipelinesProjector.self)
        XCTAssertEqual(table("deployment_pipelines", in: final.tables)?.objects, [rolledBack, p2Completed])

        // The typed rows agree.
        let p1 = try XCTUnwrap(final.pipeline("p1"))
        XCTAssertEqual(p1.status, "rolled_back")
        XCTAssertEqual(p1.startedAt, EventLog.instant("10:00:00"))
        XCTAssertEqual(p1.completedAt, EventLog.instant("10:20:00"))
        XCTAssertEqual(p1.completedAt!.microseconds - p1.startedAt.microseconds, 20 * 60 * 1_000_000)
        XCTAssertNil(final.pipeline("p3"))
    }

    func testStageRows() throws {
        let log = log()
        let expected: [JSONObject] = [
            row([
                "id": 1, "pipeline_id": 1, "stage_name": "Build Database Schema", "stage_order": 1, "stage_type": "build",
                "status": "completed", "started_at": cell("10:00:01"), "completed_at": cell("10:01:00"),
                "duration_ms": 59000, "stage_config": ["migrations": ["001_create_cameras"]],
                "stage_output": "1 pending migrations validated", "error_message": nil, "last_position": 3,
            ]),
            row([
                "id": 2, "pipeline_id": 1, "stage_name": "Run Unit Tests", "stage_order": 2, "stage_type": "test",
                "status": "failed", "started_at": cell("10:01:01"), "completed_at": cell("10:03:00"),
                "duration_ms": 119000, "stage_config": [:], "stage_output": "123 passed, 1 failed",
                "error_message": "1 of 124 tests failed", "last_position": 5,
            ]),
            // Skipped without ever starting: no start, no duration, its reason as output.
            row([
                "id": 3, "pipeline_id": 1, "stage_name": "Deploy to Environment", "stage_order": 3,
                "stage_type": "unknown", "status": "skipped", "started_at": nil, "completed_at": cell("10:03:01"),
                "duration_ms": nil, "stage_config": [:], "stage_output": "stage 2 (Run Unit Tests) failed",
                "error_message": nil, "last_position": 6,
            ]),
            // p2's stage refers to p2's serial id.
            row([
                "id": 4, "pipeline_id": 2, "stage_name": "Build Database Schema", "stage_order": 1, "stage_type": "build",
                "status": "completed", "started_at": cell("10:05:01"), "completed_at": cell("10:24:00"),
                "duration_ms": 1_139_000, "stage_config": [:], "stage_output": nil, "error_message": nil,
                "last_position": 11,
            ]),
        ]
        let final = log.fold(PipelinesProjector.self)
        XCTAssertEqual(table("deployment_stages", in: final.tables)?.objects, expected)

        // While p2's stage runs: running, no completion, no duration.
        let midway = log.fold(PipelinesProjector.self, first: 9)
        var running = expected[3]
        running["status"] = "running"
        running["completed_at"] = nil as JSONValue
        running["duration_ms"] = nil as JSONValue
        running["last_position"] = 9
        XCTAssertEqual(table("deployment_stages", in: midway.tables)?.objects, Array(expected[0..<3]) + [running])

        XCTAssertEqual(final.stages(of: "p1").map(\.stageName), ["Build Database Schema", "Run Unit Tests", "Deploy to Environment"])
        XCTAssertEqual(final.stages(of: "p2").map(\.status), ["completed"])
        XCTAssertEqual(final.stages(of: "nope"), [])
    }

    func testEventsOfAPipelineNeverStartedAreIgnored() {
        var log = EventLog()
        log.add("pipeline-x", "StageStarted", "10:00:00", ["pipelineId": "x", "stageName": "Build", "stageOrder": 1])
        log.add("pipeline-x", "PipelineCompleted", "10:00:01", ["pipelineId": "x"])
        let p = log.fold(PipelinesProjector.self)
        XCTAssertEqual(p.tables.map(\.rows.count), [0, 0])
        XCTAssertEqual(p.tables.map(\.name), ["deployment_pipelines", "deployment_stages"])
    }

    func testCompletedThenRolledBackIsRolledBackAndTheLatestTerminalWins() {
        var log = EventLog()
        log.add(
            "pipeline-p", "PipelineStarted", "10:00:00",
            ["pipelineId": "p", "pipelineName": "n", "pipelineVersion": "1", "environment": "production"])
        log.add("pipeline-p", "PipelineCompleted", "10:10:00", ["pipelineId": "p"])
        log.add("pipeline-p", "PipelineRolledBack", "11:00:00", ["pipelineId": "p", "rollbackId": "r"])
        let p = log.fold(PipelinesProjector.self).pipeline("p")
        XCTAssertEqual(p?.status, "rolled_back")
        XCTAssertEqual(p?.completedAt, EventLog.instant("11:00:00"))
        XCTAssertEqual(p?.rollbackId, "r")
    }
}
