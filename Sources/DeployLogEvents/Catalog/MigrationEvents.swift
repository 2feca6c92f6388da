// The `migrations` events of catalog v1: stream `migrations-<environment>`.
// Each type is also described, as data, in `events/<Type>.v1.json`; the two must agree
// (CatalogAgreementTests fails when they differ).

/// What a migration changes.
public enum MigrationType: String, CatalogEnum {
    case schema, data, index, function
}

/// A migration became known to an environment, with the SQL that applies it, the SQL that undoes it and the migrations it depends on.
///
/// Stream `migrations-<environment>`; catalog file `events/MigrationRegistered.v1.json`.
public struct MigrationRegistered: DeployLogEvent {
    public static let eventType = "MigrationRegistered"
    public static let schemaVersion = 1
    public static let streamCategory = "migrations"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Environment whose database the migration is for; also the stream id."),
        .required("name", .string, "Unique name of the migration, e.g. `create_counting_results_table`.").bounded(200, by: "deployment_migrations.migration_name"),
        .required("version", .string, "Schema version the migration brings the database to, e.g. `1.2.0`.").bounded(50, by: "deployment_migrations.migration_version"),
        .required("migrationType", .enumeration(MigrationType.self), "What the migration changes."),
        .required("sql", .string, "The SQL that applies it."),
        .optional("rollbackSql", .string, "The SQL that undoes it; absent when it cannot be undone."),
        .required(
            "dependencies", .array(.string),
            "Names of the migrations that must be applied first (may be empty)."),
        .required(
            "checksum", .string,
            "Lowercase hex SHA-256 over what decides what the migration does (up SQL, rollback SQL, type, dependencies, transaction modes), to detect a migration file changed after it was applied."
        ),
        .required(
            "transactional", .boolean,
            "Whether it runs inside a transaction (false for statements such as `CREATE INDEX CONCURRENTLY`)."),
        .optional(
            "rollbackTransactional", .boolean,
            "Whether the rollback SQL runs inside a transaction; absent means the same as `transactional`."),
    ]

    /// Environment whose database the migration is for; also the stream id.
    public var environment: String
    /// Unique name of the migration, e.g. `create_counting_results_table`.
    public var name: String
    /// Schema version the migration brings the database to, e.g. `1.2.0`.
    public var version: String
    /// What the migration changes.
    public var migrationType: MigrationType
    /// The SQL that applies it.
    public var sql: String
    /// The SQL that undoes it; absent when it cannot be undone.
    public var rollbackSql: String?
    /// Names of the migrations that must be applied first (may be empty).
    public var dependencies: [String]
    /// Lowercase hex SHA-256 over what decides what the migration does (up SQL, rollback SQL, type, dependencies, transaction modes), to detect a migration file changed after it was applied.
    public var checksum: String
    /// Whether it runs inside a transaction (false for statements such as `CREATE INDEX CONCURRENTLY`).
    public var transactional: Bool
    /// Whether the rollback SQL runs inside a transaction; absent means the same as `transactional`.
    public var rollbackTransactional: Bool?

    public var streamID: String { environment }

    public init(
        environment: String, name: String, version: String, migrationType: MigrationType, sql: String,
        rollbackSql: String? = nil, dependencies: [String], checksum: String, transactional: Bool,
        rollbackTransactional: Bool? = nil
    ) {
        self.environment = environment
        self.name = name
        self.version = version
        self.migrationType = migrationType
        self.sql = sql
        self.rollbackSql = rollbackSql
        self.dependencies = dependencies
        self.checksum = checksum
        self.transactional = transactional
        self.rollbackTransactional = rollbackTransactional
    }
}

/// A deployment began applying a migration.
///
/// Stream `migrations-<environment>`; catalog file `events/MigrationStarted.v1.json`.
public struct MigrationStarted: DeployLogEvent {
    public static let eventType = "MigrationStarted"
    public static let schemaVersion = 1
    public static let streamCategory = "migrations"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Environment whose database the migration is for; also the stream id."),
        .required("name", .string, "Name of the migration, as registered."),
        .required(
            "deploymentId", .string,
            "The deployment run applying the migration (the pipeline id when a pipeline runs it).").bounded(100, by: "deployment_execution_logs.deployment_id"),
    ]

    /// Environment whose database the migration is for; also the stream id.
    public var environment: String
    /// Name of the migration, as registered.
    public var name: String
    /// The deployment run applying the migration (the pipeline id when a pipeline runs it).
    public var deploymentId: String

    public var streamID: String { environment }

    public init(environment: String, name: String, deploymentId: String) {
        self.environment = environment
        self.name = name
        self.deploymentId = deploymentId
    }
}

/// A migration was applied. It counts as applied until a later MigrationRolledBack.
///
/// Stream `migrations-<environment>`; catalog file `events/MigrationApplied.v1.json`.
public struct MigrationApplied: DeployLogEvent {
    public static let eventType = "MigrationApplied"
    public static let schemaVersion = 1
    public static let streamCategory = "migrations"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Environment whose database the migration is for; also the stream id."),
        .required("name", .string, "Name of the migration, as registered."),
        .required(
            "deploymentId", .string,
            "The deployment run applying the migration (the pipeline id when a pipeline runs it).").bounded(100, by: "deployment_execution_logs.deployment_id"),
        .required("executionTimeMs", .integer, "How long it ran, in milliseconds."),
        .required("appliedBy", .string, "Database role or actor that applied it.").bounded(100, by: "deployment_migrations.applied_by"),
    ]

    /// Environment whose database the migration is for; also the stream id.
    public var environment: String
    /// Name of the migration, as registered.
    public var name: String
    /// The deployment run applying the migration (the pipeline id when a pipeline runs it).
    public var deploymentId: String
    /// How long it ran, in milliseconds.
    public var executionTimeMs: Int64
    /// Database role or actor that applied it.
    public var appliedBy: String

    public var streamID: String { environment }

    public init(environment: String, name: String, deploymentId: String, executionTimeMs: Int64, appliedBy: String) {
        self.environment = environment
        self.name = name
        self.deploymentId = deploymentId
        self.executionTimeMs = executionTimeMs
        self.appliedBy = appliedBy
    }
}

/// Applying a migration failed.
///
/// Stream `migrations-<environment>`; catalog file `events/MigrationFailed.v1.json`.
public struct MigrationFailed: DeployLogEvent {
    public static let eventType = "MigrationFailed"
    public static let schemaVersion = 1
    public static let streamCategory = "migrations"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Environment whose database the migration is for; also the stream id."),
        .required("name", .string, "Name of the migration, as registered."),
        .required(
            "deploymentId", .string,
            "The deployment run applying the migration (the pipeline id when a pipeline runs it).").bounded(100, by: "deployment_execution_logs.deployment_id"),
        .required("executionTimeMs", .integer, "How long it ran, in milliseconds."),
        .required("error", .string, "The database's error message, with its SQLSTATE when known."),
    ]

    /// Environment whose database the migration is for; also the stream id.
    public var environment: String
    /// Name of the migration, as registered.
    public var name: String
    /// The deployment run applying the migration (the pipeline id when a pipeline runs it).
    public var deploymentId: String
    /// How long it ran, in milliseconds.
    public var executionTimeMs: Int64
    /// The database's error message, with its SQLSTATE when known.
    public var error: String

    public var streamID: String { environment }

    public init(environment: String, name: String, deploymentId: String, executionTimeMs: Int64, error: String) {
        self.environment = environment
        self.name = name
        self.deploymentId = deploymentId
        self.executionTimeMs = executionTimeMs
        self.error = error
    }
}

/// A migration's rollback SQL ran: the migration is no longer applied.
///
/// Stream `migrations-<environment>`; catalog file `events/MigrationRolledBack.v1.json`.
public struct MigrationRolledBack: DeployLogEvent {
    public static let eventType = "MigrationRolledBack"
    public static let schemaVersion = 1
    public static let streamCategory = "migrations"
    public static let streamIDField = "environment"
    public static let fields: [EventField] = [
        .required("environment", .string, "Environment whose database the migration is for; also the stream id."),
        .required("name", .string, "Name of the migration, as registered."),
        .required("deploymentId", .string, "The deployment run whose migration this undoes.").bounded(100, by: "deployment_execution_logs.deployment_id"),
        .optional("rollbackId", .string, "The rollback this was a step of, when there was one."),
        .required("executionTimeMs", .integer, "How long the rollback SQL ran, in milliseconds."),
    ]

    /// Environment whose database the migration is for; also the stream id.
    public var environment: String
    /// Name of the migration, as registered.
    public var name: String
    /// The deployment run whose migration this undoes.
    public var deploymentId: String
    /// The rollback this was a step of, when there was one.
    public var rollbackId: String?
    /// How long the rollback SQL ran, in milliseconds.
    public var executionTimeMs: Int64

    public var streamID: String { environment }

    public init(
        environment: String, name: String, deploymentId: String, rollbackId: String? = nil, executionTimeMs: Int64
    ) {
        self.environment = environment
        self.name = name
        self.deploymentId = deploymentId
        self.rollbackId = rollbackId
        self.executionTimeMs = executionTimeMs
    }
}
