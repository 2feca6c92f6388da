// The `rollback` events of catalog v1: stream `rollback-<rollbackId>`.
// Each type is also described, as data, in `events/<Type>.v1.json`; the two must agree
// (CatalogAgreementTests fails when they differ).

/// What started a rollback.
public enum RollbackType: String, CatalogEnum {
    case automatic
    case manual
    case healthCheckFailure = "health_check_failure"
}

/// A rollback began: the log is replayed to an earlier consistent state, then compensating steps make the databases match it.
///
/// Stream `rollback-<rollbackId>`; catalog file `events/RollbackStarted.v1.json`.
public struct RollbackStarted: DeployLogEvent {
    public static let eventType = "RollbackStarted"
    public static let schemaVersion = 1
    public static let streamCategory = "rollback"
    public static let streamIDField = "rollbackId"
    public static let fields: [EventField] = [
        .required(
            "rollbackId", .string,
            "Identifier of the rollback (a UUID unless the producer has its own); also the stream id."),
        .required("environment", .string, "Environment being rolled back."),
        .optional("pipelineId", .string, "The pipeline run being rolled back, if any."),
        .required("reason", .string, "Why the rollback was started.").bounded(200, by: "deployment_rollbacks.rollback_reason"),
        .required("rollbackType", .enumeration(RollbackType.self), "What started it."),
        .optional("previousVersion", .string, "Version in place before the rollback.").bounded(50, by: "deployment_rollbacks.previous_version"),
        .optional("targetVersion", .string, "Version the rollback returns to.").bounded(50, by: "deployment_rollbacks.target_version"),
        .required(
            "targetPosition", .integer,
            "Global log position of the state restored: the state right after the event at this position."),
    ]

    /// Identifier of the rollback (a UUID unless the producer has its own); also the stream id.
    public var rollbackId: String
    /// Environment being rolled back.
    public var environment: String
    /// The pipeline run being rolled back, if any.
    public var pipelineId: String?
    /// Why the rollback was started.
    public var reason: String
    /// What started it.
    public var rollbackType: RollbackType
    /// Version in place before the rollback.
    public var previousVersion: String?
    /// Version the rollback returns to.
    public var targetVersion: String?
    /// Global log position of the state restored: the state right after the event at this position.
    public var targetPosition: Int64

    public var streamID: String { rollbackId }

    public init(
        rollbackId: String, environment: String, pipelineId: String? = nil, reason: String,
        rollbackType: RollbackType, previousVersion: String? = nil, targetVersion: String? = nil,
        targetPosition: Int64
    ) {
        self.rollbackId = rollbackId
        self.environment = environment
        self.pipelineId = pipelineId
        self.reason = reason
        self.rollbackType = rollbackType
        self.previousVersion = previousVersion
        self.targetVersion = targetVersion
        self.targetPosition = targetPosition
    }
}

/// One compensating step of a rollback ran.
///
/// Stream `rollback-<rollbackId>`; catalog file `events/RollbackStepExecuted.v1.json`.
public struct RollbackStepExecuted: DeployLogEvent {
    public static let eventType = "RollbackStepExecuted"
    public static let schemaVersion = 1
    public static let streamCategory = "rollback"
    public static let streamIDField = "rollbackId"
    public static let fields: [EventField] = [
        .required("rollbackId", .string, "The rollback; also the stream id."),
        .required("step", .integer, "Order of the step within the rollback, from 1."),
        .required("action", .string, "What the step did, e.g. `run_rollback_sql` or `switch_traffic`."),
        .required("target", .string, "What the step acted on, e.g. a migration name or a blue-green pair."),
        .required("durationMs", .integer, "How long the step ran, in milliseconds."),
        .optional("output", .string, "What the step printed or reported."),
    ]

    /// The rollback; also the stream id.
    public var rollbackId: String
    /// Order of the step within the rollback, from 1.
    public var step: Int
    /// What the step did, e.g. `run_rollback_sql` or `switch_traffic`.
    public var action: String
    /// What the step acted on, e.g. a migration name or a blue-green pair.
    public var target: String
    /// How long the step ran, in milliseconds.
    public var durationMs: Int64
    /// What the step printed or reported.
    public var output: String?

    public var streamID: String { rollbackId }

    public init(
        rollbackId: String, step: Int, action: String, target: String, durationMs: Int64, output: String? = nil
    ) {
        self.rollbackId = rollbackId
        self.step = step
        self.action = action
        self.target = target
        self.durationMs = durationMs
        self.output = output
    }
}

/// Every step of the rollback ran: the environment is back at the target state.
///
/// Stream `rollback-<rollbackId>`; catalog file `events/RollbackCompleted.v1.json`.
public struct RollbackCompleted: DeployLogEvent {
    public static let eventType = "RollbackCompleted"
    public static let schemaVersion = 1
    public static let streamCategory = "rollback"
    public static let streamIDField = "rollbackId"
    public static let fields: [EventField] = [
        .required("rollbackId", .string, "The rollback; also the stream id.")
    ]

    /// The rollback; also the stream id.
    public var rollbackId: String

    public var streamID: String { rollbackId }

    public init(rollbackId: String) {
        self.rollbackId = rollbackId
    }
}

/// A rollback could not finish; the steps after the failure did not run.
///
/// Stream `rollback-<rollbackId>`; catalog file `events/RollbackFailed.v1.json`.
public struct RollbackFailed: DeployLogEvent {
    public static let eventType = "RollbackFailed"
    public static let schemaVersion = 1
    public static let streamCategory = "rollback"
    public static let streamIDField = "rollbackId"
    public static let fields: [EventField] = [
        .required("rollbackId", .string, "The rollback; also the stream id."),
        .optional("failedStep", .integer, "The step that failed, when a step failed."),
        .required("error", .string, "Why the rollback failed."),
    ]

    /// The rollback; also the stream id.
    public var rollbackId: String
    /// The step that failed, when a step failed.
    public var failedStep: Int?
    /// Why the rollback failed.
    public var error: String

    public var streamID: String { rollbackId }

    public init(rollbackId: String, failedStep: Int? = nil, error: String) {
        self.rollbackId = rollbackId
        self.failedStep = failedStep
        self.error = error
    }
}
