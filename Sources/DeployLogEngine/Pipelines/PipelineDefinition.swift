public import DeployLogEvents

/// A pipeline as a file describes it: what to deploy where, and the stages to run in order.
///
///     name: camera-counting-db
///     version: 1.3.0
///     environment: staging
///     git: {commit: 9f1c2ab, branch: main, committedAt: 2026-11-20T09:12:00Z}   # optional
///     stages:
///       - name: Build
///         type: build
///         run: swift build                       # a shell command
///         timeout: 600                           # seconds (default 600)
///       - name: Deploy Migrations
///         type: deploy
///         migrate: migrations                    # a directory, relative to the file
///       - name: Health Checks
///         type: validate
///         healthCheck:                           # the environment's database
///           query: SELECT count(*) FROM cameras WHERE status = 'active'
///           slowStatementMs: 5000
///       - name: Switch Traffic
///         type: deploy
///         switch: camera-counting-prod           # a blue-green pair
///
/// Read from YAML by `PipelineDefinition.parse(yaml:file:baseDirectory:)`; the demo builds one in
/// Swift.
public struct PipelineDefinition: Sendable, Equatable {
    public var name: String
    public var version: String
    public var environment: String
    public var triggeredBy: String?
    public var gitCommit: String?
    public var gitBranch: String?
    /// When the commit was made: lead time is measured from here.
    public var gitCommittedAt: Timestamp?
    public var stages: [Stage]

    public init(
        name: String, version: String, environment: String, triggeredBy: String? = nil, gitCommit: String? = nil,
        gitBranch: String? = nil, gitCommittedAt: Timestamp? = nil, stages: [Stage]
    ) {
        self.name = name
        self.version = version
        self.environment = environment
        self.triggeredBy = triggeredBy
        self.gitCommit = gitCommit
        self.gitBranch = gitBranch
        self.gitCommittedAt = gitCommittedAt
        self.stages = stages
    }

    /// One stage: a name, a kind, and exactly one step.
    public struct Stage: Sendable, Equatable {
        public var name: String
        public var type: StageType
        public var step: Step

        public init(name: String, type: StageType, step: Step) {
            self.name = name
            self.type = type
            self.step = step
        }
    }

    /// What a stage does.
    public enum Step: Sendable, Equatable {
        /// A shell command (`/bin/sh -c`), killed after `timeoutSeconds`; its output is captured
        /// (bounded) into the stage's events. Non-zero exit fails the stage.
        case run(command: String, timeoutSeconds: Double)
        /// The migrations of a directory (or held in memory), applied to the environment's
        /// database by the migrator.
        case migrate(MigrationSource)
        /// Health checks of the environment's database.
        case healthCheck(HealthCheckOptions)
        /// A blue-green pair's traffic switched to its inactive colour.
        case switchTraffic(pair: String)

        /// The step's name in the file.
        public var keyword: String {
            switch self {
            case .run: "run"
            case .migrate: "migrate"
            case .healthCheck: "healthCheck"
            case .switchTraffic: "switch"
            }
        }

        /// The step as recorded in StageStarted's `config`.
        public var config: JSONObject {
            var o = JSONObject()
            switch self {
            case .run(let command, let timeout):
                o["run"] = .string(command)
                o["timeoutSeconds"] = .number(JSONNumber(timeout))
            case .migrate(let source):
                switch source {
                case .directory(let path): o["migrate"] = .string(path)
                case .files(let files): o["migrate"] = .array(files.map { .string($0.name) })
                }
            case .healthCheck(let options):
                o["healthCheck"] = .object(options.config)
            case .switchTraffic(let pair):
                o["switch"] = .string(pair)
            }
            return o
        }
    }

    /// Default timeout of a `run` step, in seconds.
    public static let defaultTimeoutSeconds: Double = 600

    /// The definition as recorded in PipelineStarted's `config`.
    public var config: JSONObject {
        var o = JSONObject()
        o["stages"] = .array(
            stages.map { s in
                var c = s.step.config
                c["name"] = .string(s.name)
                c["type"] = .string(s.type.rawValue)
                return .object(c)
            })
        return o
    }
}

/// What a health check runs: connectivity always; a real query; slow statements from
/// `pg_stat_statements` where the extension is installed.
public struct HealthCheckOptions: Sendable, Equatable {
    /// A query that must succeed on the checked database (the application's own tables).
    public var query: String
    /// A statement whose `mean_exec_time` exceeds this is reported as slow (WARNING).
    public var slowStatementMs: Double

    /// `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`: it reads
    /// the catalog, so it succeeds on any database; give the application's own query.
    public static let defaultQuery = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    public static let defaultSlowStatementMs: Double = 5000

    public init(query: String? = nil, slowStatementMs: Double? = nil) {
        self.query = query ?? Self.defaultQuery
        self.slowStatementMs = slowStatementMs ?? Self.defaultSlowStatementMs
    }

    public var config: JSONObject {
        var o = JSONObject()
        o["query"] = .string(query)
        o["slowStatementMs"] = .number(JSONNumber(slowStatementMs))
        return o
    }
}
