public import DeployLogEvents

/// `blue_green_deployments`: one row per deployment name. BlueGreenConfigured creates it
/// (`current_active` from its `activeColor`, status `idle`) or updates its environments and URLs
/// (never the active colour: that changes only on TrafficSwitched). DeployToInactiveStarted →
/// `deploying`; TrafficSwitchStarted → `switching`; TrafficSwitched → `completed` with the new
/// active colour; BlueGreenDeployFailed → `failed`. `health_check_results` holds the last
/// HealthChecksRecorded of each colour since the last deploy to it (a deploy forgets the checks
/// of the version it replaces).
public struct BlueGreenProjector: Projector {
    public static let name = "blue-green"
    /// 2: a deploy to a colour forgets that colour's earlier health checks.
    public static let version = 2

    public struct Deployment: Sendable, Equatable {
        public var id: Int
        public var deploymentName: String
        public var blueEnvironment: String
        public var greenEnvironment: String
        public var currentActive: String
        public var deploymentStatus: String
        public var blueDatabaseUrl: String?
        public var greenDatabaseUrl: String?
        public var switchStartedAt: Timestamp?
        public var switchCompletedAt: Timestamp?
        /// The last health checks of each colour: `{"blue": {...}, "green": {...}}`.
        public var healthCheckResults: JSONObject
        public var rollbackTriggered: Bool
        public var createdAt: Timestamp
        public var updatedAt: Timestamp
        /// The version serving on the active colour (from TrafficSwitched), and the one being
        /// deployed to the inactive colour.
        public var activeVersion: String?
        public var deployingVersion: String?
        public var lastPosition: Int64
    }

    public private(set) var deployments: [Deployment] = []
    private var index: [String: Int] = [:]

    public init() {}

    public func deployment(_ name: String) -> Deployment? { index[name].map { deployments[$0] } }

    public mutating func apply(_ e: ProjectedEvent) {
        switch e.kind {
        case .blueGreenConfigured, .deployToInactiveStarted, .healthChecksRecorded, .trafficSwitchStarted,
            .trafficSwitched, .blueGreenDeployFailed:
            break
        default: return
        }
        let d = e.data
        guard let name = d.string("deploymentName") else { return }
        guard let i = index[name] else {
            // The first event of a pair configures it; anything else before that is ignored.
            guard e.kind == .blueGreenConfigured else { return }
            index[name] = deployments.count
            deployments.append(
                Deployment(
                    id: deployments.count + 1, deploymentName: name, blueEnvironment: d.string("blueEnvironment") ?? "",
                    greenEnvironment: d.string("greenEnvironment") ?? "", currentActive: d.string("activeColor") ?? "blue",
                    deploymentStatus: "idle", blueDatabaseUrl: d.string("blueDatabaseUrl"),
                    greenDatabaseUrl: d.string("greenDatabaseUrl"), switchStartedAt: nil, switchCompletedAt: nil,
                    healthCheckResults: JSONObject(), rollbackTriggered: false, createdAt: e.occurredAt,
                    updatedAt: e.occurredAt, activeVersion: nil, deployingVersion: nil, lastPosition: e.position))
            return
        }
        var r = deployments[i]
        switch e.kind {
        case .blueGreenConfigured:
            r.blueEnvironment = d.string("blueEnvironment") ?? r.blueEnvironment
            r.greenEnvironment = d.string("greenEnvironment") ?? r.greenEnvironment
            r.blueDatabaseUrl = d.string("blueDatabaseUrl")
            r.greenDatabaseUrl = d.string("greenDatabaseUrl")
        case .deployToInactiveStarted:
            r.deploymentStatus = "deploying"
            r.deployingVersion = d.string("version")
            r.rollbackTriggered = false
            r.healthCheckResults.removeValue(forKey: d.string("targetColor") ?? "unknown")
        case .healthChecksRecorded:
            let color = d.string("color") ?? "unknown"
            r.healthCheckResults[color] = .object(
                JSONObject([
                    ("healthy", .flag(d.bool("healthy"))), ("checks", .array(d.array("checks") ?? [])),
                    ("recordedAt", .time(e.occurredAt)), ("position", .int(e.position)),
                ]))
        case .trafficSwitchStarted:
            r.deploymentStatus = "switching"
            r.switchStartedAt = e.occurredAt
            r.switchCompletedAt = nil
        case .trafficSwitched:
            r.deploymentStatus = "completed"
            r.currentActive = d.string("toColor") ?? r.currentActive
            r.switchCompletedAt = e.occurredAt
            r.activeVersion = d.string("version")
            r.deployingVersion = nil
        default:  // deploy failed
            r.deploymentStatus = "failed"
            r.rollbackTriggered = d.bool("rollbackTriggered") ?? false
            r.deployingVersion = nil
        }
        r.updatedAt = e.occurredAt
        r.lastPosition = e.position
        deployments[i] = r
    }

    public static let columns = [
        "id", "deployment_name", "blue_environment", "green_environment", "current_active", "deployment_status",
        "blue_database_url", "green_database_url", "switch_started_at", "switch_completed_at",
        "health_check_results", "rollback_triggered", "created_at", "updated_at",
        // Extra columns.
        "active_version", "last_position",
    ]

    public var tables: [Table] {
        [
            Table(
                name: "blue_green_deployments", columns: Self.columns,
                rows: deployments.map { r in
                    [
                        .int(r.id), .string(r.deploymentName), .string(r.blueEnvironment), .string(r.greenEnvironment),
                        .string(r.currentActive), .string(r.deploymentStatus), .text(r.blueDatabaseUrl),
                        .text(r.greenDatabaseUrl), .time(r.switchStartedAt), .time(r.switchCompletedAt),
                        .object(r.healthCheckResults), .bool(r.rollbackTriggered), .time(r.createdAt),
                        .time(r.updatedAt), .text(r.activeVersion), .int(r.lastPosition),
                    ]
                })
        ]
    }
}
