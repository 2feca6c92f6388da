import DeployLogEvents
import DeployLogProjections
import XCTest

/// Every projector ignores what it does not know (unknown types, a newer schema version of a
/// known type) and survives missing or mistyped fields.
final class ProjectorRobustnessTests: XCTestCase {
    /// The sample history with, after every event but the last, one event no projector may
    /// take: alternately an unknown type carrying the same data, and the same known type at
    /// schema version 2 that occurred a day later (folded as v1 it would move times, statuses
    /// and last positions).
    private func mixedLog() -> [RecordedEvent] {
        let sample = EventLog.recorded(SampleHistory.generate(pipelines: 18, seed: 11))
        var out: [RecordedEvent] = []
        for (i, e) in sample.enumerated() {
            var known = e
            known.position = Int64(out.count + 1)
            out.append(known)
            if i == sample.count - 1 { break }
            var foreign = e
            foreign.position = Int64(out.count + 1)
            if i % 2 == 0 {
                foreign.type = "Annotated" + e.type
            } else {
                foreign.schemaVersion = 2
                foreign.occurredAt = Timestamp(microsecondsSinceEpoch: e.occurredAt.microseconds + 86_400_000_000)
            }
            out.append(foreign)
        }
        return out
    }

    func testUnknownTypesAndNewerSchemaVersionsAreIgnoredByEveryProjector() {
        let mixed = mixedLog()
        // The same log without the foreign events: the known ones keep their positions.
        let clean = mixed.filter { ProjectedEvent($0).kind != .unknown }
        XCTAssertEqual(clean.count * 2 - 1, mixed.count)
        XCTAssertEqual(mixed.filter { $0.schemaVersion == 2 }.count, (clean.count - 1) / 2)

        func check<P: Projector>(_ type: P.Type, file: StaticString = #filePath, line: UInt = #line) {
            let a = P.fold(mixed)
            let b = P.fold(clean)
            XCTAssertEqual(a, b, "\(P.name)", file: file, line: line)
            XCTAssertEqual(a.tables, b.tables, "\(P.name)", file: file, line: line)
            XCTAssertFalse(b.tables.allSatisfy { $0.rows.isEmpty }, "\(P.name) folded nothing", file: file, line: line)
        }
        check(PipelinesProjector.self)
        check(MigrationsProjector.self)
        check(RollbacksProjector.self)
        check(BlueGreenProjector.self)
        check(EnvironmentsProjector.self)
        check(MetricsProjector.self)
        check(StateProjector.self)

        var all = Projections()
        for e in mixed { all.apply(e) }
        var known = Projections()
        for e in clean { known.apply(e) }
        XCTAssertEqual(all, known)
        let asOf = known.metrics.lastOccurredAt!
        XCTAssertEqual(
            MetricsReport(all.metrics, asOf: asOf, windowDays: 30), MetricsReport(known.metrics, asOf: asOf, windowDays: 30))
        XCTAssertEqual(HealthReport.json(all.metrics, asOf: asOf), HealthReport.json(known.metrics, asOf: asOf))
        XCTAssertEqual(all.state.json(), known.state.json())
    }

    func testKindsResolveOnlyAtSchemaVersionOne() {
        for kind in EventKind.allCases where kind != .unknown {
            XCTAssertEqual(EventKind(type: kind.typeName), kind)
            XCTAssertEqual(EventKind(type: kind.typeName, schemaVersion: 2), .unknown)
            XCTAssertEqual(EventKind(type: kind.typeName.lowercased()), .unknown)
        }
        XCTAssertEqual(EventKind(type: "DeploymentAnnotated"), .unknown)
        XCTAssertEqual(EventKind(type: ""), .unknown)
    }

    /// Every known type with no data, data of another JSON type, or every field of the wrong
    /// type: nothing is created, nothing crashes.
    func testEmptyOrMistypedDataCreatesNoRows() {
        let kinds = EventKind.allCases.filter { $0 != .unknown }
        let bodies: [JSONValue] = [
            [:], [], "text", 42, nil, true,
            // The identifying fields of every stream, of the wrong type.
            [
                "pipelineId": 1, "environment": false, "name": [], "deploymentName": 2.5, "rollbackId": [:],
                "stageOrder": "one",
            ],
        ]
        var log = EventLog()
        for body in bodies {
            for kind in kinds { log.add("any-stream", kind.typeName, "10:00:00", body) }
        }
        var p = Projections()
        for e in log.events { p.apply(e) }
        for t in p.tables + p.state.tables {
            XCTAssertEqual(t.rows.count, 0, "\(t.name) has rows from events without usable identifiers")
        }
        XCTAssertEqual(p.state.json(), StateProjector.fold([]).json().replacingPositionAndTime(of: p.state))
        let report = MetricsReport(p.metrics, asOf: EventLog.instant("12:00:00"), windowDays: 30)
        XCTAssertEqual(report.environments, [])
        let health = HealthReport.json(p.metrics, asOf: EventLog.instant("12:00:00"))
        XCTAssertEqual(health.objectValue?["environment_status"], [])
        XCTAssertEqual(health.objectValue?["recent_rollbacks"], [])
    }

    /// Only the identifiers: rows appear with the seed's defaults and empty values.
    func testOnlyIdentifiersGiveRowsWithDefaults() throws {
        var log = EventLog()
        log.add("environment-e", "EnvironmentConfigured", "09:00:00", ["environment": "e"])
        log.add("migrations-e", "MigrationRegistered", "09:00:01", ["environment": "e", "name": "m"])
        log.add("migrations-e", "MigrationApplied", "09:00:02", ["environment": "e", "name": "m"])
        log.add("pipeline-p", "PipelineStarted", "10:00:00", ["pipelineId": "p"])
        log.add("pipeline-p", "StageStarted", "10:00:01", ["pipelineId": "p"])
        log.add("pipeline-p", "StageFailed", "10:00:02", ["pipelineId": "p", "durationMs": "slow"])
        log.add("pipeline-p", "PipelineFailed", "10:00:03", ["pipelineId": "p"])
        log.add("bluegreen-d", "BlueGreenConfigured", "10:00:04", ["deploymentName": "d"])
        log.add("bluegreen-d", "HealthChecksRecorded", "10:00:05", ["deploymentName": "d", "checks": "none"])
        log.add("bluegreen-d", "TrafficSwitched", "10:00:06", ["deploymentName": "d"])
        log.add("rollback-r", "RollbackStarted", "10:00:07", ["rollbackId": "r"])
        log.add("rollback-r", "RollbackStepExecuted", "10:00:08", ["rollbackId": "r"])
        log.add("rollback-r", "RollbackFailed", "10:00:09", ["rollbackId": "r"])
        var p = Projections()
        for e in log.events { p.apply(e) }

        let env = try XCTUnwrap(p.environments.environment("e"))
        XCTAssertEqual(env.connectionPoolSize, 10)
        XCTAssertEqual(env.maxConnections, 100)
        XCTAssertEqual(env.rollbackPolicy, "manual")
        XCTAssertTrue(env.monitoringEnabled && env.alertingEnabled && env.isActive)
        let m = try XCTUnwrap(p.migrations.migration("m", in: "e"))
        XCTAssertEqual(m.status, "completed")
        XCTAssertTrue(m.isApplied)
        XCTAssertNil(m.executionTimeMs)
        let pipeline = try XCTUnwrap(p.pipelines.pipeline("p"))
        XCTAssertEqual(pipeline.status, "failed")
        XCTAssertEqual(pipeline.pipelineName, "")
        XCTAssertEqual(p.pipelines.stages(of: "p").map(\.status), ["failed"])
        XCTAssertNil(p.pipelines.stages(of: "p").first?.durationMs)
        let bg = try XCTUnwrap(p.blueGreen.deployment("d"))
        XCTAssertEqual(bg.currentActive, "blue", "no activeColor and no toColor: the seed's default stays")
        XCTAssertEqual(bg.deploymentStatus, "completed")
        XCTAssertEqual(bg.healthCheckResults["unknown"]?.objectValue?["checks"], [])
        let rb = try XCTUnwrap(p.rollbacks.rollback("r"))
        XCTAssertEqual(rb.rollbackStatus, "failed")
        XCTAssertEqual(rb.rollbackSteps.count, 1)
        // Reports over it do not trap either.
        let report = MetricsReport(p.metrics, asOf: EventLog.instant("11:00:00"), windowDays: 30)
        XCTAssertEqual(report.environments.map(\.environment), [""])
        XCTAssertEqual(report.environments.first?.failedDeployments, 1)
        XCTAssertNil(report.environments.first?.leadTimeSecondsMedian)
        let applied = p.state.json().objectValue?["environments"]?.objectValue?["e"]?.objectValue?["appliedMigrations"]
        XCTAssertEqual(applied?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue }, ["m"])
    }

    /// The sample history with data fields dropped at random: the fold completes, and the
    /// pipelines table holds exactly the pipelines whose PipelineStarted kept its id.
    func testRandomlyDroppedFieldsNeverCrash() {
        var rng = SplitMix64(seed: 2026)
        var events = EventLog.recorded(SampleHistory.generate(pipelines: 30, seed: 5))
        for i in events.indices {
            guard var o = events[i].data.objectValue else { continue }
            for key in o.keys where rng.next() % 3 == 0 { o.removeValue(forKey: key) }
            events[i].data = .object(o)
        }
        var p = Projections()
        for e in events { p.apply(e) }
        var startedIds: [String] = []
        for e in events where e.type == "PipelineStarted" {
            if let id = e.data.objectValue?["pipelineId"]?.stringValue, !startedIds.contains(id) { startedIds.append(id) }
        }
        XCTAssertGreaterThan(startedIds.count, 5)
        XCTAssertEqual(p.pipelines.pipelines.map(\.pipelineId), startedIds)
        let asOf = p.metrics.lastOccurredAt!
        _ = MetricsReport(p.metrics, asOf: asOf, windowDays: 30).json.canonicalBytes()
        _ = HealthReport.json(p.metrics, asOf: asOf).canonicalBytes()
        _ = p.state.json().canonicalBytes()
        XCTAssertEqual(p.tables.count, 9)
    }
}

extension JSONValue {
    /// This state document with `position` and `occurredAt` taken from `state` (for comparing
    /// a fresh state with one that folded only ignored events).
    fileprivate func replacingPositionAndTime(of state: StateProjector) -> JSONValue {
        var o = objectValue ?? JSONObject()
        let other = state.json().objectValue ?? JSONObject()
        o["position"] = other["position"]
        o["occurredAt"] = other["occurredAt"]
        return .object(o)
    }
}
