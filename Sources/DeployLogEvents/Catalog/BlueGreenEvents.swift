// The `bluegreen` events of catalog v1: stream `bluegreen-<deploymentName>`.
// Each type is also described, as data, in `events/<Type>.v1.json`; the two must agree
// (CatalogAgreementTests fails when they differ).

/// One side of a blue-green pair.
public enum BlueGreenColor: String, CatalogEnum {
    case blue, green
}

/// The result of one health check; `warning` does not make a colour unhealthy.
public enum HealthCheckStatus: String, CatalogEnum {
    case pass = "PASS"
    case warning = "WARNING"
    case fail = "FAIL"
}

/// One health check run against a colour of a blue-green pair.
public struct HealthCheck: EventRecord {
    public static let recordName = "HealthCheck"
    public static let fields: [EventField] = [
        .required("name", .string, "Name of the check, e.g. `database_connectivity`."),
        .required(
            "status", .enumeration(HealthCheckStatus.self),
            "Result of the check; WARNING does not make the colour unhealthy."),
        .optional("detail", .string, "What was measured, or what went wrong."),
        .required("durationMs", .integer, "How long the check took, in milliseconds."),
    ]

    /// Name of the check, e.g. `database_connectivity`.
    public var name: String
    /// Result of the check; WARNING does not make the colour unhealthy.
    public var status: HealthCheckStatus
    /// What was measured, or what went wrong.
    public var detail: String?
    /// How long the check took, in milliseconds.
    public var durationMs: Int64

    public init(name: String, status: HealthCheckStatus, detail: String? = nil, durationMs: Int64) {
        self.name = name
        self.status = status
        self.detail = detail
        self.durationMs = durationMs
    }
}

/// A blue-green pair was set up or reconfigured, with the colour that serves traffic.
///
/// Stream `bluegreen-<deploymentName>`; catalog file `events/BlueGreenConfigured.v1.json`.
public struct BlueGreenConfigured: DeployLogEvent {
    public static let eventType = "BlueGreenConfigured"
    public static let schemaVersion = 1
    public static let streamCategory = "bluegreen"
    public static let streamIDField = "deploymentName"
    public static let fields: [EventField] = [
        .required(
            "deploymentName", .string,
            "Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.").bounded(100, by: "blue_green_deployments.deployment_name"),
        .required("blueEnvironment", .string, "Environment that is the blue side.").bounded(100, by: "blue_green_deployments.blue_environment"),
        .required("greenEnvironment", .string, "Environment that is the green side.").bounded(100, by: "blue_green_deployments.green_environment"),
        .optional("blueDatabaseUrl", .string, "Database URL of the blue side, never with a password.").bounded(500, by: "blue_green_deployments.blue_database_url"),
        .optional("greenDatabaseUrl", .string, "Database URL of the green side, never with a password.").bounded(500, by: "blue_green_deployments.green_database_url"),
        .required("activeColor", .enumeration(BlueGreenColor.self), "The colour that serves traffic."),
        .optional(
            "switchCommand", .string,
            "Shell command that moves traffic; run with DEPLOYLOG_COLOR and DEPLOYLOG_DATABASE_URL set to the colour switched to."),
        .optional("healthCheckQuery", .string, "Query a colour must answer to be healthy (the application's own tables)."),
        .optional(
            "slowStatementMs", .integer,
            "A statement whose pg_stat_statements mean_exec_time exceeds this many milliseconds is reported slow."),
    ]

    /// Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.
    public var deploymentName: String
    /// Environment that is the blue side.
    public var blueEnvironment: String
    /// Environment that is the green side.
    public var greenEnvironment: String
    /// Database URL of the blue side, never with a password.
    public var blueDatabaseUrl: String?
    /// Database URL of the green side, never with a password.
    public var greenDatabaseUrl: String?
    /// The colour that serves traffic.
    public var activeColor: BlueGreenColor
    /// Shell command that moves traffic; run with DEPLOYLOG_COLOR and DEPLOYLOG_DATABASE_URL set to the colour switched to.
    public var switchCommand: String?
    /// Query a colour must answer to be healthy (the application's own tables).
    public var healthCheckQuery: String?
    /// A statement whose pg_stat_statements mean_exec_time exceeds this many milliseconds is reported slow.
    public var slowStatementMs: Int64?

    public var streamID: String { deploymentName }

    public init(
        deploymentName: String, blueEnvironment: String, greenEnvironment: String, blueDatabaseUrl: String? = nil,
        greenDatabaseUrl: String? = nil, activeColor: BlueGreenColor, switchCommand: String? = nil,
        healthCheckQuery: String? = nil, slowStatementMs: Int64? = nil
    ) {
        self.deploymentName = deploymentName
        self.blueEnvironment = blueEnvironment
        self.greenEnvironment = greenEnvironment
        self.blueDatabaseUrl = blueDatabaseUrl
        self.greenDatabaseUrl = greenDatabaseUrl
        self.activeColor = activeColor
        self.switchCommand = switchCommand
        self.healthCheckQuery = healthCheckQuery
        self.slowStatementMs = slowStatementMs
    }
}

/// A new version began deploying to the colour that does not serve traffic.
///
/// Stream `bluegreen-<deploymentName>`; catalog file `events/DeployToInactiveStarted.v1.json`.
public struct DeployToInactiveStarted: DeployLogEvent {
    public static let eventType = "DeployToInactiveStarted"
    public static let schemaVersion = 1
    public static let streamCategory = "bluegreen"
    public static let streamIDField = "deploymentName"
    public static let fields: [EventField] = [
        .required(
            "deploymentName", .string,
            "Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id."),
        .required("version", .string, "Version being deployed."),
        .required("targetColor", .enumeration(BlueGreenColor.self), "The colour deployed to (the inactive one)."),
        .optional("pipelineId", .string, "The pipeline run doing the deployment, if any."),
    ]

    /// Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.
    public var deploymentName: String
    /// Version being deployed.
    public var version: String
    /// The colour deployed to (the inactive one).
    public var targetColor: BlueGreenColor
    /// The pipeline run doing the deployment, if any.
    public var pipelineId: String?

    public var streamID: String { deploymentName }

    public init(deploymentName: String, version: String, targetColor: BlueGreenColor, pipelineId: String? = nil) {
        self.deploymentName = deploymentName
        self.version = version
        self.targetColor = targetColor
        self.pipelineId = pipelineId
    }
}

/// Health checks ran against one colour of the pair.
///
/// Stream `bluegreen-<deploymentName>`; catalog file `events/HealthChecksRecorded.v1.json`.
public struct HealthChecksRecorded: DeployLogEvent {
    public static let eventType = "HealthChecksRecorded"
    public static let schemaVersion = 1
    public static let streamCategory = "bluegreen"
    public static let streamIDField = "deploymentName"
    public static let records: [any EventRecord.Type] = [HealthCheck.self]
    public static let fields: [EventField] = [
        .required(
            "deploymentName", .string,
            "Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id."),
        .required("color", .enumeration(BlueGreenColor.self), "The colour checked."),
        .required("healthy", .boolean, "Overall verdict: true when no check failed."),
        .required("checks", .array(.record(HealthCheck.self)), "Each check and its result, in the order they ran."),
    ]

    /// Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.
    public var deploymentName: String
    /// The colour checked.
    public var color: BlueGreenColor
    /// Overall verdict: true when no check failed.
    public var healthy: Bool
    /// Each check and its result, in the order they ran.
    public var checks: [HealthCheck]

    public var streamID: String { deploymentName }

    public init(deploymentName: String, color: BlueGreenColor, healthy: Bool, checks: [HealthCheck]) {
        self.deploymentName = deploymentName
        self.color = color
        self.healthy = healthy
        self.checks = checks
    }
}

/// Traffic began moving from one colour to the other.
///
/// Stream `bluegreen-<deploymentName>`; catalog file `events/TrafficSwitchStarted.v1.json`.
public struct TrafficSwitchStarted: DeployLogEvent {
    public static let eventType = "TrafficSwitchStarted"
    public static let schemaVersion = 1
    public static let streamCategory = "bluegreen"
    public static let streamIDField = "deploymentName"
    public static let fields: [EventField] = [
        .required(
            "deploymentName", .string,
            "Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id."),
        .required("fromColor", .enumeration(BlueGreenColor.self), "The colour that served traffic."),
        .required("toColor", .enumeration(BlueGreenColor.self), "The colour that is to serve traffic."),
    ]

    /// Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.
    public var deploymentName: String
    /// The colour that served traffic.
    public var fromColor: BlueGreenColor
    /// The colour that is to serve traffic.
    public var toColor: BlueGreenColor

    public var streamID: String { deploymentName }

    public init(deploymentName: String, fromColor: BlueGreenColor, toColor: BlueGreenColor) {
        self.deploymentName = deploymentName
        self.fromColor = fromColor
        self.toColor = toColor
    }
}

/// Traffic now goes to `toColor`. The active colour of a pair changes here and only here.
///
/// Stream `bluegreen-<deploymentName>`; catalog file `events/TrafficSwitched.v1.json`.
public struct TrafficSwitched: DeployLogEvent {
    public static let eventType = "TrafficSwitched"
    public static let schemaVersion = 1
    public static let streamCategory = "bluegreen"
    public static let streamIDField = "deploymentName"
    public static let fields: [EventField] = [
        .required(
            "deploymentName", .string,
            "Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id."),
        .required("fromColor", .enumeration(BlueGreenColor.self), "The colour that served traffic."),
        .required("toColor", .enumeration(BlueGreenColor.self), "The colour that now serves traffic."),
        .required("version", .string, "Version that now serves traffic."),
    ]

    /// Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.
    public var deploymentName: String
    /// The colour that served traffic.
    public var fromColor: BlueGreenColor
    /// The colour that now serves traffic.
    public var toColor: BlueGreenColor
    /// Version that now serves traffic.
    public var version: String

    public var streamID: String { deploymentName }

    public init(deploymentName: String, fromColor: BlueGreenColor, toColor: BlueGreenColor, version: String) {
        self.deploymentName = deploymentName
        self.fromColor = fromColor
        self.toColor = toColor
        self.version = version
    }
}

/// A blue-green deployment failed before traffic was switched, or while it was.
///
/// Stream `bluegreen-<deploymentName>`; catalog file `events/BlueGreenDeployFailed.v1.json`.
public struct BlueGreenDeployFailed: DeployLogEvent {
    public static let eventType = "BlueGreenDeployFailed"
    public static let schemaVersion = 1
    public static let streamCategory = "bluegreen"
    public static let streamIDField = "deploymentName"
    public static let fields: [EventField] = [
        .required(
            "deploymentName", .string,
            "Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id."),
        .required("version", .string, "Version that failed to deploy."),
        .required("reason", .string, "Why it failed."),
        .required("rollbackTriggered", .boolean, "Whether an automatic rollback was started."),
    ]

    /// Name of the blue-green pair, e.g. `camera-counting-prod`; also the stream id.
    public var deploymentName: String
    /// Version that failed to deploy.
    public var version: String
    /// Why it failed.
    public var reason: String
    /// Whether an automatic rollback was started.
    public var rollbackTriggered: Bool

    public var streamID: String { deploymentName }

    public init(deploymentName: String, version: String, reason: String, rollbackTriggered: Bool) {
        self.deploymentName = deploymentName
        self.version = version
        self.reason = reason
        self.rollbackTriggered = rollbackTriggered
    }
}
