import DeployLogEvents
import DeployLogProjections
import DeployLogStore
import DeployLogTestSupport
import XCTest

/// The metrics of a generated 45-day history of three environments, folded from a real file
/// store, against the same figures computed a second, independent way straight from the
/// generated events (the code below, not the projector's).
final class MetricsTests: XCTestCase {
    static let day: Int64 = 86_400_000_000
    /// Enough pipelines for the history to span more than 45 days from its start.
    static let pipelines = 165

    private static let history = SampleHistory.generate(pipelines: pipelines, seed: 45)

    private func withHistoryStore(_ body: (MetricsProjector) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let store = try FileStore.create(at: dir + "/store")
            let events = Self.history
            var i = 0
            while i < events.count {
                try store.append(Array(events[i..<min(i + 500, events.count)]))
                i += 500
            }
            XCTAssertEqual(try store.head().position, Int64(events.count))
            try body(try Projections.fold(MetricsProjector.self, store))
        }
    }

    func testHistorySpansFortyFiveDaysOfThreeEnvironments() throws {
        let times = Self.history.compactMap(\.occurredAt)
        XCTAssertEqual(times.count, Self.history.count, "every generated event carries occurredAt")
        let start = SampleHistory.defaultStart.microseconds
        XCTAssertEqual(times.first?.microseconds, start)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(times.last).microseconds - start, 45 * Self.day)
        let pipelines = Independent(Self.history).pipelines
        XCTAssertEqual(pipelines.count, Self.pipelines)
        XCTAssertEqual(Set(pipelines.map(\.environment)), ["development", "staging", "production"])
    }

    func testReportMatchesAnIndependentComputation() throws {
        let independent = Independent(Self.history)
        let start = SampleHistory.defaultStart.microseconds
        let lastEvent = try XCTUnwrap(Self.history.last?.occurredAt)
        let instants = [
            Timestamp(microsecondsSinceEpoch: start + 40 * Self.day + 7 * 3_600_000_000 + 13 * 60_000_000),
            Timestamp(microsecondsSinceEpoch: start + 31 * Self.day),
            Timestamp(microsecondsSinceEpoch: start + 12 * Self.day + 1),
            lastEvent,
        ]
        try withHistoryStore { m in
            var failures = 0
            var rolledBack = 0
            var restores = 0
            for asOf in instants {
                for windowDays in [30, 7] {
                    let report = MetricsReport(m, asOf: asOf, windowDays: windowDays)
                    let expected = independent.metrics(asOf: asOf, windowDays: windowDays)
                    compare(report, expected, "as of \(asOf), \(windowDays) days")
                    failures += expected.map(\.failed).reduce(0, +)
                    rolledBack += expected.map(\.rolledBack).reduce(0, +)
                    restores += expected.filter { $0.timeToRestoreMedian != nil }.count
                }
            }
            // Not vacuous: failures, rollbacks and restores are all in there.
            XCTAssertGreaterThan(failures, 0)
            XCTAssertGreaterThan(rolledBack, 0)
            XCTAssertGreaterThan(restores, 0)

            // The main instant, 30 days, every environment present and the filter by environment.
            let asOf = instants[0]
            let report = MetricsReport(m, asOf: asOf, windowDays: 30)
            XCTAssertEqual(report.environments.map(\.environment), ["development", "production", "staging"])
            XCTAssertTrue(report.environments.contains { $0.failedDeployments + $0.rolledBackDeployments > 0 })
            let staging = MetricsReport(m, asOf: asOf, windowDays: 30, environment: "staging")
            XCTAssertEqual(staging.environments, report.environments.filter { $0.environment == "staging" })

            // The JSON carries the same figures.
            let json = try XCTUnwrap(report.json.objectValue)
            XCTAssertEqual(json["windowDays"], 30)
            XCTAssertEqual(json["asOf"], .string(asOf.canonicalText))
            let envs = try XCTUnwrap(json["environments"]?.arrayValue)
            for (o, e) in zip(envs, report.environments) {
                XCTAssertEqual(o.objectValue?["environment"], .string(e.environment))
                XCTAssertEqual(o.objectValue?["totalDeployments"], .number(JSONNumber(e.totalDeployments)))
                XCTAssertEqual(o.objectValue?["rolledBackDeployments"], .number(JSONNumber(e.rolledBackDeployments)))
                XCTAssertEqual(
                    o.objectValue?["changeFailureRate"]?.numberValue?.doubleValue, e.changeFailureRate)
            }
        }
    }

    func testAsOfInTheMiddleOfAPipelineCountsItAsRunning() throws {
        let independent = Independent(Self.history)
        let start = SampleHistory.defaultStart.microseconds
        // The first pipeline started after day 35 that finished later than it started.
        let p = try XCTUnwrap(
            independent.pipelines.first {
                $0.startedAt.microseconds > start + 35 * Self.day && !$0.terminals.isEmpty
                    && $0.terminals[0].at.microseconds > $0.startedAt.microseconds + 1
            })
        let end = try XCTUnwrap(p.terminals.first).at
        let middle = Timestamp(microsecondsSinceEpoch: (p.startedAt.microseconds + end.microseconds) / 2)
        XCTAssertEqual(p.status(asOf: middle).status, "running")
        try withHistoryStore { m in
            let report = MetricsReport(m, asOf: middle, windowDays: 30)
            let env = try XCTUnwrap(report.environments.first { $0.environment == p.environment })
            let expected = try XCTUnwrap(
                independent.metrics(asOf: middle, windowDays: 30).first { $0.environment == p.environment })
            XCTAssertGreaterThanOrEqual(env.runningDeployments, 1)
            XCTAssertEqual(env.runningDeployments, expected.running)
            XCTAssertEqual(env.totalDeployments, expected.total)
            // One microsecond before its start it is not counted; at its end it is finished.
            let before = Timestamp(microsecondsSinceEpoch: p.startedAt.microseconds - 1)
            XCTAssertEqual(p.status(asOf: before).status, "running")
            compare(MetricsReport(m, asOf: before, windowDays: 30), independent.metrics(asOf: before, windowDays: 30), "before")
            compare(MetricsReport(m, asOf: end, windowDays: 30), independent.metrics(asOf: end, windowDays: 30), "at its end")
            let total = { (r: MetricsReport) in r.environments.first { $0.environment == p.environment }?.totalDeployments ?? 0 }
            XCTAssertEqual(total(MetricsReport(m, asOf: before, windowDays: 30)) + 1, env.totalDeployments)
            XCTAssertNotEqual(p.status(asOf: end).status, "running")
        }
    }

    // MARK: Comparison

    private func compare(_ report: MetricsReport, _ expected: [Independent.Figures], _ context: String) {
        XCTAssertEqual(report.environments.map(\.environment), expected.map(\.environment), context)
        for (r, e) in zip(report.environments, expected) {
            let c = "\(context), \(e.environment)"
            XCTAssertEqual(r.totalDeployments, e.total, c)
            XCTAssertEqual(r.successfulDeployments, e.completed, c)
            XCTAssertEqual(r.failedDeployments, e.failed, c)
            XCTAssertEqual(r.rolledBackDeployments, e.rolledBack, c)
            XCTAssertEqual(r.runningDeployments, e.running, c)
            XCTAssertEqual(r.totalDeployments, e.completed + e.failed + e.rolledBack + e.running, c)
            // Within rounding: half a unit of the last decimal kept (plus floating-point slack).
            assertClose(r.successRate, e.successRate, 0.005, "successRate \(c)")
            assertClose(r.avgDeploymentTimeSeconds, e.avgSeconds, 0.0005, "avg time \(c)")
            assertClose(r.maxDeploymentTimeSeconds, e.maxSeconds, 0.0005, "max time \(c)")
            assertClose(r.deploymentsPerDay, e.deploymentsPerDay, 0.00005, "deployments per day \(c)")
            assertClose(r.leadTimeSecondsMedian, e.leadTimeMedian, 0.0005, "lead time \(c)")
            assertClose(r.changeFailureRate, e.changeFailureRate, 0.00005, "change failure rate \(c)")
            assertClose(r.timeToRestoreSecondsMedian, e.timeToRestoreMedian, 0.0005, "time to restore \(c)")
            XCTAssertEqual(r.stages.map(\.stageName).sorted(), e.stages.keys.sorted(), c)
            for s in r.stages {
                guard let x = e.stages[s.stageName] else { continue }
                XCTAssertEqual(s.runs, x.runs, "\(s.stageName) runs \(c)")
                XCTAssertEqual(s.completed, x.completed, "\(s.stageName) completed \(c)")
                XCTAssertEqual(s.failed, x.failed, "\(s.stageName) failed \(c)")
                XCTAssertEqual(s.skipped, x.skipped, "\(s.stageName) skipped \(c)")
                assertClose(
                    s.successRate, x.runs == 0 ? nil : Double(x.completed) * 100 / Double(x.runs), 0.005,
                    "\(s.stageName) success rate \(c)")
                assertClose(
                    s.avgDurationSeconds,
                    x.finished == 0 ? nil : Double(x.durationMs) / Double(x.finished) / 1000, 0.0005,
                    "\(s.stageName) avg duration \(c)")
            }
        }
    }

    private func assertClose(
        _ actual: Double?, _ expected: Double?, _ halfUnit: Double, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let actual, let expected else {
            XCTAssertEqual(actual == nil, expected == nil, "\(message): \(String(describing: actual)) vs \(String(describing: expected))", file: file, line: line)
            return
        }
        XCTAssertEqual(actual, expected, accuracy: halfUnit * (1 + 1e-9) + 1e-9, message, file: file, line: line)
    }
}

/// The metrics computed straight from the generated events, in the plainest way: one record
/// per pipeline with its start, commit time, terminal events in log order and stages.
struct Independent {
    struct Stage {
        var name: String
        var startedAt: Timestamp?
        var endedAt: Timestamp?
        var outcome: String?
        var durationMs: Int64?
    }

    struct Pipeline {
        var id: String
        var environment: String
        var startedAt: Timestamp
        var committedAt: Timestamp?
        var terminals: [(status: String, at: Timestamp)] = []
        /// By stage order.
        var stages: [Int64: Stage] = [:]

        /// The latest terminal event, in log order, that occurred at or before `asOf`.
        func status(asOf: Timestamp) -> (status: String, at: Timestamp?) {
            let done = terminals.filter { $0.at <= asOf }
            guard let last = done.last else { return ("running", nil) }
            return (last.status, last.at)
        }
    }

    struct StageFigures {
        var runs = 0
        var completed = 0
        var failed = 0
        var skipped = 0
        var finished = 0
        var durationMs: Int64 = 0
    }

    struct Figures {
        var environment: String
        var total = 0
        var completed = 0
        var failed = 0
        var rolledBack = 0
        var running = 0
        var successRate: Double?
        var avgSeconds: Double?
        var maxSeconds: Double?
        var deploymentsPerDay: Double?
        var leadTimeMedian: Double?
        var changeFailureRate: Double?
        var timeToRestoreMedian: Double?
        var stages: [String: StageFigures] = [:]
    }

    var pipelines: [Pipeline] = []

    init(_ events: [ProposedEvent]) {
        var byId: [String: Int] = [:]
        for e in events {
            guard let d = e.data.objectValue, let id = d["pipelineId"]?.stringValue, let at = e.occurredAt else { continue }
            switch e.type {
            case "PipelineStarted":
                byId[id] = pipelines.count
                pipelines.append(
                    Pipeline(
                        id: id, environment: d["environment"]!.stringValue!, startedAt: at,
                        committedAt: d["gitCommittedAt"]?.stringValue.flatMap { Timestamp(iso8601: $0) }))
            case "PipelineCompleted": pipelines[byId[id]!].terminals.append(("completed", at))
            case "PipelineFailed": pipelines[byId[id]!].terminals.append(("failed", at))
            case "PipelineRolledBack": pipelines[byId[id]!].terminals.append(("rolled_back", at))
            case "StageStarted", "StageCompleted", "StageFailed", "StageSkipped":
                let order = d["stageOrder"]!.numberValue!.int64Value!
                var s = pipelines[byId[id]!].stages[order] ?? Stage(name: d["stageName"]!.stringValue!)
                switch e.type {
                case "StageStarted": s.startedAt = at
                case "StageSkipped":
                    s.endedAt = at
                    s.outcome = "skipped"
                default:
                    s.endedAt = at
                    s.outcome = e.type == "StageCompleted" ? "completed" : "failed"
                    s.durationMs = d["durationMs"]!.numberValue!.int64Value!
                }
                pipelines[byId[id]!].stages[order] = s
            default: break
            }
        }
    }

    static func median(_ values: [Int64]) -> Double? {
        if values.isEmpty { return nil }
        let s = values.sorted()
        let n = s.count
        let mid = n % 2 == 1 ? Double(s[n / 2]) : Double(s[n / 2 - 1] + s[n / 2]) / 2
        return mid / 1_000_000
    }

    /// Per environment with a pipeline in the window, by name.
    func metrics(asOf: Timestamp, windowDays: Int) -> [Figures] {
        let windowStart = asOf.microseconds - Int64(windowDays) * 86_400_000_000
        let known = pipelines.filter { $0.startedAt <= asOf }
        var out: [Figures] = []
        for env in Set(known.map(\.environment)).sorted() {
            let mine = known.filter { $0.environment == env }
            let window = mine.filter { $0.startedAt.microseconds > windowStart }
            if window.isEmpty { continue }
            // Every completion in this environment up to asOf, window or not.
            let completions = mine.compactMap { p -> Int64? in
                let (status, at) = p.status(asOf: asOf)
                return status == "completed" ? at!.microseconds : nil
            }
            var f = Figures(environment: env)
            var durations: [Int64] = []
            var leads: [Int64] = []
            var restores: [Int64] = []
            for p in window {
                let (status, at) = p.status(asOf: asOf)
                f.total += 1
                switch status {
                case "completed": f.completed += 1
                case "failed": f.failed += 1
                case "rolled_back": f.rolledBack += 1
                default: f.running += 1
                }
                if let at {
                    durations.append(at.microseconds - p.startedAt.microseconds)
                    if status == "completed", let c = p.committedAt { leads.append(at.microseconds - c.microseconds) }
                    if status == "failed" || status == "rolled_back",
                        let next = completions.filter({ $0 > at.microseconds }).min()
                    {
                        restores.append(next - at.microseconds)
                    }
                }
                for s in p.stages.values {
                    var x = f.stages[s.name] ?? StageFigures()
                    let started = s.startedAt.map { $0 <= asOf } ?? false
                    let ended = s.endedAt.map { $0 <= asOf } ?? false
                    if started {
                        x.runs += 1
                        if ended {
                            x.finished += 1
                            x.durationMs += s.durationMs ?? 0
                            if s.outcome == "completed" { x.completed += 1 } else { x.failed += 1 }
                        }
                    } else if ended && s.outcome == "skipped" {
                        x.skipped += 1
                    } else {
                        continue
                    }
                    f.stages[s.name] = x
                }
            }
            f.successRate = Double(f.completed) * 100 / Double(f.total)
            if !durations.isEmpty {
                f.avgSeconds = Double(durations.reduce(0, +)) / Double(durations.count) / 1_000_000
                f.maxSeconds = Double(durations.max()!) / 1_000_000
            }
            f.deploymentsPerDay = Double(f.completed) / Double(windowDays)
            f.leadTimeMedian = Self.median(leads)
            f.changeFailureRate = Double(f.failed + f.rolledBack) / Double(f.total)
            f.timeToRestoreMedian = Self.median(restores)
            out.append(f)
        }
        return out
    }
}
