public import DeployLogEvents

/// The metrics read model: what `deployment_metrics`, `deployment_performance`,
/// `get_deployment_health()` and the DORA keys are computed from.
///
/// The fold keeps, per pipeline, the facts a report at any instant needs (when it started, each
/// terminal event with its time, each stage's outcome with its times) so that a report "as of"
/// an instant can ignore what occurred after it without folding the log again. Reports are in
/// `MetricsReport` and `HealthReport`.
public struct MetricsProjector: Projector {
    public static let name = "metrics"
    public static let version = 1

    public enum Outcome: String, Sendable, Equatable {
        case completed, failed, rolledBack = "rolled_back"
    }

    public struct StageFacts: Sendable, Equatable {
        public var stageName: String
        public var stageOrder: Int64
        public var startedAt: Timestamp?
        /// When it completed, failed or was skipped, and which.
        public var endedAt: Timestamp?
        public var status: String
        public var durationMs: Int64?
    }

    /// A terminal event of a pipeline: what it said, and when it occurred.
    public struct Terminal: Sendable, Equatable {
        public var outcome: Outcome
        public var at: Timestamp
    }

    public struct PipelineFacts: Sendable, Equatable {
        public var serial: Int
        public var pipelineId: String
        public var pipelineName: String
        public var pipelineVersion: String
        public var environment: String
        public var startedAt: Timestamp
        public var gitCommittedAt: Timestamp?
        public var triggeredBy: String?
        public var gitCommitHash: String?
        public var gitBranch: String?
        /// Terminal events in log order.
        public var terminals: [Terminal] = []
        public var stages: [StageFacts] = []

        /// Status and `completed_at` as of `asOf`: the latest terminal event (in log order) that
        /// occurred at or before it; `running` with no `completed_at` when there is none.
        public func status(asOf: Timestamp) -> (status: String, completedAt: Timestamp?) {
            for t in terminals.reversed() where t.at <= asOf { return (t.outcome.rawValue, t.at) }
            return ("running", nil)
        }
    }

    public struct RollbackFacts: Sendable, Equatable {
        public var rollbackId: String
        public var pipelineSerial: Int?
        public var pipelineId: String?
        public var environment: String
        public var reason: String
        public var rollbackType: String
        public var startedAt: Timestamp
        public var endedAt: Timestamp?
        public var status: String
    }

    public private(set) var pipelines: [PipelineFacts] = []
    public private(set) var rollbacks: [RollbackFacts] = []
    /// The latest `occurredAt` folded: the default "now" of `tables`.
    public private(set) var lastOccurredAt: Timestamp?
    private var index: [String: Int] = [:]
    private var rollbackIndex: [String: Int] = [:]
    private var recent = RecentLookup()

    public init() {}

    public mutating func apply(_ e: ProjectedEvent) {
        if e.kind == .unknown { return }
        if lastOccurredAt.map({ $0 < e.occurredAt }) ?? true { lastOccurredAt = e.occurredAt }
        let d = e.data
        switch e.kind {
        case .pipelineStarted:
            guard let id = d.string("pipelineId") else { return }
            let facts = PipelineFacts(
                serial: index[id].map { pipelines[$0].serial } ?? pipelines.count + 1, pipelineId: id,
                pipelineName: d.string("pipelineName") ?? "", pipelineVersion: d.string("pipelineVersion") ?? "",
                environment: d.string("environment") ?? "", startedAt: e.occurredAt,
                gitCommittedAt: d.timestamp("gitCommittedAt"), triggeredBy: d.string("triggeredBy"),
                gitCommitHash: d.string("gitCommitHash"), gitBranch: d.string("gitBranch"))
            if let i = index[id] {
                pipelines[i] = facts
            } else {
                index[id] = pipelines.count
                pipelines.append(facts)
            }
        case .pipelineCompleted, .pipelineFailed, .pipelineRolledBack:
            guard let id = d.string("pipelineId"), let i = recent.find(id, in: index) else { return }
            let outcome: Outcome =
                e.kind == .pipelineCompleted ? .completed : e.kind == .pipelineFailed ? .failed : .rolledBack
            pipelines[i].terminals.append(Terminal(outcome: outcome, at: e.occurredAt))
        case .stageStarted, .stageCompleted, .stageFailed, .stageSkipped:
            guard let id = d.string("pipelineId"), let i = recent.find(id, in: index) else { return }
            let order = d.int("stageOrder") ?? 0
            var s: Int
            if let existing = pipelines[i].stages.lastIndex(where: { $0.stageOrder == order }) {
                s = existing
            } else {
                pipelines[i].stages.append(
                    StageFacts(stageName: d.string("stageName") ?? "", stageOrder: order, status: "pending"))
                s = pipelines[i].stages.count - 1
            }
            switch e.kind {
            case .stageStarted:
                pipelines[i].stages[s] = StageFacts(
                    stageName: d.string("stageName") ?? "", stageOrder: order, startedAt: e.occurredAt,
                    status: "running")
            case .stageCompleted, .stageFailed:
                pipelines[i].stages[s].endedAt = e.occurredAt
                pipelines[i].stages[s].status = e.kind == .stageCompleted ? "completed" : "failed"
                pipelines[i].stages[s].durationMs = d.int("durationMs")
            default:
                pipelines[i].stages[s].endedAt = e.occurredAt
                pipelines[i].stages[s].status = "skipped"
            }
        case .rollbackStarted:
            guard let id = d.string("rollbackId") else { return }
            let pipelineId = d.string("pipelineId")
            let facts = RollbackFacts(
                rollbackId: id, pipelineSerial: pipelineId.flatMap { index[$0] }.map { pipelines[$0].serial },
                pipelineId: pipelineId, environment: d.string("environment") ?? "", reason: d.string("reason") ?? "",
                rollbackType: d.string("rollbackType") ?? "", startedAt: e.occurredAt, endedAt: nil,
                status: "running")
            if let i = rollbackIndex[id] {
                rollbacks[i] = facts
            } else {
                rollbackIndex[id] = rollbacks.count
                rollbacks.append(facts)
            }
        case .rollbackCompleted, .rollbackFailed:
            guard let id = d.string("rollbackId"), let i = rollbackIndex[id] else { return }
            rollbacks[i].endedAt = e.occurredAt
            rollbacks[i].status = e.kind == .rollbackCompleted ? "completed" : "failed"
        default: break
        }
    }

    // MARK: Tables

    public static let metricsColumns = [
        "environment", "total_deployments", "successful_deployments", "failed_deployments", "rollback_deployments",
        "success_rate", "avg_deployment_time_seconds", "max_deployment_time_seconds",
    ]

    public static let performanceColumns = [
        "pipeline_name", "environment", "status", "deployment_duration_seconds", "performance_category",
        "triggered_by", "git_commit_hash", "git_branch",
        // Extra columns.
        "pipeline_id", "completed_at",
    ]

    /// `deployment_metrics` as of the latest event folded (the seed's view as of "now"), and
    /// `deployment_performance`.
    public var tables: [Table] { tables(asOf: lastOccurredAt ?? Timestamp(microsecondsSinceEpoch: 0)) }

    /// `deployment_metrics` (30-day window) and `deployment_performance` as of `asOf`.
    public func tables(asOf: Timestamp) -> [Table] {
        let report = MetricsReport(self, asOf: asOf, windowDays: 30)
        let metrics = report.environments.map { m -> [JSONValue] in
            [
                .string(m.environment), .int(m.totalDeployments), .int(m.successfulDeployments),
                .int(m.failedDeployments), .int(m.rolledBackDeployments), .decimal(m.successRate, places: 2),
                .decimal(m.avgDeploymentTimeSeconds, places: 3), .decimal(m.maxDeploymentTimeSeconds, places: 3),
            ]
        }
        var finished: [(p: PipelineFacts, status: String, completedAt: Timestamp)] = []
        for p in pipelines where p.startedAt <= asOf {
            let (status, completedAt) = p.status(asOf: asOf)
            if let completedAt { finished.append((p, status, completedAt)) }
        }
        finished.sort { ($0.completedAt, $0.p.serial) > ($1.completedAt, $1.p.serial) }
        let performance = finished.map { f -> [JSONValue] in
            let seconds = Decimals.seconds(microseconds: f.completedAt.microseconds - f.p.startedAt.microseconds)
            return [
                .string(f.p.pipelineName), .string(f.p.environment), .string(f.status), .decimal(seconds, places: 3),
                .string(Self.performanceCategory(seconds: seconds)), .text(f.p.triggeredBy), .text(f.p.gitCommitHash),
                .text(f.p.gitBranch), .string(f.p.pipelineId), .time(f.completedAt),
            ]
        }
        return [
            Table(name: "deployment_metrics", columns: Self.metricsColumns, rows: metrics),
            Table(name: "deployment_performance", columns: Self.performanceColumns, rows: performance),
        ]
    }

    /// The seed's categories: `FAST` under 300 s, `NORMAL` under 900 s, else `SLOW`.
    public static func performanceCategory(seconds: Double) -> String {
        seconds < 300 ? "FAST" : seconds < 900 ? "NORMAL" : "SLOW"
    }
}
