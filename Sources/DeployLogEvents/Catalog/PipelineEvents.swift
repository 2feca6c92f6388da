// The `pipeline` events of catalog v1: stream `pipeline-<pipelineId>`.
// Each type is also described, as data, in `events/<Type>.v1.json`; the two must agree
// (CatalogAgreementTests fails when they differ).

/// The kind of a pipeline stage.
public enum StageType: String, CatalogEnum {
    case build, test, deploy, validate, rollback
}

/// A pipeline run began; its stages follow in the same stream. Its `occurredAt` is the run's start.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/PipelineStarted.v1.json`.
public struct PipelineStarted: DeployLogEvent {
    public static let eventType = "PipelineStarted"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required(
            "pipelineId", .string,
            "Identifier of the run (a UUID unless the producer has its own); also the stream id."),
        .required("pipelineName", .string, "Name of the pipeline, e.g. `camera-counting-db`.").bounded(100, by: "deployment_pipelines.pipeline_name"),
        .required("pipelineVersion", .string, "Version being deployed, e.g. `1.3.0`.").bounded(50, by: "deployment_pipelines.pipeline_version"),
        .required("environment", .string, "Environment the run deploys to.").bounded(20, by: "deployment_pipelines.environment"),
        .required("triggeredBy", .string, "Who or what started the run (a user, a CI job).").bounded(100, by: "deployment_pipelines.triggered_by"),
        .optional("gitCommitHash", .string, "Commit being deployed.").bounded(50, by: "deployment_pipelines.git_commit_hash"),
        .optional("gitBranch", .string, "Branch of that commit.").bounded(100, by: "deployment_pipelines.git_branch"),
        .optional("gitCommittedAt", .timestamp, "When that commit was made; lead time is measured from here."),
        .required("config", .object, "The run's configuration, kept as given."),
    ]

    /// Identifier of the run (a UUID unless the producer has its own); also the stream id.
    public var pipelineId: String
    /// Name of the pipeline, e.g. `camera-counting-db`.
    public var pipelineName: String
    /// Version being deployed, e.g. `1.3.0`.
    public var pipelineVersion: String
    /// Environment the run deploys to.
    public var environment: String
    /// Who or what started the run (a user, a CI job).
    public var triggeredBy: String
    /// Commit being deployed.
    public var gitCommitHash: String?
    /// Branch of that commit.
    public var gitBranch: String?
    /// When that commit was made; lead time is measured from here.
    public var gitCommittedAt: Timestamp?
    /// The run's configuration, kept as given.
    public var config: JSONObject

    public var streamID: String { pipelineId }

    public init(
        pipelineId: String, pipelineName: String, pipelineVersion: String, environment: String, triggeredBy: String,
        gitCommitHash: String? = nil, gitBranch: String? = nil, gitCommittedAt: Timestamp? = nil, config: JSONObject
    ) {
        self.pipelineId = pipelineId
        self.pipelineName = pipelineName
        self.pipelineVersion = pipelineVersion
        self.environment = environment
        self.triggeredBy = triggeredBy
        self.gitCommitHash = gitCommitHash
        self.gitBranch = gitBranch
        self.gitCommittedAt = gitCommittedAt
        self.config = config
    }
}

/// A stage of the pipeline run began.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/StageStarted.v1.json`.
public struct StageStarted: DeployLogEvent {
    public static let eventType = "StageStarted"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id."),
        .required("stageName", .string, "Name of the stage, e.g. `Run Unit Tests`.").bounded(100, by: "deployment_stages.stage_name"),
        .required("stageOrder", .integer, "Position of the stage in the pipeline, from 1."),
        .required("stageType", .enumeration(StageType.self), "Kind of stage."),
        .required(
            "config", .object,
            "The stage's configuration (migrations to apply, test suites, target environment, ...), kept as given."),
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String
    /// Name of the stage, e.g. `Run Unit Tests`.
    public var stageName: String
    /// Position of the stage in the pipeline, from 1.
    public var stageOrder: Int
    /// Kind of stage.
    public var stageType: StageType
    /// The stage's configuration (migrations to apply, test suites, target environment, ...), kept as given.
    public var config: JSONObject

    public var streamID: String { pipelineId }

    public init(pipelineId: String, stageName: String, stageOrder: Int, stageType: StageType, config: JSONObject) {
        self.pipelineId = pipelineId
        self.stageName = stageName
        self.stageOrder = stageOrder
        self.stageType = stageType
        self.config = config
    }
}

/// A stage finished successfully.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/StageCompleted.v1.json`.
public struct StageCompleted: DeployLogEvent {
    public static let eventType = "StageCompleted"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id."),
        .required("stageName", .string, "Name of the stage, e.g. `Run Unit Tests`.").bounded(100, by: "deployment_stages.stage_name"),
        .required("stageOrder", .integer, "Position of the stage in the pipeline, from 1."),
        .required("durationMs", .integer, "How long the stage ran, in milliseconds."),
        .optional("output", .string, "What the stage printed or reported."),
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String
    /// Name of the stage, e.g. `Run Unit Tests`.
    public var stageName: String
    /// Position of the stage in the pipeline, from 1.
    public var stageOrder: Int
    /// How long the stage ran, in milliseconds.
    public var durationMs: Int64
    /// What the stage printed or reported.
    public var output: String?

    public var streamID: String { pipelineId }

    public init(pipelineId: String, stageName: String, stageOrder: Int, durationMs: Int64, output: String? = nil) {
        self.pipelineId = pipelineId
        self.stageName = stageName
        self.stageOrder = stageOrder
        self.durationMs = durationMs
        self.output = output
    }
}

/// A stage failed; the stages after it do not run.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/StageFailed.v1.json`.
public struct StageFailed: DeployLogEvent {
    public static let eventType = "StageFailed"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id."),
        .required("stageName", .string, "Name of the stage, e.g. `Run Unit Tests`.").bounded(100, by: "deployment_stages.stage_name"),
        .required("stageOrder", .integer, "Position of the stage in the pipeline, from 1."),
        .required("durationMs", .integer, "How long the stage ran before failing, in milliseconds."),
        .optional("output", .string, "What the stage printed or reported."),
        .required("error", .string, "Why the stage failed."),
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String
    /// Name of the stage, e.g. `Run Unit Tests`.
    public var stageName: String
    /// Position of the stage in the pipeline, from 1.
    public var stageOrder: Int
    /// How long the stage ran before failing, in milliseconds.
    public var durationMs: Int64
    /// What the stage printed or reported.
    public var output: String?
    /// Why the stage failed.
    public var error: String

    public var streamID: String { pipelineId }

    public init(
        pipelineId: String, stageName: String, stageOrder: Int, durationMs: Int64, output: String? = nil,
        error: String
    ) {
        self.pipelineId = pipelineId
        self.stageName = stageName
        self.stageOrder = stageOrder
        self.durationMs = durationMs
        self.output = output
        self.error = error
    }
}

/// A stage was not run.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/StageSkipped.v1.json`.
public struct StageSkipped: DeployLogEvent {
    public static let eventType = "StageSkipped"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id."),
        .required("stageName", .string, "Name of the stage, e.g. `Run Unit Tests`.").bounded(100, by: "deployment_stages.stage_name"),
        .required("stageOrder", .integer, "Position of the stage in the pipeline, from 1."),
        .optional("reason", .string, "Why it was skipped."),
        .optional(
            "stageType", .enumeration(StageType.self),
            "Kind of stage, as the pipeline defines it (a skipped stage has no StageStarted to say it)."),
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String
    /// Name of the stage, e.g. `Run Unit Tests`.
    public var stageName: String
    /// Position of the stage in the pipeline, from 1.
    public var stageOrder: Int
    /// Why it was skipped.
    public var reason: String?
    /// Kind of stage, as the pipeline defines it (a skipped stage has no StageStarted to say it).
    public var stageType: StageType?

    public var streamID: String { pipelineId }

    public init(pipelineId: String, stageName: String, stageOrder: Int, reason: String? = nil, stageType: StageType? = nil) {
        self.pipelineId = pipelineId
        self.stageName = stageName
        self.stageOrder = stageOrder
        self.reason = reason
        self.stageType = stageType
    }
}

/// Every stage of the run completed: the pipeline's status is `completed`.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/PipelineCompleted.v1.json`.
public struct PipelineCompleted: DeployLogEvent {
    public static let eventType = "PipelineCompleted"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id.")
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String

    public var streamID: String { pipelineId }

    public init(pipelineId: String) {
        self.pipelineId = pipelineId
    }
}

/// The run failed: the pipeline's status is `failed` (until a PipelineRolledBack).
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/PipelineFailed.v1.json`.
public struct PipelineFailed: DeployLogEvent {
    public static let eventType = "PipelineFailed"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id."),
        .optional("failedStage", .string, "Name of the stage that failed, when a stage failed."),
        .required("error", .string, "Why the run failed."),
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String
    /// Name of the stage that failed, when a stage failed.
    public var failedStage: String?
    /// Why the run failed.
    public var error: String

    public var streamID: String { pipelineId }

    public init(pipelineId: String, failedStage: String? = nil, error: String) {
        self.pipelineId = pipelineId
        self.failedStage = failedStage
        self.error = error
    }
}

/// The run's changes were rolled back: the pipeline's status is `rolled_back`.
///
/// Stream `pipeline-<pipelineId>`; catalog file `events/PipelineRolledBack.v1.json`.
public struct PipelineRolledBack: DeployLogEvent {
    public static let eventType = "PipelineRolledBack"
    public static let schemaVersion = 1
    public static let streamCategory = "pipeline"
    public static let streamIDField = "pipelineId"
    public static let fields: [EventField] = [
        .required("pipelineId", .string, "The pipeline run; also the stream id."),
        .required("rollbackId", .string, "The rollback that undid the run (its stream is `rollback-<rollbackId>`)."),
    ]

    /// The pipeline run; also the stream id.
    public var pipelineId: String
    /// The rollback that undid the run (its stream is `rollback-<rollbackId>`).
    public var rollbackId: String

    public var streamID: String { pipelineId }

    public init(pipelineId: String, rollbackId: String) {
        self.pipelineId = pipelineId
        self.rollbackId = rollbackId
    }
}
