import DeployLogEvents
import DeployLogProjections
import XCTest

/// `deployment_rollbacks` from hand-written events.
final class RollbacksProjectorTests: XCTestCase {
    private func log() -> EventLog {
        var log = EventLog()
        log.add(
            "pipeline-pA", "PipelineStarted", "10:00:00",
            ["pipelineId": "pA", "pipelineName": "db", "pipelineVersion": "1.3.0", "environment": "staging"])  // 1
        log.add(
            "pipeline-pB", "PipelineStarted", "10:01:00",
            ["pipelineId": "pB", "pipelineName": "db", "pipelineVersion": "1.4.0", "environment": "production"])  // 2
        log.add(
            "rollback-rb-1", "RollbackStarted", "10:30:00",
            [
                "rollbackId": "rb-1", "environment": "production", "pipelineId": "pB",
                "reason": "Health Checks failed: performance", "rollbackType": "health_check_failure",
                "previousVersion": "1.4.0", "targetVersion": "1.3.2", "targetPosition": 1,
            ])  // 3
        log.add(
            "rollback-rb-1", "RollbackStepExecuted", "10:30:03",
            [
                "rollbackId": "rb-1", "step": 1, "action": "switch_traffic", "target": "blue", "durationMs": 2500,
                "output": "traffic back on blue",
            ])  // 4
        log.add(
            "rollback-rb-1", "RollbackStepExecuted", "10:30:04",
            [
                "rollbackId": "rb-1", "step": 2, "action": "run_rollback_sql", "target": "002_counts_index",
                "durationMs": 120, "output": "DROP INDEX",
            ])  // 5
        log.add("rollback-rb-1", "RollbackCompleted", "10:30:05", ["rollbackId": "rb-1"])  // 6
        log.add(
            "rollback-rb-2", "RollbackStarted", "11:00:00",
            [
                "rollbackId": "rb-2", "environment": "staging", "reason": "manual revert", "rollbackType": "manual",
                "targetPosition": 1,
            ])  // 7
        log.add(
            "rollback-rb-2", "RollbackFailed", "11:00:10",
            ["rollbackId": "rb-2", "failedStep": 1, "error": "permission denied for table cameras"])  // 8
        log.add(
            "rollback-rb-3", "RollbackStarted", "11:30:00",
            [
                "rollbackId": "rb-3", "environment": "staging", "pipelineId": "never-started", "reason": "r",
                "rollbackType": "automatic", "targetPosition": 2,
            ])  // 9
        // Steps and ends of a rollback that never started are ignored.
        log.add("rollback-rb-9", "RollbackCompleted", "11:31:00", ["rollbackId": "rb-9"])  // 10
        return log
    }

    private let rb1Running = row([
        "id": 1, "pipeline_id": 2, "rollback_reason": "Health Checks failed: performance",
        "rollback_type": "health_check_failure", "previous_version": "1.4.0", "target_version": "1.3.2",
        "rollback_status": "running", "started_at": cell("10:30:00"), "completed_at": nil, "rollback_steps": [],
        "error_message": nil, "rollback_id": "rb-1", "environment": "production", "pipeline_uuid": "pB",
        "target_position": 1, "last_position": 3,
    ])

    func testRollbackRows() {
        let log = log()
        XCTAssertEqual(
            table("deployment_rollbacks", in: log.fold(RollbacksProjector.self, first: 3).tables)?.objects, [rb1Running])

        var rb1 = rb1Running
        rb1["rollback_status"] = "completed"
        rb1["completed_at"] = cell("10:30:05")
        rb1["rollback_steps"] = [
            [
                "step": 1, "action": "switch_traffic", "target": "blue", "durationMs": 2500,
                "output": "traffic back on blue", "executedAt": cell("10:30:03"),
            ],
            [
                "step": 2, "action": "run_rollback_sql", "target": "002_counts_index", "durationMs": 120,
                "output": "DROP INDEX", "executedAt": cell("10:30:04"),
            ],
        ]
        rb1["last_position"] = 6
        let rb2 = row([
            "id": 2, "pipeline_id": nil, "rollback_reason": "manual revert", "rollback_type": "manual",
            "previous_version": nil, "target_version": nil, "rollback_status": "failed",
            "started_at": cell("11:00:00"), "completed_at": cell("11:00:10"), "rollback_steps": [],
            "error_message": "permission denied for table cameras", "rollback_id": "rb-2", "environment": "staging",
            "pipeline_uuid": nil, "target_position": 1, "last_position": 8,
        ])
        // A pipeline id the log never started: no serial, the log's id kept.
        let rb3 = row([
            "id": 3, "pipeline_id": nil, "rollback_reason": "r", "rollback_type": "automatic", "previous_version": nil,
            "target_version": nil, "rollback_status": "running", "started_at": cell("11:30:00"), "completed_at": nil,
            "rollback_steps": [], "error_message": nil, "rollback_id": "rb-3", "environment": "staging",
            "pipeline_uuid": "never-started", "target_position": 2, "last_position": 9,
        ])
        let final = log.fold(RollbacksProjector.self)
        XCTAssertEqual(table("deployment_rollbacks", in: final.tables)?.objects, [rb1, rb2, rb3])
        XCTAssertEqual(final.rollback("rb-1")?.pipelineSerial, 2)
        XCTAssertNil(final.rollback("rb-9"))
    }

    /// `pipeline_id` numbers pipelines as `deployment_pipelines.id` does.
    func testPipelineSerialMatchesThePipelinesTable() {
        let log = log()
        let pipelines = log.fold(PipelinesProjector.self)
        let rollbacks = log.fold(RollbacksProjector.self)
        XCTAssertEqual(rollbacks.rollback("rb-1")?.pipelineSerial, pipelines.pipeline("pB")?.id)
    }
}
