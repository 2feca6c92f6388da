public import DeployLogEvents

/// Deployment metrics and the DORA keys as of an instant, over a window of days.
///
/// Only events that occurred at or before `asOf` count. The window holds the pipelines whose
/// `started_at` is in (asOf − windowDays, asOf]; each has the status of its latest terminal event
/// up to `asOf` (or `running`). See `EnvironmentMetrics` for each figure.
public struct MetricsReport: Sendable, Equatable {
    public var asOf: Timestamp
    public var windowDays: Int
    /// One entry per environment with at least one pipeline in the window, by name.
    public var environments: [EnvironmentMetrics]

    public struct StageMetrics: Sendable, Equatable {
        public var stageName: String
        /// Stages that started (and so ran, or are running).
        public var runs: Int
        public var completed: Int
        public var failed: Int
        public var skipped: Int
        /// completed × 100 / runs, 2 decimals.
        public var successRate: Double?
        /// Mean `durationMs` of finished runs, in seconds (3 decimals).
        public var avgDurationSeconds: Double?
    }

    public struct EnvironmentMetrics: Sendable, Equatable {
        public var environment: String
        public var totalDeployments: Int
        public var successfulDeployments: Int
        public var failedDeployments: Int
        public var rolledBackDeployments: Int
        public var runningDeployments: Int
        /// completed × 100 / total, 2 decimals.
        public var successRate: Double?
        /// completed_at − started_at over window pipelines with a terminal event, seconds.
        public var avgDeploymentTimeSeconds: Double?
        public var maxDeploymentTimeSeconds: Double?
        /// completed / window days, 4 decimals.
        public var deploymentsPerDay: Double
        /// Median over completed pipelines of completed_at − gitCommittedAt, seconds.
        public var leadTimeSecondsMedian: Double?
        /// (failed + rolled back) / total, 4 decimals.
        public var changeFailureRate: Double?
        /// Median over failed and rolled-back pipelines of the time to the next completion of
        /// a pipeline of the same environment (pipelines not yet restored are left out).
        public var timeToRestoreSecondsMedian: Double?
        public var stages: [StageMetrics]
    }

    public init(_ m: MetricsProjector, asOf: Timestamp, windowDays: Int, environment: String? = nil) {
        self.asOf = asOf
        self.windowDays = windowDays
        let windowStart = asOf.microseconds - Int64(windowDays) * 86_400_000_000
        // Every pipeline known as of `asOf`, with its status then, grouped by environment.
        struct Row {
            var p: MetricsProjector.PipelineFacts
            var status: String
            var completedAt: Timestamp?
        }
        var byEnvironment: [String: [Row]] = [:]
        for p in m.pipelines where p.startedAt <= asOf {
            if let environment, p.environment != environment { continue }
            let (status, completedAt) = p.status(asOf: asOf)
            byEnvironment[p.environment, default: []].append(Row(p: p, status: status, completedAt: completedAt))
        }
        var out: [EnvironmentMetrics] = []
        for env in byEnvironment.keys.sorted() {
            let all = byEnvironment[env]!
            // Completion times of completed pipelines, sorted: restoring is the next one of these.
            let completions = all.compactMap { $0.status == "completed" ? $0.completedAt?.microseconds : nil }.sorted()
            let window = all.filter { $0.p.startedAt.microseconds > windowStart }
            if window.isEmpty { continue }
            var completed = 0
            var failed = 0
            var rolledBack = 0
            var running = 0
            var durations: [Int64] = []
            var leadTimes: [Int64] = []
            var restores: [Int64] = []
            for r in window {
                switch r.status {
                case "completed": completed += 1
                case "failed": failed += 1
                case "rolled_back": rolledBack += 1
                default: running += 1
                }
                guard let end = r.completedAt?.microseconds else { continue }
                durations.append(end - r.p.startedAt.microseconds)
                if r.status == "completed", let committed = r.p.gitCommittedAt {
                    leadTimes.append(end - committed.microseconds)
                }
                if r.status != "completed", let next = Self.firstGreater(than: end, in: completions) {
                    restores.append(next - end)
                }
            }
            let total = window.count
            out.append(
                EnvironmentMetrics(
                    environment: env, totalDeployments: total, successfulDeployments: completed,
                    failedDeployments: failed, rolledBackDeployments: rolledBack, runningDeployments: running,
                    successRate: Decimals.round(Double(completed) * 100 / Double(total), places: 2),
                    avgDeploymentTimeSeconds: durations.isEmpty
                        ? nil
                        : Decimals.round(Double(durations.reduce(0, +)) / Double(durations.count) / 1e6, places: 3),
                    maxDeploymentTimeSeconds: durations.max().map { Decimals.seconds(microseconds: $0) },
                    deploymentsPerDay: Decimals.round(Double(completed) / Double(max(windowDays, 1)), places: 4),
                    leadTimeSecondsMedian: Self.medianSeconds(leadTimes),
                    changeFailureRate: Decimals.round(Double(failed + rolledBack) / Double(total), places: 4),
                    timeToRestoreSecondsMedian: Self.medianSeconds(restores),
                    stages: Self.stages(window.map(\.p), asOf: asOf)))
        }
        environments = out
    }

    static func firstGreater(than value: Int64, in sorted: [Int64]) -> Int64? {
        var lo = 0
        var hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] <= value { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count ? sorted[lo] : nil
    }

    /// The median of microsecond values, in seconds to 3 decimals; the mean of the two middle
    /// values for an even count; nil for none.
    static func medianSeconds(_ values: [Int64]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let n = s.count
        let median = n % 2 == 1 ? Double(s[n / 2]) : (Double(s[n / 2 - 1]) + Double(s[n / 2])) / 2
        return Decimals.round(median / 1e6, places: 3)
    }

    static func stages(_ pipelines: [MetricsProjector.PipelineFacts], asOf: Timestamp) -> [StageMetrics] {
        struct Acc {
            var order: Int64
            var runs = 0
            var completed = 0
            var failed = 0
            var skipped = 0
            var durationMs: Int64 = 0
            var finished = 0
        }
        var acc: [String: Acc] = [:]
        for p in pipelines {
            for s in p.stages {
                let ended = s.endedAt.map { $0 <= asOf } ?? false
                let started = s.startedAt.map { $0 <= asOf } ?? false
                if !started && !(ended && s.status == "skipped") { continue }
                var a = acc[s.stageName] ?? Acc(order: s.stageOrder)
                a.order = min(a.order, s.stageOrder)
                if s.status == "skipped" {
                    if ended { a.skipped += 1 }
                } else {
                    a.runs += 1
                    if ended {
                        if s.status == "completed" { a.completed += 1 } else { a.failed += 1 }
                        a.finished += 1
                        a.durationMs += s.durationMs ?? 0
                    }
                }
                acc[s.stageName] = a
            }
        }
        return acc.sorted { ($0.value.order, $0.key) < ($1.value.order, $1.key) }.map { name, a in
            StageMetrics(
                stageName: name, runs: a.runs, completed: a.completed, failed: a.failed, skipped: a.skipped,
                successRate: a.runs == 0 ? nil : Decimals.round(Double(a.completed) * 100 / Double(a.runs), places: 2),
                avgDurationSeconds: a.finished == 0
                    ? nil : Decimals.round(Double(a.durationMs) / Double(a.finished) / 1000, places: 3))
        }
    }

    /// `{"asOf", "windowDays", "environments": [...]}` with camelCase keys.
    public var json: JSONValue {
        .object(
            JSONObject([
                ("asOf", .time(asOf)), ("windowDays", .int(windowDays)),
                (
                    "environments",
                    .array(
                        environments.map { m in
                            .object(
                                JSONObject([
                                    ("environment", .string(m.environment)),
                                    ("totalDeployments", .int(m.totalDeployments)),
                                    ("successfulDeployments", .int(m.successfulDeployments)),
                                    ("failedDeployments", .int(m.failedDeployments)),
                                    ("rolledBackDeployments", .int(m.rolledBackDeployments)),
                                    ("runningDeployments", .int(m.runningDeployments)),
                                    ("successRate", .decimal(m.successRate, places: 2)),
                                    ("avgDeploymentTimeSeconds", .decimal(m.avgDeploymentTimeSeconds, places: 3)),
                                    ("maxDeploymentTimeSeconds", .decimal(m.maxDeploymentTimeSeconds, places: 3)),
                                    ("deploymentsPerDay", .decimal(m.deploymentsPerDay, places: 4)),
                                    ("leadTimeSecondsMedian", .decimal(m.leadTimeSecondsMedian, places: 3)),
                                    ("changeFailureRate", .decimal(m.changeFailureRate, places: 4)),
                                    ("timeToRestoreSecondsMedian", .decimal(m.timeToRestoreSecondsMedian, places: 3)),
                                    (
                                        "stages",
                                        .array(
                                            m.stages.map { s in
                                                .object(
                                                    JSONObject([
                                                        ("stageName", .string(s.stageName)), ("runs", .int(s.runs)),
                                                        ("completed", .int(s.completed)), ("failed", .int(s.failed)),
                                                        ("skipped", .int(s.skipped)),
                                                        ("successRate", .decimal(s.successRate, places: 2)),
                                                        (
                                                            "avgDurationSeconds",
                                                            .decimal(s.avgDurationSeconds, places: 3)
                                                        ),
                                                    ]))
                                            })
                                    ),
                                ]))
                        })
                ),
            ]))
    }
}
