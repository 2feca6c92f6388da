import DeployLogEvents
import DeployLogProjections
import XCTest

/// The `get_deployment_health()` document as of 2026-11-20T15:00:00Z, from hand-written events.
final class HealthReportTests: XCTestCase {
    private static let asOf = EventLog.instant("2026-11-20T15:00:00Z")

    private func start(_ log: inout EventLog, _ id: String, _ env: String, _ time: String) {
        log.add(
            "pipeline-\(id)", "PipelineStarted", time,
            [
                "pipelineId": .string(id), "pipelineName": "db", "pipelineVersion": .string("v-\(id)"),
                "environment": .string(env),
            ])
    }

    private func end(_ log: inout EventLog, _ id: String, _ type: String, _ time: String) {
        log.add("pipeline-\(id)", type, time, ["pipelineId": .string(id)])
    }

    private func rollback(_ log: inout EventLog, _ id: String, _ time: String, pipeline: String? = nil, env: String = "staging") {
        var data: JSONObject = row([
            "rollbackId": .string(id), "environment": .string(env), "reason": .string("reason \(id)"),
            "rollbackType": pipeline == nil ? "manual" : "automatic", "targetPosition": 1,
        ])
        if let pipeline { data["pipelineId"] = .string(pipeline) }
        log.add("rollback-\(id)", "RollbackStarted", time, .object(data))
    }

    /// `2026-11-16T00:00:00Z` + 6 h × (i − 1): twelve rollbacks inside the last seven days.
    private static func weekRollbackTime(_ i: Int) -> String {
        let hours = 6 * (i - 1)
        let day = 16 + hours / 24
        let hour = hours % 24
        return "2026-11-\(day)T\(hour < 10 ? "0" : "")\(hour):00:00Z"
    }

    private func log() -> EventLog {
        var log = EventLog()
        start(&log, "old", "staging", "2026-11-10T10:00:00Z")  // serial 1
        end(&log, "old", "PipelineCompleted", "2026-11-10T10:30:00Z")  // more than 7 days before
        rollback(&log, "r-old", "2026-11-13T14:00:00Z")  // 7 days and 1 hour before: left out
        log.add("rollback-r-old", "RollbackCompleted", "2026-11-13T14:01:00Z", ["rollbackId": "r-old"])
        start(&log, "w1", "staging", "2026-11-15T10:00:00Z")  // serial 2
        end(&log, "w1", "PipelineCompleted", "2026-11-15T10:20:00Z")  // 20 min
        for i in 1...12 {
            rollback(&log, "r\(i)", Self.weekRollbackTime(i))
            log.add("rollback-r\(i)", "RollbackCompleted", Self.weekRollbackTime(i), ["rollbackId": .string("r\(i)")])
        }
        start(&log, "w2", "production", "2026-11-19T23:50:00Z")  // serial 3, started yesterday
        end(&log, "w2", "PipelineCompleted", "2026-11-20T00:30:00Z")  // 40 min
        start(&log, "t1", "staging", "09:00:00")  // serial 4
        end(&log, "t1", "PipelineCompleted", "09:30:00")  // 30 min
        start(&log, "t2", "production", "10:00:00")  // serial 5
        end(&log, "t2", "PipelineFailed", "10:10:00")
        start(&log, "t3", "production", "11:00:00")  // serial 6
        end(&log, "t3", "PipelineFailed", "11:05:00")
        rollback(&log, "r-t3", "11:10:00", pipeline: "t3", env: "production")
        log.add("rollback-r-t3", "RollbackCompleted", "11:25:00", ["rollbackId": "r-t3"])
        end(&log, "t3", "PipelineRolledBack", "11:30:00")
        start(&log, "t4", "development", "14:00:00")  // serial 7, running
        start(&log, "t5", "staging", "14:30:00")  // serial 8, completes after as-of
        rollback(&log, "r-run", "14:45:00")  // ends after as-of: running then
        rollback(&log, "r-future", "15:30:00")  // after as-of: left out
        log.add("rollback-r-run", "RollbackFailed", "15:10:00", ["rollbackId": "r-run", "error": "e"])
        end(&log, "t5", "PipelineCompleted", "16:00:00")
        start(&log, "future", "development", "16:00:00")  // after as-of: left out
        return log
    }

    func testHealthDocument() {
        let m = log().fold(MetricsProjector.self)
        func rollbackRow(_ id: String, _ started: String, pipeline: (Int, String)? = nil, env: String = "staging", status: String = "completed")
            -> JSONValue
        {
            [
                "pipeline_id": pipeline.map { .number(JSONNumber($0.0)) } ?? nil,
                "pipeline_uuid": pipeline.map { .string($0.1) } ?? nil, "rollback_id": .string(id),
                "environment": .string(env), "rollback_reason": .string("reason \(id)"),
                "rollback_type": pipeline == nil ? "manual" : "automatic", "rollback_status": .string(status),
                "started_at": .string(started),
            ]
        }
        // The ten newest of the last seven days, newest first: r-run, r-t3, then r12 … r5.
        var rollbacks: [JSONValue] = [
            rollbackRow("r-run", "2026-11-20T14:45:00.000000Z", status: "running"),
            rollbackRow("r-t3", "2026-11-20T11:10:00.000000Z", pipeline: (6, "t3"), env: "production"),
        ]
        for i in stride(from: 12, through: 5, by: -1) {
            rollbacks.append(
                rollbackRow("r\(i)", Self.weekRollbackTime(i).replacingOccurrences(of: ":00Z", with: ":00.000000Z")))
        }
        let expected: JSONValue = [
            "as_of": "2026-11-20T15:00:00.000000Z",
            "deployment_health": [
                // Started today (UTC): t1 completed, t2 failed, t3 rolled back, t4 and t5 running.
                "total_deployments_today": 5, "successful_deployments_today": 1, "failed_deployments_today": 1,
                "rolled_back_deployments_today": 1, "active_deployments": 2,
                // Completed in the last 7 days: w1 20 min, w2 40 min, t1 30 min.
                "avg_deployment_time_minutes": 30.0,
            ],
            "environment_status": [
                [
                    "environment": "development", "last_deployment": nil, "last_status": nil, "is_healthy": false,
                    "pipeline_id": nil, "pipeline_version": nil, "active_deployments": 1,
                ],
                [
                    "environment": "production", "last_deployment": "2026-11-20T11:30:00.000000Z",
                    "last_status": "rolled_back", "is_healthy": false, "pipeline_id": "t3", "pipeline_version": "v-t3",
                    "active_deployments": 0,
                ],
                [
                    "environment": "staging", "last_deployment": "2026-11-20T09:30:00.000000Z", "last_status": "completed",
                    "is_healthy": true, "pipeline_id": "t1", "pipeline_version": "v-t1", "active_deployments": 1,
                ],
            ],
            "recent_rollbacks": .array(rollbacks),
        ]
        let actual = HealthReport.json(m, asOf: Self.asOf)
        XCTAssertEqual(actual, expected)
        if actual != expected {
            print("actual:  \(actual.canonicalString)\nexpected: \(expected.canonicalString)")
        }
    }

    func testAtMostTenRollbacksAndOnlyTheLastSevenDays() throws {
        let m = log().fold(MetricsProjector.self)
        // A day later: r-future has started, and r5 drops out of the ten.
        let later = Timestamp(microsecondsSinceEpoch: Self.asOf.microseconds + 86_400_000_000)
        let doc = try XCTUnwrap(HealthReport.json(m, asOf: later).objectValue)
        let ids = try XCTUnwrap(doc["recent_rollbacks"]?.arrayValue).map { $0.objectValue?["rollback_id"]?.stringValue }
        XCTAssertEqual(ids, ["r-future", "r-run", "r-t3", "r12", "r11", "r10", "r9", "r8", "r7", "r6"])
        // Nothing started that day; t4 and "future" never finished.
        let health = try XCTUnwrap(doc["deployment_health"]?.objectValue)
        XCTAssertEqual(health["total_deployments_today"], 0)
        XCTAssertEqual(health["active_deployments"], 2)
        // Two weeks later: no rollbacks, no average.
        let farLater = Timestamp(microsecondsSinceEpoch: Self.asOf.microseconds + 14 * 86_400_000_000)
        let far = try XCTUnwrap(HealthReport.json(m, asOf: farLater).objectValue)
        XCTAssertEqual(far["recent_rollbacks"], [])
        XCTAssertEqual(far["deployment_health"]?.objectValue?["avg_deployment_time_minutes"], nil as JSONValue)
    }
}
