public import DeployLogEvents

/// The state of every environment and blue-green pair at one point of the log: what
/// `deploylog state --at` shows, what `diff` compares and what a rollback returns to.
///
/// Kept compact on purpose (no history, only what is true at the point) so that a snapshot of
/// it loads in milliseconds on a long log.
public struct StateProjector: Projector {
    public static let name = "state"
    /// 2: a deploy to a colour forgets that colour's earlier health checks.
    public static let version = 2

    public struct AppliedMigration: Sendable, Equatable {
        public var name: String
        public var version: String
        public var appliedAt: Timestamp
        public var position: Int64
    }

    public struct PipelineSummary: Sendable, Equatable {
        public var pipelineId: String
        public var pipelineVersion: String
        public var status: String
        public var startedAt: Timestamp
        public var completedAt: Timestamp?
    }

    public struct Environment: Sendable, Equatable {
        public var name: String
        /// The data of its last EnvironmentConfigured (nil when only migrations or pipelines name it).
        public var configuration: JSONObject?
        public var isActive: Bool = true
        /// Applied migrations by name (`appliedInOrder` lists them in order of application).
        public var applied: [String: AppliedMigration] = [:]
        /// The version of every registered migration not applied now (an applied one carries its
        /// own), so that a later MigrationApplied can name its version.
        public var registeredVersions: [String: String] = [:]
        public var lastPipeline: PipelineSummary?
        /// In flight: pipelines running, migrations started and not finished, rollbacks running.
        public var runningPipelines: [String] = []
        public var runningMigrations: [String] = []
        public var runningRollbacks: [String] = []

        /// Nothing in flight.
        public var isConsistent: Bool {
            runningPipelines.isEmpty && runningMigrations.isEmpty && runningRollbacks.isEmpty
        }

        /// Applied migrations in order of application (by the position of their MigrationApplied).
        public var appliedInOrder: [AppliedMigration] { applied.values.sorted { $0.position < $1.position } }
    }

    public struct BlueGreen: Sendable, Equatable {
        public var deploymentName: String
        public var activeColor: String
        public var status: String
        public var activeVersion: String?
        /// The last HealthChecksRecorded data of each colour, keyed by colour.
        public var lastHealthChecks: JSONObject = JSONObject()
    }

    /// By name.
    public internal(set) var environments: [String: Environment] = [:]
    public internal(set) var blueGreen: [String: BlueGreen] = [:]
    /// Running pipelines and rollbacks → their environment.
    var pipelineEnvironments: [String: String] = [:]
    var rollbackEnvironments: [String: String] = [:]
    /// The position folded up to (0 before any event).
    public internal(set) var position: Int64 = 0
    /// The `occurredAt` of the last event folded.
    public internal(set) var lastOccurredAt: Timestamp?

    public init() {}

    /// The event types this projector reads (the stage and rollback-step events are not among
    /// them): a fold may read only these, then set `position` and `lastOccurredAt` to the point.
    public static let readsTypes: Set<String> = Set(
        EventKind.allCases.filter {
            switch $0 {
            case .stageStarted, .stageCompleted, .stageFailed, .stageSkipped, .rollbackStepExecuted, .unknown: false
            default: true
            }
        }.map(\.typeName))

    /// Moves the state to `position`, whose event occurred at `occurredAt`, after a fold that
    /// skipped the events it does not read.
    public mutating func advance(to position: Int64, occurredAt: Timestamp?) {
        self.position = position
        self.lastOccurredAt = occurredAt
    }

    public mutating func apply(_ e: ProjectedEvent) {
        position = e.position
        lastOccurredAt = e.occurredAt
        let d = e.data
        switch e.kind {
        case .environmentConfigured:
            guard let env = d.string("environment") else { return }
            update(env) {
                $0.configuration = d.object
                $0.isActive = true
            }
        case .environmentDeactivated:
            guard let env = d.string("environment") else { return }
            update(env) { $0.isActive = false }
        case .migrationRegistered:
            guard let env = d.string("environment"), let name = d.string("name") else { return }
            let version = d.string("version") ?? ""
            update(env) {
                if $0.applied[name] != nil { $0.applied[name]!.version = version } else { $0.registeredVersions[name] = version }
            }
        case .migrationStarted:
            guard let env = d.string("environment"), let name = d.string("name") else { return }
            update(env) { if !$0.runningMigrations.contains(name) { $0.runningMigrations.append(name) } }
        case .migrationApplied:
            guard let env = d.string("environment"), let name = d.string("name") else { return }
            update(env) {
                $0.runningMigrations.removeAll { $0 == name }
                let version = $0.registeredVersions.removeValue(forKey: name) ?? $0.applied[name]?.version ?? ""
                $0.applied[name] = AppliedMigration(name: name, version: version, appliedAt: e.occurredAt, position: e.position)
            }
        case .migrationFailed:
            guard let env = d.string("environment"), let name = d.string("name") else { return }
            update(env) { $0.runningMigrations.removeAll { $0 == name } }
        case .migrationRolledBack:
            guard let env = d.string("environment"), let name = d.string("name") else { return }
            update(env) {
                $0.runningMigrations.removeAll { $0 == name }
                if let m = $0.applied.removeValue(forKey: name) { $0.registeredVersions[name] = m.version }
            }
        case .pipelineStarted:
            guard let id = d.string("pipelineId"), let env = d.string("environment") else { return }
            pipelineEnvironments[id] = env
            update(env) {
                if !$0.runningPipelines.contains(id) { $0.runningPipelines.append(id) }
                $0.lastPipeline = PipelineSummary(
                    pipelineId: id, pipelineVersion: d.string("pipelineVersion") ?? "", status: "running",
                    startedAt: e.occurredAt, completedAt: nil)
            }
        case .pipelineCompleted, .pipelineFailed, .pipelineRolledBack:
            guard let id = d.string("pipelineId") else { return }
            let status = e.kind == .pipelineCompleted ? "completed" : e.kind == .pipelineFailed ? "failed" : "rolled_back"
            if let env = pipelineEnvironments.removeValue(forKey: id) {
                update(env) { $0.runningPipelines.removeAll { $0 == id } }
            }
            // The last pipeline of its environment (a rollback can finish it after it stopped running).
            for (env, state) in environments where state.lastPipeline?.pipelineId == id {
                environments[env]!.lastPipeline!.status = status
                environments[env]!.lastPipeline!.completedAt = e.occurredAt
            }
        case .rollbackStarted:
            guard let id = d.string("rollbackId"), let env = d.string("environment") else { return }
            rollbackEnvironments[id] = env
            update(env) { if !$0.runningRollbacks.contains(id) { $0.runningRollbacks.append(id) } }
        case .rollbackCompleted, .rollbackFailed:
            guard let id = d.string("rollbackId"), let env = rollbackEnvironments.removeValue(forKey: id) else { return }
            update(env) { $0.runningRollbacks.removeAll { $0 == id } }
        case .blueGreenConfigured:
            guard let name = d.string("deploymentName") else { return }
            if blueGreen[name] == nil {
                blueGreen[name] = BlueGreen(
                    deploymentName: name, activeColor: d.string("activeColor") ?? "blue", status: "idle")
            }
        case .deployToInactiveStarted, .healthChecksRecorded, .trafficSwitchStarted, .trafficSwitched,
            .blueGreenDeployFailed:
            guard let name = d.string("deploymentName"), var bg = blueGreen[name] else { return }
            switch e.kind {
            case .deployToInactiveStarted:
                // A new version on that colour: the checks of the one it replaces no longer say
                // anything about it.
                bg.status = "deploying"
                bg.lastHealthChecks.removeValue(forKey: d.string("targetColor") ?? "unknown")
            case .healthChecksRecorded:
                var checks = d.object
                checks.removeValue(forKey: "deploymentName")
                checks["recordedAt"] = .string(e.occurredAt.canonicalText)
                bg.lastHealthChecks[d.string("color") ?? "unknown"] = .object(checks)
            case .trafficSwitchStarted: bg.status = "switching"
            case .trafficSwitched:
                bg.status = "completed"
                bg.activeColor = d.string("toColor") ?? bg.activeColor
                bg.activeVersion = d.string("version")
            default: bg.status = "failed"
            }
            blueGreen[name] = bg
        default: break
        }
    }

    private mutating func update(_ env: String, _ change: (inout Environment) -> Void) {
        change(&environments[env, default: Environment(name: env)])
    }

    // MARK: Output

    /// The state as JSON: `{"position", "occurredAt", "environments": {name: {...}}, "blueGreen": {name: {...}}}`.
    /// With `environment`, only that environment (blue-green pairs are always shown).
    public func json(environment: String? = nil) -> JSONValue {
        var envs = JSONObject()
        for (name, e) in environments where environment == nil || environment == name {
            var o = JSONObject()
            o["configuration"] = e.configuration.map { .object($0) } ?? .null
            o["isActive"] = .bool(e.isActive)
            o["appliedMigrations"] = .array(
                e.appliedInOrder.map { m in
                    .object(
                        JSONObject([
                            ("name", .string(m.name)), ("version", .string(m.version)), ("appliedAt", .time(m.appliedAt)),
                        ]))
                })
            o["lastPipeline"] =
                e.lastPipeline.map { p in
                    .object(
                        JSONObject([
                            ("id", .string(p.pipelineId)), ("version", .string(p.pipelineVersion)),
                            ("status", .string(p.status)), ("startedAt", .time(p.startedAt)),
                            ("completedAt", .time(p.completedAt)),
                        ]))
                } ?? .null
            o["inFlight"] = .object(
                JSONObject([
                    ("pipelines", .array(e.runningPipelines.map { .string($0) })),
                    ("migrations", .array(e.runningMigrations.map { .string($0) })),
                    ("rollbacks", .array(e.runningRollbacks.map { .string($0) })),
                ]))
            o["consistent"] = .bool(e.isConsistent)
            envs[name] = .object(o)
        }
        var pairs = JSONObject()
        for (name, bg) in blueGreen {
            pairs[name] = .object(
                JSONObject([
                    ("activeColor", .string(bg.activeColor)), ("status", .string(bg.status)),
                    ("activeVersion", .text(bg.activeVersion)), ("lastHealthChecks", .object(bg.lastHealthChecks)),
                ]))
        }
        return .object(
            JSONObject([
                ("position", .int(position)), ("occurredAt", .time(lastOccurredAt)), ("environments", .object(envs)),
                ("blueGreen", .object(pairs)),
            ]))
    }

    public var tables: [Table] {
        let envs = environments.keys.sorted().map { name -> [JSONValue] in
            let e = environments[name]!
            return [
                .string(name), .bool(e.isActive), .int(e.applied.count), .text(e.appliedInOrder.last?.name),
                .text(e.lastPipeline?.pipelineId), .text(e.lastPipeline?.pipelineVersion),
                .text(e.lastPipeline?.status), .int(e.runningPipelines.count + e.runningMigrations.count + e.runningRollbacks.count),
                .bool(e.isConsistent),
            ]
        }
        let pairs = blueGreen.keys.sorted().map { name -> [JSONValue] in
            let bg = blueGreen[name]!
            return [.string(name), .string(bg.activeColor), .string(bg.status), .text(bg.activeVersion)]
        }
        return [
            Table(
                name: "environments",
                columns: [
                    "environment", "active", "applied_migrations", "last_migration", "last_pipeline", "version",
                    "status", "in_flight", "consistent",
                ], rows: envs),
            Table(name: "blue_green", columns: ["deployment", "active_color", "status", "active_version"], rows: pairs),
        ]
    }
}
