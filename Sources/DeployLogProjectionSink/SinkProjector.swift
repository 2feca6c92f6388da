public import DeployLogProjections

/// The projectors the sink writes to PostgreSQL, in the order their SQL runs and their rows
/// load (tables that others reference first). `state` has no tables and is not here.
public enum SinkProjector: String, CaseIterable, Sendable, Hashable {
    case pipelines
    case migrations
    case rollbacks
    case blueGreen = "blue-green"
    case environments
    case metrics

    /// The projector's name (`Projector.name`).
    public var name: String { rawValue }

    /// The code's version of the projector: a checkpoint of another version means a rebuild.
    public var version: Int {
        switch self {
        case .pipelines: PipelinesProjector.version
        case .migrations: MigrationsProjector.version
        case .rollbacks: RollbacksProjector.version
        case .blueGreen: BlueGreenProjector.version
        case .environments: EnvironmentsProjector.version
        case .metrics: MetricsProjector.version
        }
    }

    /// Its file in `projections/`.
    public var sqlFile: String {
        switch self {
        case .blueGreen: "blue_green.sql"
        default: rawValue + ".sql"
        }
    }

    /// Its tables, in load order. `metrics` has only views.
    public var tableNames: [String] {
        switch self {
        case .pipelines: ["deployment_pipelines", "deployment_stages"]
        case .migrations: ["deployment_migrations", "deployment_execution_logs"]
        case .rollbacks: ["deployment_rollbacks"]
        case .blueGreen: ["blue_green_deployments"]
        case .environments: ["environment_configs"]
        case .metrics: []
        }
    }

    /// Projectors whose tables reference this one's: emptying this one's tables empties theirs
    /// (`deployment_rollbacks.pipeline_id` references `deployment_pipelines`), so they are
    /// rebuilt with it.
    public var dependents: [SinkProjector] { self == .pipelines ? [.rollbacks] : [] }

    /// Projectors whose tables this one's reference: the inverse of `dependents`.
    public var dependencies: [SinkProjector] { SinkProjector.allCases.filter { $0.dependents.contains(self) } }

    /// The rows of its tables in `projections`.
    public func tables(of projections: Projections) -> [Table] {
        switch self {
        case .pipelines: projections.pipelines.tables
        case .migrations: projections.migrations.tables
        case .rollbacks: projections.rollbacks.tables
        case .blueGreen: projections.blueGreen.tables
        case .environments: projections.environments.tables
        case .metrics: []
        }
    }

    /// The column holding the position of the last event that changed a row of `table`.
    static func positionColumn(of table: String) -> String {
        table == "deployment_execution_logs" ? "position" : "last_position"
    }

    /// `projectors` and, transitively, their dependents, in `allCases` order.
    static func closure(_ projectors: Set<SinkProjector>) -> Set<SinkProjector> {
        var result = projectors
        var pending = Array(projectors)
        while let p = pending.popLast() {
            for d in p.dependents where result.insert(d).inserted { pending.append(d) }
        }
        return result
    }
}
