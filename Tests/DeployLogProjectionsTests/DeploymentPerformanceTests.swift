import DeployLogEvents
import DeployLogProjections
import XCTest

/// `deployment_performance` and `deployment_metrics` (the metrics projector's tables) from
/// hand-written pipelines whose durations sit on either side of the 300 s and 900 s limits.
final class DeploymentPerformanceTests: XCTestCase {
    private func start(_ log: inout EventLog, _ id: String, _ env: String, _ time: String) {
        log.add(
            "pipeline-\(id)", "PipelineStarted", time,
            [
                "pipelineId": .string(id), "pipelineName": "camera-counting-db", "pipelineVersion": "1.0.0",
                "environment": .string(env), "triggeredBy": "ci@build-1", "gitCommitHash": .string("c-\(id)"),
                "gitBranch": "main",
            ])
    }

    private func end(_ log: inout EventLog, _ id: String, _ type: String, _ time: String) {
        log.add("pipeline-\(id)", type, time, ["pipelineId": .string(id), "rollbackId": "rb"])
    }

    private func log() -> EventLog {
        var log = EventLog()
        for (id, env) in [("a", "staging"), ("b", "staging"), ("c", "production"), ("d", "production")] {
            start(&log, id, env, "10:00:00")
        }
        end(&log, "a", "PipelineCompleted", "10:04:59.998")  // 299.998 s
        end(&log, "b", "PipelineCompleted", "10:05:00")  // 300 s
        end(&log, "c", "PipelineFailed", "10:14:59.998")  // 899.998 s
        end(&log, "d", "PipelineFailed", "10:15:00")
        end(&log, "d", "PipelineRolledBack", "10:20:00")  // 1200 s from start
        start(&log, "e", "staging", "11:00:00")  // still running
        start(&log, "f", "production", "12:00:00")
        end(&log, "f", "PipelineCompleted", "12:15:00")  // 900 s
        return log
    }

    private func performance(_ id: String, _ env: String, _ status: String, _ seconds: Double, _ category: String, _ completedAt: String)
        -> JSONObject
    {
        row([
            "pipeline_name": "camera-counting-db", "environment": .string(env), "status": .string(status),
            "deployment_duration_seconds": .number(JSONNumber(seconds)), "performance_category": .string(category),
            "triggered_by": "ci@build-1", "git_commit_hash": .string("c-\(id)"), "git_branch": "main",
            "pipeline_id": .string(id), "completed_at": .string("2026-11-20T\(completedAt)Z"),
        ])
    }

    func testCategoriesAndOrder() {
        let m = log().fold(MetricsProjector.self)
        // Newest completion first; the running pipeline is left out.
        let expected = [
            performance("f", "production", "completed", 900.0, "SLOW", "12:15:00.000000"),
            performance("d", "production", "rolled_back", 1200.0, "SLOW", "10:20:00.000000"),
            performance("c", "production", "failed", 899.998, "NORMAL", "10:14:59.998000"),
            performance("b", "staging", "completed", 300.0, "NORMAL", "10:05:00.000000"),
            performance("a", "staging", "completed", 299.998, "FAST", "10:04:59.998000"),
        ]
        XCTAssertEqual(table("deployment_performance", in: m.tables)?.objects, expected)
        XCTAssertEqual(MetricsProjector.performanceCategory(seconds: 299.999), "FAST")
        XCTAssertEqual(MetricsProjector.performanceCategory(seconds: 300), "NORMAL")
        XCTAssertEqual(MetricsProjector.performanceCategory(seconds: 899.999), "NORMAL")
        XCTAssertEqual(MetricsProjector.performanceCategory(seconds: 900), "SLOW")
    }

    func testDeploymentMetricsAsOfTheLastEvent() {
        let m = log().fold(MetricsProjector.self)
        let expected: [JSONObject] = [
            // c failed, d rolled back, f completed: (899.998 + 1200 + 900) / 3 = 999.999333…
            row([
                "environment": "production", "total_deployments": 3, "successful_deployments": 1,
                "failed_deployments": 1, "rollback_deployments": 1, "success_rate": 33.33,
                "avg_deployment_time_seconds": 999.999, "max_deployment_time_seconds": 1200.0,
            ]),
            // a and b completed, e running (counted, but has no duration).
            row([
                "environment": "staging", "total_deployments": 3, "successful_deployments": 2, "failed_deployments": 0,
                "rollback_deployments": 0, "success_rate": 66.67, "avg_deployment_time_seconds": 299.999,
                "max_deployment_time_seconds": 300.0,
            ]),
        ]
        XCTAssertEqual(table("deployment_metrics", in: m.tables)?.objects, expected)

        // As of 10:10: c and d are still running, f has not started.
        let early = m.tables(asOf: EventLog.instant("10:10:00"))
        XCTAssertEqual(
            table("deployment_metrics", in: early)?.objects.first,
            row([
                "environment": "production", "total_deployments": 2, "successful_deployments": 0,
                "failed_deployments": 0, "rollback_deployments": 0, "success_rate": 0.0,
                "avg_deployment_time_seconds": nil, "max_deployment_time_seconds": nil,
            ]))
        XCTAssertEqual(table("deployment_performance", in: early)?.objects.map { $0["pipeline_id"] }, ["b", "a"])
    }
}
