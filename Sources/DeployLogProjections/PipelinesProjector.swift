public import DeployLogEvents

/// `deployment_pipelines` and `deployment_stages`.
///
/// A pipeline's row appears on its PipelineStarted (`created_at` = `started_at` = its
/// `occurredAt`, status `running`); its status is that of its latest terminal event
/// (PipelineCompleted `completed`, PipelineFailed `failed`, PipelineRolledBack `rolled_back`)
/// and `completed_at` that event's `occurredAt`. Stage rows are keyed by (pipeline, stage
/// order): StageStarted makes one `running`, StageCompleted/StageFailed finish it, StageSkipped
/// records one that never ran (its `stage_type` is `unknown` unless it started before).
/// Events of a pipeline whose PipelineStarted was never seen are ignored.
public struct PipelinesProjector: Projector {
    public static let name = "pipelines"
    public static let version = 1

    public struct Pipeline: Sendable, Equatable {
        /// The seed's serial id: 1, 2, 3 … in order of PipelineStarted.
        public var id: Int
        public var pipelineId: String
        public var pipelineName: String
        public var pipelineVersion: String
        public var environment: String
        public var status: String
        public var startedAt: Timestamp
        public var completedAt: Timestamp?
        public var triggeredBy: String?
        public var gitCommitHash: String?
        public var gitBranch: String?
        public var gitCommittedAt: Timestamp?
        public var deploymentConfig: JSONValue
        public var failedStage: String?
        public var errorMessage: String?
        public var rollbackId: String?
        /// The position of the last event that changed this row.
        public var lastPosition: Int64
        /// Indexes into `stages` of this pipeline's stages, in order of first sight.
        var stageIndexes: [Int] = []
    }

    public struct Stage: Sendable, Equatable {
        public var id: Int
        /// The serial id of the pipeline (`deployment_pipelines.id`).
        public var pipelineSerial: Int
        public var stageName: String
        public var stageOrder: Int64
        public var stageType: String
        public var status: String
        public var startedAt: Timestamp?
        public var completedAt: Timestamp?
        public var durationMs: Int64?
        public var stageConfig: JSONValue
        public var stageOutput: String?
        public var errorMessage: String?
        public var lastPosition: Int64
    }

    public private(set) var pipelines: [Pipeline] = []
    public private(set) var stages: [Stage] = []
    private var index: [String: Int] = [:]
    private var recent = RecentLookup()

    public init() {}

    /// The row of `pipelineId`, if it started.
    public func pipeline(_ pipelineId: String) -> Pipeline? { index[pipelineId].map { pipelines[$0] } }

    /// The stages of `pipelineId`, in order of first sight.
    public func stages(of pipelineId: String) -> [Stage] {
        guard let i = index[pipelineId] else { return [] }
        return pipelines[i].stageIndexes.map { stages[$0] }
    }

    public mutating func apply(_ e: ProjectedEvent) {
        switch e.kind {
        case .pipelineStarted: started(e)
        case .stageStarted, .stageCompleted, .stageFailed, .stageSkipped: stage(e)
        case .pipelineCompleted, .pipelineFailed, .pipelineRolledBack: terminal(e)
        default: break
        }
    }

    private mutating func started(_ e: ProjectedEvent) {
        let d = e.data
        guard let pipelineId = d.string("pipelineId") else { return }
        var row = Pipeline(
            id: pipelines.count + 1, pipelineId: pipelineId, pipelineName: d.string("pipelineName") ?? "",
            pipelineVersion: d.string("pipelineVersion") ?? "", environment: d.string("environment") ?? "",
            status: "running", startedAt: e.occurredAt, completedAt: nil, triggeredBy: d.string("triggeredBy"),
            gitCommitHash: d.string("gitCommitHash"), gitBranch: d.string("gitBranch"),
            gitCommittedAt: d.timestamp("gitCommittedAt"), deploymentConfig: d.value("config") ?? .object(JSONObject()),
            failedStage: nil, errorMessage: nil, rollbackId: nil, lastPosition: e.position)
        if let i = index[pipelineId] {
            // A repeated PipelineStarted restarts the same row (its id and stages stay).
            row.id = pipelines[i].id
            row.stageIndexes = pipelines[i].stageIndexes
            pipelines[i] = row
        } else {
            index[pipelineId] = pipelines.count
            pipelines.append(row)
        }
    }

    private mutating func stage(_ e: ProjectedEvent) {
        let d = e.data
        guard let pipelineId = d.string("pipelineId"), let p = recent.find(pipelineId, in: index) else { return }
        let order = d.int("stageOrder") ?? 0
        let name = d.string("stageName") ?? ""
        var s: Int
        if let existing = pipelines[p].stageIndexes.first(where: { stages[$0].stageOrder == order }) {
            s = existing
        } else {
            s = stages.count
            stages.append(
                Stage(
                    id: stages.count + 1, pipelineSerial: pipelines[p].id, stageName: name, stageOrder: order,
                    stageType: "unknown", status: "pending", startedAt: nil, completedAt: nil, durationMs: nil,
                    stageConfig: .object(JSONObject()), stageOutput: nil, errorMessage: nil, lastPosition: e.position))
            pipelines[p].stageIndexes.append(s)
        }
        stages[s].stageName = name
        stages[s].lastPosition = e.position
        switch e.kind {
        case .stageStarted:
            stages[s].status = "running"
            stages[s].stageType = d.string("stageType") ?? stages[s].stageType
            stages[s].stageConfig = d.value("config") ?? .object(JSONObject())
            stages[s].startedAt = e.occurredAt
            stages[s].completedAt = nil
            stages[s].durationMs = nil
            stages[s].stageOutput = nil
            stages[s].errorMessage = nil
        case .stageCompleted, .stageFailed:
            stages[s].status = e.kind == .stageCompleted ? "completed" : "failed"
            stages[s].completedAt = e.occurredAt
            stages[s].durationMs = d.int("durationMs")
            stages[s].stageOutput = d.string("output")
            stages[s].errorMessage = e.kind == .stageFailed ? d.string("error") : nil
        default:  // skipped
            stages[s].status = "skipped"
            stages[s].stageType = d.string("stageType") ?? stages[s].stageType
            stages[s].completedAt = e.occurredAt
            stages[s].stageOutput = d.string("reason")
        }
        pipelines[p].lastPosition = e.position
    }

    private mutating func terminal(_ e: ProjectedEvent) {
        let d = e.data
        guard let pipelineId = d.string("pipelineId"), let p = recent.find(pipelineId, in: index) else { return }
        switch e.kind {
        case .pipelineCompleted: pipelines[p].status = "completed"
        case .pipelineFailed:
            pipelines[p].status = "failed"
            pipelines[p].failedStage = d.string("failedStage")
            pipelines[p].errorMessage = d.string("error")
        default:
            pipelines[p].status = "rolled_back"
            pipelines[p].rollbackId = d.string("rollbackId")
        }
        pipelines[p].completedAt = e.occurredAt
        pipelines[p].lastPosition = e.position
    }

    public static let pipelineColumns = [
        "id", "pipeline_name", "pipeline_version", "environment", "status", "started_at", "completed_at",
        "triggered_by", "git_commit_hash", "git_branch", "deployment_config", "created_at",
        // Extra columns: the log's own id of the pipeline, lead time input, failure details, provenance.
        "pipeline_id", "git_committed_at", "failed_stage", "error_message", "rollback_id", "last_position",
    ]

    public static let stageColumns = [
        "id", "pipeline_id", "stage_name", "stage_order", "stage_type", "status", "started_at", "completed_at",
        "duration_ms", "stage_config", "stage_output", "error_message", "last_position",
    ]

    public var tables: [Table] {
        [
            Table(
                name: "deployment_pipelines", columns: Self.pipelineColumns,
                rows: pipelines.map { p in
                    [
                        .int(p.id), .string(p.pipelineName), .string(p.pipelineVersion), .string(p.environment),
                        .string(p.status), .time(p.startedAt), .time(p.completedAt), .text(p.triggeredBy),
                        .text(p.gitCommitHash), .text(p.gitBranch), p.deploymentConfig, .time(p.startedAt),
                        .string(p.pipelineId), .time(p.gitCommittedAt), .text(p.failedStage), .text(p.errorMessage),
                        .text(p.rollbackId), .int(p.lastPosition),
                    ]
                }),
            Table(
                name: "deployment_stages", columns: Self.stageColumns,
                rows: stages.map { s in
                    [
                        .int(s.id), .int(s.pipelineSerial), .string(s.stageName), .int(s.stageOrder),
                        .string(s.stageType), .string(s.status), .time(s.startedAt), .time(s.completedAt),
                        .int(s.durationMs), s.stageConfig, .text(s.stageOutput), .text(s.errorMessage),
                        .int(s.lastPosition),
                    ]
                }),
        ]
    }
}
