import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation

/// `deploylog demo`: the seed's system run for real against a throwaway local PostgreSQL.
///
/// 1. Starts a cluster (`LocalPostgresCluster`, as the `postgres` user when run as root) and
///    creates the staging, production-blue and production-green databases.
/// 2. Configures the environments (staging and production with automatic rollback) and the
///    blue-green pair `camera-counting-prod` (blue serving), passwords never recorded.
/// 3. Pipeline `camera-counting-db` 1.3.0 to staging: build, unit tests, the seed's four
///    migrations (the `CREATE INDEX CONCURRENTLY` one outside a transaction), health checks.
/// 4. Blue-green 1.3.0 to production: the seed's migrations on green, health checks, traffic
///    switched from blue to green by the pair's switch command.
/// 5. A blue-green deploy whose health check fails: recorded, traffic stays on green.
/// 6. Pipeline 1.4.0 to staging with a failing migration: the stage fails, the rest are
///    skipped, the automatic rollback reverts what the run applied, the run ends `rolled_back`.
///
/// The cluster is stopped and removed when `run` returns (and at exit if the process dies
/// first). The migrations are embedded in the binary, so it runs from any directory.
public struct DemoScenario: Sendable {
    public let store: any EventStore
    /// Narration, one line at a time.
    public var say: @Sendable (String) -> Void
    public var actor = "demo@deploylog"

    public static let pipelineName = "camera-counting-db"
    public static let pairName = "camera-counting-prod"
    public static let healthQuery = "SELECT count(*) FROM cameras WHERE status = 'active'"

    public init(store: any EventStore, say: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.say = say
    }

    public struct Outcome: Sendable {
        public var stagingPipeline: PipelineRunner.Result
        public var blueGreenDeploy: BlueGreenDeployer.DeployResult
        public var unhealthyDeploy: BlueGreenDeployer.DeployResult
        public var failingPipeline: PipelineRunner.Result
        /// Whether staging's database still has the table the rolled-back run created.
        public var rolledBackTableRemains: Bool

        /// True when every step ended as the scenario means it to.
        public var asExpected: Bool {
            stagingPipeline.status == .completed && blueGreenDeploy.switched && !unhealthyDeploy.switched
                && failingPipeline.status == .rolledBack && !rolledBackTableRemains
        }
    }

    /// The two migrations of release 1.4.0: a table with its rollback, then an index on a
    /// column nobody added (SQLSTATE 42703), so the run fails after changing the database.
    public static let releaseFiles: [MigrationSourceFile] = [
        MigrationSourceFile(
            name: "1.4.0__create_camera_zones.sql",
            contents: """
                -- deploylog:type schema
                -- deploylog:depends create_initial_schema
                -- deploylog:up
                CREATE TABLE camera_zones (
                    id SERIAL PRIMARY KEY,
                    camera_id INTEGER REFERENCES cameras(id),
                    zone_name VARCHAR(100) NOT NULL
                );
                -- deploylog:down
                DROP TABLE camera_zones;
                """),
        MigrationSourceFile(
            name: "1.4.1__index_counting_results_zone.sql",
            contents: """
                -- deploylog:type index
                -- deploylog:depends create_counting_results_table, create_camera_zones
                -- deploylog:up
                CREATE INDEX idx_counting_results_zone ON counting_results(zone_id, created_at DESC);
                -- deploylog:down
                DROP INDEX IF EXISTS idx_counting_results_zone;
                """),
    ]

    public func run() throws(EngineError) -> Outcome {
        say("==> starting a throwaway PostgreSQL server")
        // With pg_stat_statements loaded where the server has it, so the health checks read
        // mean_exec_time; without it they report a WARNING.
        let statStatements = Self.statStatementsAvailable(binDirectory: LocalPostgresCluster.findBinDirectory())
        let cluster: LocalPostgresCluster
        do {
            if statStatements,
                let c = try? LocalPostgresCluster.start(settings: ["shared_preload_libraries": "pg_stat_statements"])
            {
                cluster = c
            } else {
                cluster = try LocalPostgresCluster.start()
            }
        } catch {
            throw EngineError(.unavailable, "cannot start a local PostgreSQL server: \(error.message)")
        }
        cluster.stopAtExit()
        defer {
            cluster.stop()
            say("==> PostgreSQL server stopped and removed")
        }
        let stagingURL: String
        let blueURL: String
        let greenURL: String
        do {
            stagingURL = try cluster.createDatabase(named: "ai_camera_staging")
            blueURL = try cluster.createDatabase(named: "ai_camera_prod_blue")
            greenURL = try cluster.createDatabase(named: "ai_camera_prod_green")
        } catch {
            throw EngineError(.unavailable, "cannot create the demo databases: \(error.message)")
        }
        var loaded = false
        if statStatements {
            for db in ["ai_camera_prod_blue", "ai_camera_prod_green"] {
                loaded = (try? cluster.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", database: db)) != nil
            }
        }
        say(
            "    server on 127.0.0.1:\(cluster.port); databases ai_camera_staging, ai_camera_prod_blue, ai_camera_prod_green"
        )
        if loaded { say("    pg_stat_statements installed in the production databases") }

        // Environments and the pair.
        let metadata = EventMetadata(
            actor: actor, correlationId: UUID().uuidString.lowercased(), source: "deploylog demo")
        let environments = Environments(store: store)
        try environments.configure(
            EnvironmentConfigured(
                environment: "staging", environmentType: .staging, databaseUrl: stagingURL,
                databaseName: "ai_camera_staging",
                databaseUser: "postgres", connectionPoolSize: 10, maxConnections: 50, backupSchedule: "daily",
                monitoringEnabled: true, alertingEnabled: true, rollbackPolicy: .automatic,
                config: JSONObject([("log_level", "info"), ("deployment_strategy", "in_place")])), metadata: metadata)
        try environments.configure(
            EnvironmentConfigured(
                environment: "production", environmentType: .production, databaseName: "ai_camera_prod",
                databaseUser: "postgres", connectionPoolSize: 20, maxConnections: 200, backupSchedule: "hourly",
                monitoringEnabled: true, alertingEnabled: true, rollbackPolicy: .automatic,
                config: JSONObject([
                    ("log_level", "warn"), ("deployment_strategy", "blue_green"),
                    ("blue_green_deployment", .string(Self.pairName)),
                ])), metadata: metadata)
        let deployer = BlueGreenDeployer(store: store, actor: actor)
        try deployer.configure(
            name: Self.pairName, blueURL: blueURL, greenURL: greenURL, blueEnvironment: "production-blue",
            greenEnvironment: "production-green", activeColor: .blue,
            switchCommand:
                "echo \"router: production traffic now on $DEPLOYLOG_COLOR ($DEPLOYLOG_DATABASE_URL), version $DEPLOYLOG_VERSION\"",
            healthCheckQuery: Self.healthQuery, slowStatementMs: 5000)
        say(
            "==> environments staging and production configured (rollback policy automatic); blue-green \(Self.pairName): blue serving"
        )

        // 1. A pipeline to staging.
        let runner = PipelineRunner(store: store, actor: actor)
        say("==> pipeline \(Self.pipelineName) 1.3.0 to staging")
        let first = try runner.run(
            PipelineDefinition(
                name: Self.pipelineName, version: "1.3.0", environment: "staging", triggeredBy: "ci@build-1042",
                gitCommit: "9f1c2ab", gitBranch: "release/1.3", gitCommittedAt: Self.hoursAgo(3),
                stages: [
                    .init(
                        name: "Build Database Schema", type: .build,
                        step: .run(command: "echo 'validated 4 migrations of the seed'", timeoutSeconds: 60)),
                    .init(
                        name: "Run Unit Tests", type: .test,
                        step: .run(
                            command: "echo 'user_management camera_management counting_results: 124 passed, 0 failed'",
                            timeoutSeconds: 60)),
                    .init(name: "Deploy to Environment", type: .deploy, step: .migrate(.seed)),
                    .init(
                        name: "Health Checks", type: .validate,
                        step: .healthCheck(HealthCheckOptions(query: Self.healthQuery))),
                ]), progress: narratePipeline)

        // 2. Blue-green to production.
        say("==> blue-green \(Self.pairName): 1.3.0 to the inactive colour, then the switch")
        let blueGreen = try deployer.deploy(
            name: Self.pairName, version: "1.3.0", source: .seed, progress: narrateBlueGreen)

        // 3. A deploy whose health check fails.
        say("==> blue-green \(Self.pairName): 1.3.1 whose health check needs a table its migrations forgot")
        let unhealthy = try deployer.deploy(
            name: Self.pairName, version: "1.3.1", source: .seed,
            healthCheck: HealthCheckOptions(query: "SELECT count(*) FROM camera_zones"), progress: narrateBlueGreen)
        if let pair = try BlueGreenPair.load(Self.pairName, from: store) {
            say("    traffic still on \(pair.activeColor.rawValue) (version \(pair.versions[pair.activeColor] ?? "?"))")
        }

        // 4. A failing deployment with automatic rollback.
        say("==> pipeline \(Self.pipelineName) 1.4.0 to staging, with a failing migration")
        let failing = try runner.run(
            PipelineDefinition(
                name: Self.pipelineName, version: "1.4.0", environment: "staging", triggeredBy: "ci@build-1057",
                gitCommit: "c41d7e0", gitBranch: "release/1.4", gitCommittedAt: Self.hoursAgo(1),
                stages: [
                    .init(
                        name: "Build Database Schema", type: .build,
                        step: .run(command: "echo 'validated 6 migrations'", timeoutSeconds: 60)),
                    .init(
                        name: "Deploy to Environment", type: .deploy,
                        step: .migrate(.files(MigrationSource.seedFiles + Self.releaseFiles))),
                    .init(
                        name: "Health Checks", type: .validate,
                        step: .healthCheck(HealthCheckOptions(query: Self.healthQuery))),
                    .init(
                        name: "Integration Tests", type: .test,
                        step: .run(command: "echo '58 passed, 0 failed'", timeoutSeconds: 60)),
                ]), progress: narratePipeline)
        var remains = true
        do {
            let c = try PostgresConnection(stagingURL)
            defer { c.close() }
            remains =
                !(try c.query("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = $1", [.text("camera_zones")])
                .isEmpty)
        } catch {
            throw EngineError(.unavailable, "checking staging after the rollback: \(error)")
        }
        say("    camera_zones on staging after the rollback: \(remains ? "still there" : "gone")")
        return Outcome(
            stagingPipeline: first, blueGreenDeploy: blueGreen, unhealthyDeploy: unhealthy, failingPipeline: failing,
            rolledBackTableRemains: remains)
    }

    /// Whether the server's library folder (beside its `bin`) holds pg_stat_statements.
    public static func statStatementsAvailable(binDirectory: String) -> Bool {
        guard !binDirectory.isEmpty else { return false }
        let lib = ((binDirectory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("lib")
        return FileManager.default.fileExists(atPath: lib + "/pg_stat_statements.so")
    }

    /// A commit time `hours` before now (lead time is measured from the commit).
    static func hoursAgo(_ hours: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000_000) - hours * 3_600_000_000)
    }

    private var narratePipeline: @Sendable (PipelineRunner.Progress) -> Void {
        let say = self.say
        return { p in
            switch p {
            case .started(let id, let env): say("    pipeline \(id) -> \(env)")
            case .stageStarted: break
            case .stageFinished(let s):
                var line = "    \(s.order). \(s.name): \(s.outcome.rawValue)"
                if s.outcome != .skipped { line += " in \(s.durationMs) ms" }
                if let e = s.error, s.outcome == .failed { line += " — \(e)" }
                say(line)
            case .rollingBack(let id, let steps):
                say("    automatic rollback \(id): \(steps.count) step\(steps.count == 1 ? "" : "s")")
                for (i, s) in steps.enumerated() { say("       \(i + 1). \(s)") }
            case .finished(let status): say("    pipeline \(status.rawValue)")
            }
        }
    }

    private var narrateBlueGreen: @Sendable (BlueGreenDeployer.Progress) -> Void {
        let say = self.say
        return { p in
            switch p {
            case .deploying(let version, let color, let env):
                say("    deploying \(version) to \(color.rawValue) (\(env))")
            case .migrated(let names):
                say("    migrated: \(names.isEmpty ? "nothing pending" : names.joined(separator: ", "))")
            case .checked(let checks):
                for c in checks { say("    check \(c.name): \(c.status.rawValue)\(c.detail.map { " — " + $0 } ?? "")") }
            case .switched(let from, let to): say("    traffic switched from \(from.rawValue) to \(to.rawValue)")
            case .failed(let reason): say("    deploy failed: \(reason)")
            }
        }
    }
}
