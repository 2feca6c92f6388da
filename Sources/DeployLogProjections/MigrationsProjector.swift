public import DeployLogEvents

/// `deployment_migrations` (one row per environment and migration name, with an extra
/// `environment` column) and `deployment_execution_logs`.
///
/// MigrationRegistered makes (or updates) the row, `pending`; MigrationStarted → `running`;
/// MigrationApplied → `completed`, applied, `applied_at` its `occurredAt`; MigrationFailed →
/// `failed` with the error; MigrationRolledBack → `rolled_back`, no longer applied. Each of the
/// last four also writes an execution log row, with the seed's step names (`migration_start`,
/// `migration_complete`, `migration_failed`, and `migration_rollback`). A migration event for a
/// name never registered in that environment still gets a row (its SQL and version unknown, empty).
public struct MigrationsProjector: Projector {
    public static let name = "migrations"
    public static let version = 1

    public struct Migration: Sendable, Equatable {
        public var id: Int
        public var environment: String
        public var migrationName: String
        public var migrationVersion: String
        public var migrationType: String
        public var migrationSql: String
        public var rollbackSql: String?
        public var dependencies: [String]
        public var checksum: String?
        public var transactional: Bool
        public var isApplied: Bool
        public var appliedAt: Timestamp?
        public var appliedBy: String?
        public var executionTimeMs: Int64?
        public var status: String
        public var errorMessage: String?
        public var createdAt: Timestamp
        public var deploymentId: String?
        public var lastPosition: Int64
    }

    public struct ExecutionLog: Sendable, Equatable {
        public var id: Int
        public var deploymentId: String
        public var migrationId: Int
        public var executionStep: String
        public var stepStatus: String
        public var stepDurationMs: Int64?
        public var stepOutput: String?
        public var errorMessage: String?
        public var createdAt: Timestamp
        public var position: Int64
    }

    public private(set) var migrations: [Migration] = []
    public private(set) var executionLogs: [ExecutionLog] = []
    private var index: [Key: Int] = [:]

    struct Key: Hashable, Sendable {
        var environment: String
        var name: String
    }

    public init() {}

    /// The row of `name` in `environment`.
    public func migration(_ name: String, in environment: String) -> Migration? {
        index[Key(environment: environment, name: name)].map { migrations[$0] }
    }

    public mutating func apply(_ e: ProjectedEvent) {
        switch e.kind {
        case .migrationRegistered: registered(e)
        case .migrationStarted, .migrationApplied, .migrationFailed, .migrationRolledBack: executed(e)
        default: break
        }
    }

    private mutating func row(_ e: ProjectedEvent) -> Int? {
        let d = e.data
        guard let env = d.string("environment"), let name = d.string("name") else { return nil }
        let key = Key(environment: env, name: name)
        if let i = index[key] { return i }
        index[key] = migrations.count
        migrations.append(
            Migration(
                id: migrations.count + 1, environment: env, migrationName: name, migrationVersion: "",
                migrationType: "", migrationSql: "", rollbackSql: nil, dependencies: [], checksum: nil,
                transactional: true, isApplied: false, appliedAt: nil, appliedBy: nil, executionTimeMs: nil,
                status: "pending", errorMessage: nil, createdAt: e.occurredAt, deploymentId: nil,
                lastPosition: e.position))
        return migrations.count - 1
    }

    private mutating func registered(_ e: ProjectedEvent) {
        guard let i = row(e) else { return }
        let d = e.data
        migrations[i].migrationVersion = d.string("version") ?? ""
        migrations[i].migrationType = d.string("migrationType") ?? ""
        migrations[i].migrationSql = d.string("sql") ?? ""
        migrations[i].rollbackSql = d.string("rollbackSql")
        migrations[i].dependencies = d.strings("dependencies")
        migrations[i].checksum = d.string("checksum")
        migrations[i].transactional = d.bool("transactional") ?? true
        migrations[i].lastPosition = e.position
    }

    private mutating func executed(_ e: ProjectedEvent) {
        guard let i = row(e) else { return }
        let d = e.data
        let deployment = d.string("deploymentId") ?? ""
        let duration = d.int("executionTimeMs")
        var step: String
        var stepStatus: String
        var error: String? = nil
        switch e.kind {
        case .migrationStarted:
            migrations[i].status = "running"
            migrations[i].errorMessage = nil
            (step, stepStatus) = ("migration_start", "started")
        case .migrationApplied:
            migrations[i].status = "completed"
            migrations[i].isApplied = true
            migrations[i].appliedAt = e.occurredAt
            migrations[i].appliedBy = d.string("appliedBy")
            migrations[i].executionTimeMs = duration
            (step, stepStatus) = ("migration_complete", "completed")
        case .migrationFailed:
            migrations[i].status = "failed"
            migrations[i].executionTimeMs = duration
            error = d.string("error")
            migrations[i].errorMessage = error
            (step, stepStatus) = ("migration_failed", "failed")
        default:  // rolled back
            migrations[i].status = "rolled_back"
            migrations[i].isApplied = false
            migrations[i].appliedAt = nil
            (step, stepStatus) = ("migration_rollback", "completed")
        }
        migrations[i].deploymentId = deployment
        migrations[i].lastPosition = e.position
        executionLogs.append(
            ExecutionLog(
                id: executionLogs.count + 1, deploymentId: deployment, migrationId: migrations[i].id,
                executionStep: step, stepStatus: stepStatus, stepDurationMs: duration,
                stepOutput: e.kind == .migrationRolledBack ? d.string("rollbackId").map { "rollback \($0)" } : nil,
                errorMessage: error, createdAt: e.occurredAt, position: e.position))
    }

    public static let migrationColumns = [
        "id", "migration_name", "migration_version", "migration_type", "migration_sql", "rollback_sql",
        "dependencies", "is_applied", "applied_at", "applied_by", "execution_time_ms", "status", "error_message",
        "created_at",
        // Extra columns.
        "environment", "checksum", "transactional", "deployment_id", "last_position",
    ]

    public static let executionLogColumns = [
        "id", "deployment_id", "migration_id", "execution_step", "step_status", "step_duration_ms", "step_output",
        "error_message", "created_at", "position",
    ]

    public var tables: [Table] {
        [
            Table(
                name: "deployment_migrations", columns: Self.migrationColumns,
                rows: migrations.map { m in
                    [
                        .int(m.id), .string(m.migrationName), .string(m.migrationVersion), .string(m.migrationType),
                        .string(m.migrationSql), .text(m.rollbackSql), .array(m.dependencies.map { .string($0) }),
                        .bool(m.isApplied), .time(m.appliedAt), .text(m.appliedBy), .int(m.executionTimeMs),
                        .string(m.status), .text(m.errorMessage), .time(m.createdAt), .string(m.environment),
                        .text(m.checksum), .bool(m.transactional), .text(m.deploymentId), .int(m.lastPosition),
                    ]
                }),
            Table(
                name: "deployment_execution_logs", columns: Self.executionLogColumns,
                rows: executionLogs.map { l in
                    [
                        .int(l.id), .string(l.deploymentId), .int(l.migrationId), .string(l.executionStep),
                        .string(l.stepStatus), .int(l.stepDurationMs), .text(l.stepOutput), .text(l.errorMessage),
                        .time(l.createdAt), .int(l.position),
                    ]
                }),
        ]
    }
}
