public import DeployLogEvents

/// `environment_configs`: one row per environment, created by its first EnvironmentConfigured,
/// replaced field by field by later ones (`updated_at` moves, `created_at` and `id` stay),
/// deactivated by EnvironmentDeactivated and reactivated by the next EnvironmentConfigured.
public struct EnvironmentsProjector: Projector {
    public static let name = "environments"
    public static let version = 1

    public struct Environment: Sendable, Equatable {
        public var id: Int
        public var environmentName: String
        public var environmentType: String
        public var databaseUrl: String?
        public var databaseName: String?
        public var databaseUser: String?
        public var connectionPoolSize: Int64
        public var maxConnections: Int64
        public var backupSchedule: String?
        public var monitoringEnabled: Bool
        public var alertingEnabled: Bool
        public var configData: JSONValue
        public var isActive: Bool
        public var rollbackPolicy: String
        public var deactivationReason: String?
        public var createdAt: Timestamp
        public var updatedAt: Timestamp
        public var lastPosition: Int64
    }

    public private(set) var environments: [Environment] = []
    private var index: [String: Int] = [:]

    public init() {}

    public func environment(_ name: String) -> Environment? { index[name].map { environments[$0] } }

    public mutating func apply(_ e: ProjectedEvent) {
        let d = e.data
        switch e.kind {
        case .environmentConfigured:
            guard let name = d.string("environment") else { return }
            let existing = index[name].map { environments[$0] }
            let row = Environment(
                id: existing?.id ?? environments.count + 1, environmentName: name,
                environmentType: d.string("environmentType") ?? "", databaseUrl: d.string("databaseUrl"),
                databaseName: d.string("databaseName"), databaseUser: d.string("databaseUser"),
                connectionPoolSize: d.int("connectionPoolSize") ?? 10, maxConnections: d.int("maxConnections") ?? 100,
                backupSchedule: d.string("backupSchedule"), monitoringEnabled: d.bool("monitoringEnabled") ?? true,
                alertingEnabled: d.bool("alertingEnabled") ?? true, configData: d.value("config") ?? .object(JSONObject()),
                isActive: true, rollbackPolicy: d.string("rollbackPolicy") ?? "manual", deactivationReason: nil,
                createdAt: existing?.createdAt ?? e.occurredAt, updatedAt: e.occurredAt, lastPosition: e.position)
            if let i = index[name] {
                environments[i] = row
            } else {
                index[name] = environments.count
                environments.append(row)
            }
        case .environmentDeactivated:
            guard let name = d.string("environment"), let i = index[name] else { return }
            environments[i].isActive = false
            environments[i].deactivationReason = d.string("reason")
            environments[i].updatedAt = e.occurredAt
            environments[i].lastPosition = e.position
        default: break
        }
    }

    public static let columns = [
        "id", "environment_name", "environment_type", "database_url", "database_name", "database_user",
        "connection_pool_size", "max_connections", "backup_schedule", "monitoring_enabled", "alerting_enabled",
        "config_data", "is_active", "created_at", "updated_at",
        // Extra columns.
        "rollback_policy", "deactivation_reason", "last_position",
    ]

    public var tables: [Table] {
        [
            Table(
                name: "environment_configs", columns: Self.columns,
                rows: environments.map { r in
                    [
                        .int(r.id), .string(r.environmentName), .string(r.environmentType), .text(r.databaseUrl),
                        .text(r.databaseName), .text(r.databaseUser), .int(r.connectionPoolSize),
                        .int(r.maxConnections), .text(r.backupSchedule), .bool(r.monitoringEnabled),
                        .bool(r.alertingEnabled), r.configData, .bool(r.isActive), .time(r.createdAt),
                        .time(r.updatedAt), .string(r.rollbackPolicy), .text(r.deactivationReason),
                        .int(r.lastPosition),
                    ]
                })
        ]
    }
}
