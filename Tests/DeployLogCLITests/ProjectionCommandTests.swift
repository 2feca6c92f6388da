import DeployLogEvents
import Foundation
import XCTest

/// `state`, `diff`, `metrics` and `health` as a user types them, on a generated 45-day history
/// of three environments appended through `append`.
final class ProjectionCommandTests: CLITestCase {
    private var events: [ProposedEvent] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        events = SampleHistory.generate(pipelines: 160, seed: 11)
        try makeStore(with: Data(SampleHistory.ndjson(events).utf8))
    }

    private func json(_ r: CLIResult) throws -> JSONObject {
        try XCTUnwrap(try JSONParser.parse(Array(r.stdout)).objectValue)
    }

    func testHistorySpansFortyFiveDaysOfThreeEnvironments() throws {
        let first = try XCTUnwrap(events.first?.occurredAt)
        let last = try XCTUnwrap(events.last?.occurredAt)
        XCTAssertGreaterThanOrEqual(last.microseconds - first.microseconds, 45 * 86_400_000_000)
        let environments = Set(events.filter { $0.type == "PipelineStarted" }.compactMap { $0.data.objectValue?["environment"]?.stringValue })
        XCTAssertEqual(environments, ["development", "staging", "production"])
    }

    /// The counts, computed here straight from the events appended: per pipeline its start and
    /// its last terminal event at or before as-of.
    func testMetricsCountsAndRatesAgreeWithAnIndependentCount() throws {
        let asOf = try XCTUnwrap(Timestamp(iso8601: "2026-12-14T12:00:00Z"))
        let windowStart = asOf.microseconds - 30 * 86_400_000_000
        var started: [String: (env: String, at: Int64)] = [:]
        var status: [String: String] = [:]
        for e in events {
            guard let d = e.data.objectValue, let id = d["pipelineId"]?.stringValue, let at = e.occurredAt,
                at <= asOf
            else { continue }
            switch e.type {
            case "PipelineStarted": started[id] = (d["environment"]!.stringValue!, at.microseconds)
            case "PipelineCompleted": status[id] = "completed"
            case "PipelineFailed": status[id] = "failed"
            case "PipelineRolledBack": status[id] = "rolled_back"
            default: break
            }
        }
        var expected: [String: [String: Int]] = [:]
        for (id, s) in started where s.at > windowStart {
            expected[s.env, default: [:]][status[id] ?? "running", default: 0] += 1
            expected[s.env, default: [:]]["total", default: 0] += 1
        }
        XCTAssertEqual(expected.count, 3)

        let r = try storeOK("metrics", "--as-of", "2026-12-14T12:00:00Z", "--window-days", "30", "--format", "json")
        let doc = try json(r)
        XCTAssertEqual(doc["asOf"], "2026-12-14T12:00:00.000000Z")
        XCTAssertEqual(doc["windowDays"], 30)
        let environments = try XCTUnwrap(doc["environments"]?.arrayValue?.compactMap(\.objectValue))
        XCTAssertEqual(environments.map { $0["environment"]?.stringValue ?? "" }, ["development", "production", "staging"])
        var failures = 0
        for m in environments {
            let env = m["environment"]!.stringValue!
            let counts = expected[env]!
            let total = counts["total"]!
            let completed = counts["completed", default: 0]
            let failed = counts["failed", default: 0]
            let rolledBack = counts["rolled_back", default: 0]
            failures += failed + rolledBack
            XCTAssertEqual(m["totalDeployments"]?.numberValue?.int64Value, Int64(total), env)
            XCTAssertEqual(m["successfulDeployments"]?.numberValue?.int64Value, Int64(completed), env)
            XCTAssertEqual(m["failedDeployments"]?.numberValue?.int64Value, Int64(failed), env)
            XCTAssertEqual(m["rolledBackDeployments"]?.numberValue?.int64Value, Int64(rolledBack), env)
            let rate = try XCTUnwrap(m["successRate"]?.numberValue?.doubleValue)
            XCTAssertEqual(rate, Double(completed) * 100 / Double(total), accuracy: 0.005 + 1e-9, env)
            let cfr = try XCTUnwrap(m["changeFailureRate"]?.numberValue?.doubleValue)
            XCTAssertEqual(cfr, Double(failed + rolledBack) / Double(total), accuracy: 0.00005 + 1e-9, env)
            let perDay = try XCTUnwrap(m["deploymentsPerDay"]?.numberValue?.doubleValue)
            XCTAssertEqual(perDay, Double(completed) / 30, accuracy: 0.00005 + 1e-9, env)
            XCTAssertNotNil(m["avgDeploymentTimeSeconds"]?.numberValue, env)
            XCTAssertNotNil(m["leadTimeSecondsMedian"]?.numberValue, env)
            XCTAssertFalse(m["stages"]?.arrayValue?.isEmpty ?? true, env)
        }
        XCTAssertGreaterThan(failures, 0, "the history should hold failed deployments")

        // CSV: a header and one line per environment; table: a line per environment.
        let csv = try storeOK("metrics", "--as-of", "2026-12-14T12:00:00Z", "--format", "csv").out
        XCTAssertEqual(csv.split(separator: "\r\n").count, 4)
        XCTAssertTrue(csv.hasPrefix("environment,total,completed,failed,rolled_back"))
        // --env keeps one environment.
        let one = try json(try storeOK("metrics", "--as-of", "2026-12-14T12:00:00Z", "--env", "staging", "--format", "json"))
        XCTAssertEqual(one["environments"]?.arrayValue?.count, 1)
    }

    func testStateJustBeforeAndAtTrafficSwitched() throws {
        let index = try XCTUnwrap(events.firstIndex { $0.type == "TrafficSwitched" })
        let data = try XCTUnwrap(events[index].data.objectValue)
        let pair = try XCTUnwrap(data["deploymentName"]?.stringValue)
        let before = try json(try storeOK("state", "--at", "position:\(index)", "--format", "json"))
        let at = try json(try storeOK("state", "--at", "position:\(index + 1)", "--format", "json"))
        XCTAssertEqual(before["blueGreen"]?.objectValue?[pair]?.objectValue?["activeColor"], data["fromColor"])
        XCTAssertEqual(at["blueGreen"]?.objectValue?[pair]?.objectValue?["activeColor"], data["toColor"])
        XCTAssertEqual(at["position"], .number(JSONNumber(index + 1)))

        // The switch happens inside a production pipeline: production is not consistent there.
        let production = try XCTUnwrap(at["environments"]?.objectValue?["production"]?.objectValue)
        XCTAssertEqual(production["consistent"], false)
        XCTAssertFalse(production["inFlight"]?.objectValue?["pipelines"]?.arrayValue?.isEmpty ?? true)

        let diff = try storeOK("diff", "position:\(index)", "position:\(index + 1)").out
        XCTAssertTrue(
            diff.contains("blueGreen/\(pair)/activeColor: \"\(data["fromColor"]!.stringValue!)\" -> \"\(data["toColor"]!.stringValue!)\""),
            diff)
    }

    func testStateAtHeadIsConsistentAndListsAppliedMigrations() throws {
        let head = try json(try storeOK("state", "--format", "json"))
        XCTAssertEqual(head["position"], .number(JSONNumber(events.count)))
        let envs = try XCTUnwrap(head["environments"]?.objectValue)
        for name in ["development", "staging", "production"] {
            let e = try XCTUnwrap(envs[name]?.objectValue, name)
            let applied = try XCTUnwrap(e["appliedMigrations"]?.arrayValue, name)
            // Applied now: applied at some point, and not rolled back since.
            var expected: [String] = []
            for ev in events where ev.stream == "migrations-\(name)" {
                let m = ev.data.objectValue!["name"]!.stringValue!
                if ev.type == "MigrationApplied" {
                    expected.removeAll { $0 == m }
                    expected.append(m)
                }
                if ev.type == "MigrationRolledBack" { expected.removeAll { $0 == m } }
            }
            XCTAssertEqual(applied.map { $0.objectValue?["name"]?.stringValue ?? "" }, expected, name)
            XCTAssertEqual(e["consistent"], true, name)
            XCTAssertNotNil(e["configuration"]?.objectValue?["databaseUrl"], name)
        }
        // Snapshots were kept beside the log, and verify still passes.
        try storeOK("verify")
        // `time:` and `pipeline:` points, and a table.
        try storeOK("state", "--at", "time:2026-11-20T00:00:00Z")
        let pipeline = try XCTUnwrap(events.first { $0.type == "PipelineStarted" }?.data.objectValue?["pipelineId"]?.stringValue)
        let table = try storeOK("state", "--at", "pipeline:\(pipeline)", "--env", "development").out
        XCTAssertTrue(table.contains("development"), table)
        XCTAssertFalse(table.contains("staging"), table)
    }

    func testHealthDocument() throws {
        let doc = try json(try storeOK("health", "--as-of", "2026-12-14T12:00:00Z"))
        let health = try XCTUnwrap(doc["deployment_health"]?.objectValue)
        for key in [
            "total_deployments_today", "successful_deployments_today", "failed_deployments_today",
            "active_deployments", "avg_deployment_time_minutes",
        ] {
            XCTAssertNotNil(health[key], key)
        }
        XCTAssertEqual(doc["environment_status"]?.arrayValue?.count, 3)
        XCTAssertLessThanOrEqual(doc["recent_rollbacks"]?.arrayValue?.count ?? 99, 10)
    }

    func testBadPointsAndTimesAreRefusedWithDistinctCodes() throws {
        assertFailure(try store("state", "--at", "yesterday"), 65, "bad point 'yesterday'")
        assertFailure(try store("state", "--at", "position:\(events.count + 1)"), 66, "past the head")
        assertFailure(try store("state", "--at", "pipeline:nope"), 66, "no pipeline 'nope'")
        assertFailure(try store("diff", "position:1", "time:soon"), 65, "time must be RFC 3339")
        assertFailure(try store("metrics", "--as-of", "noon"), 64, "--as-of 'noon'")
        assertFailure(try store("metrics", "--window-days", "0"), 64, "--window-days")
        assertFailure(try store("state", "--env", "qa"), 66, "no environment 'qa'")
    }
}
