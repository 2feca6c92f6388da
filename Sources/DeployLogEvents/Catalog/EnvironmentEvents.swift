// The `environment` events of catalog v1: stream `environment-<environment>`.
// Each type is also described, as data, in `events/<Type>.v1.json`; the two must agree
// (CatalogAgreementTests fails when they differ).

/// The kind of an environment; it decides how deployments to it run.
public enum EnvironmentType: String, CatalogEnum {
    case development, staging, production
}

/// What happens when a deployment to an environment fails.
public enum RollbackPolicy: String, CatalogEnum {
    case automatic, manual
}

/// An environment's configuration was set or changed. The latest one is the environment's current configuration.
///
/// Stream `environment-<environment>`; catalog file `events/EnvironmentConfigured.v1.json`.
public struct EnvironmentConfigured: DeployLogEvent {
    public static let eventType = "EnvironmentConfigured"
    public static let schemaVersion = 1
    public static let streamCategory = "environment"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Name of the environment, e.g. `production`; also the stream id.").bounded(50, by: "environment_configs.environment_name"),
        .required(
            "environmentType", .enumeration(EnvironmentType.self),
            "Kind of environment; it decides how deployments to it run."),
        .optional(
            "databaseUrl", .string,
            "Connection URL of the environment's database, never with a password (the log removes any).").bounded(500, by: "environment_configs.database_url"),
        .optional("databaseName", .string, "Name of the database.").bounded(100, by: "environment_configs.database_name"),
        .optional("databaseUser", .string, "Role that deployments connect as.").bounded(100, by: "environment_configs.database_user"),
        .required("connectionPoolSize", .integer, "Connections the application's pool keeps open."),
        .required("maxConnections", .integer, "The database's connection limit."),
        .optional("backupSchedule", .string, "When backups run, e.g. `hourly`, `daily` or a cron expression.").bounded(100, by: "environment_configs.backup_schedule"),
        .required("monitoringEnabled", .boolean, "Whether the environment is monitored."),
        .required("alertingEnabled", .boolean, "Whether alerts are sent for the environment."),
        .required(
            "rollbackPolicy", .enumeration(RollbackPolicy.self),
            "Whether a failed deployment here is rolled back automatically or waits for an operator."),
        .required(
            "config", .object,
            "Free-form settings (log level, SSL mode, deployment strategy, ...), kept as given."),
    ]

    /// Name of the environment, e.g. `production`; also the stream id.
    public var environment: String
    /// Kind of environment; it decides how deployments to it run.
    public var environmentType: EnvironmentType
    /// Connection URL of the environment's database, never with a password (the log removes any).
    public var databaseUrl: String?
    /// Name of the database.
    public var databaseName: String?
    /// Role that deployments connect as.
    public var databaseUser: String?
    /// Connections the application's pool keeps open.
    public var connectionPoolSize: Int
    /// The database's connection limit.
    public var maxConnections: Int
    /// When backups run, e.g. `hourly`, `daily` or a cron expression.
    public var backupSchedule: String?
    /// Whether the environment is monitored.
    public var monitoringEnabled: Bool
    /// Whether alerts are sent for the environment.
    public var alertingEnabled: Bool
    /// Whether a failed deployment here is rolled back automatically or waits for an operator.
    public var rollbackPolicy: RollbackPolicy
    /// Free-form settings (log level, SSL mode, deployment strategy, ...), kept as given.
    public var config: JSONObject

    public var streamID: String { environment }

    public init(
        environment: String, environmentType: EnvironmentType, databaseUrl: String? = nil,
        databaseName: String? = nil, databaseUser: String? = nil, connectionPoolSize: Int, maxConnections: Int,
        backupSchedule: String? = nil, monitoringEnabled: Bool, alertingEnabled: Bool,
        rollbackPolicy: RollbackPolicy, config: JSONObject
    ) {
        self.environment = environment
        self.environmentType = environmentType
        self.databaseUrl = databaseUrl
        self.databaseName = databaseName
        self.databaseUser = databaseUser
        self.connectionPoolSize = connectionPoolSize
        self.maxConnections = maxConnections
        self.backupSchedule = backupSchedule
        self.monitoringEnabled = monitoringEnabled
        self.alertingEnabled = alertingEnabled
        self.rollbackPolicy = rollbackPolicy
        self.config = config
    }
}

/// An environment was retired: no further deployments go to it.
///
/// Stream `environment-<environment>`; catalog file `events/EnvironmentDeactivated.v1.json`.
public struct EnvironmentDeactivated: DeployLogEvent {
    public static let eventType = "EnvironmentDeactivated"
    public static let schemaVersion = 1
    public static let streamCategory = "environment"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Name of the environment, e.g. `production`; also the stream id."),
        .optional("reason", .string, "Why it was deactivated."),
    ]

    /// Name of the environment, e.g. `production`; also the stream id.
    public var environment: String
    /// Why it was deactivated.
    public var reason: String?

    public var streamID: String { environment }

    public init(environment: String, reason: String? = nil) {
        self.environment = environment
        self.reason = reason
    }
}
