import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import Foundation
import Testing

/// Pipelines against a real PostgreSQL target: every step recorded as it happens, a failed stage
/// skipping the rest, the environment's policy deciding the automatic rollback.
@Suite struct PipelineRunnerTests {
    /// `staging` configured with the fixture's database and `policy`.
    func configure(_ f: EngineFixture, _ name: String = "staging", policy: RollbackPolicy, url: String? = nil) throws {
        try Environments(store: f.store).configure(
            EnvironmentConfigured(
                environment: name, environmentType: .staging, databaseUrl: url ?? f.databaseURL, connectionPoolSize: 5,
                maxConnections: 20, monitoringEnabled: false, alertingEnabled: false, rollbackPolicy: policy,
                config: JSONObject()),
            metadata: EventMetadata(actor: "tester", source: "test"))
    }

    func types(_ f: EngineFixture, stream: String) throws -> [String] {
        try f.store.readStream(stream).map(\.type)
    }

    func runner(_ f: EngineFixture) -> PipelineRunner { PipelineRunner(store: f.store, actor: "tester") }

    /// A name longer than its read-model column (`VARCHAR(n)` of the seed's tables) could never
    /// be projected, and the log is immutable: the engine refuses it before appending anything.
    @Test func namesTooLongForTheReadModelAreRefusedBeforeAnythingIsAppended() throws {
        let f = try EngineFixture(prefix: "pipeline_long")
        let long = "production-eu-central-1"  // 23 characters: an environment, not a pipeline's
        try configure(f, long, policy: .manual)
        let head = try f.head()
        let definition = PipelineDefinition(
            name: "camera-counting-db", version: "1.0.0", environment: long, gitCommit: "abc123", gitBranch: "main",
            stages: [.init(name: "Build", type: .build, step: .run(command: "true", timeoutSeconds: 5))])
        do {
            _ = try runner(f).run(definition)
            Issue.record("a pipeline to \(long) was run")
        } catch {
            #expect(error.code == .badInput)
            #expect(
                error.message
                    == "PipelineStarted data.environment: 23 characters, at most 20 (the read model's deployment_pipelines.environment is VARCHAR(20))"
            )
        }
        #expect(try f.head() == head)
        let tooLong = String(repeating: "x", count: 51)
        #expect(throws: EngineError.self) { try configure(f, tooLong, policy: .manual) }
        #expect(try f.head() == head)
    }

    @Test func aPipelineRunsEveryStageAndRecordsEachAsItHappens() throws {
        let f = try EngineFixture(prefix: "pipeline_ok")
        try configure(f, policy: .automatic)
        let dir = try f.directory(
            "m",
            [
                "0001__create_cameras.sql": migrationText(
                    up: "CREATE TABLE cameras (id int, status text);", down: "DROP TABLE cameras;"),
                "0002__add_site.sql": migrationText(
                    up: "ALTER TABLE cameras ADD COLUMN site text;", down: "ALTER TABLE cameras DROP COLUMN site;",
                    depends: ["create_cameras"]),
            ])
        let definition = PipelineDefinition(
            name: "camera-counting-db", version: "1.0.0", environment: "staging", gitCommit: "abc123",
            gitBranch: "main",
            stages: [
                .init(
                    name: "Build", type: .build,
                    step: .run(
                        command:
                            "echo built $DEPLOYLOG_VERSION for $DEPLOYLOG_ENVIRONMENT; psql -XAtqc 'SELECT 42' \"$DEPLOYLOG_DATABASE_URL\"",
                        timeoutSeconds: 30)),
                .init(name: "Migrate", type: .deploy, step: .migrate(.directory(dir))),
                .init(
                    name: "Health", type: .validate,
                    step: .healthCheck(HealthCheckOptions(query: "SELECT count(*) FROM cameras"))),
            ])
        let result = try runner(f).run(definition)
        #expect(result.status == .completed)
        #expect(result.stages.map(\.outcome) == [.completed, .completed, .completed])
        #expect(result.stages[0].output == "built 1.0.0 for staging\n42\n")

        let stream = "pipeline-\(result.pipelineId)"
        #expect(
            try types(f, stream: stream) == [
                "PipelineStarted", "StageStarted", "StageCompleted", "StageStarted", "StageCompleted", "StageStarted",
                "StageCompleted", "PipelineCompleted",
            ])
        // The migrate step went through the migrator, tied to the run.
        let applied = try f.events(type: "MigrationApplied")
        #expect(applied.map { $0.data.objectValue?["name"]?.stringValue } == ["create_cameras", "add_site"])
        #expect(applied.allSatisfy { $0.data.objectValue?["deploymentId"]?.stringValue == result.pipelineId })
        #expect(try f.query("SELECT site FROM cameras").count == 0)  // the column exists

        let projected = try Projections.fold(PipelinesProjector.self, f.store)
        let p = try #require(projected.pipeline(result.pipelineId))
        #expect(p.status == "completed")
        #expect(p.gitCommitHash == "abc123")
        #expect(projected.stages(of: result.pipelineId).map(\.status) == ["completed", "completed", "completed"])
        let health = try #require(projected.stages(of: result.pipelineId).last?.stageOutput)
        #expect(health.contains("database_connectivity PASS"))
        #expect(health.contains("application_query PASS"))
        #expect(health.contains("slow_statements"))
    }

    @Test func aFailedStageSkipsTheRestAndTheAutomaticPolicyRollsTheRunBack() throws {
        let f = try EngineFixture(prefix: "pipeline_rollback")
        try configure(f, policy: .automatic)
        let dir = try f.directory(
            "m",
            ["0001__create_zones.sql": migrationText(up: "CREATE TABLE zones (id int);", down: "DROP TABLE zones;")])
        let before = try f.head()
        let definition = PipelineDefinition(
            name: "camera-counting-db", version: "1.4.0", environment: "staging",
            stages: [
                .init(name: "Migrate", type: .deploy, step: .migrate(.directory(dir))),
                .init(
                    name: "Integration Tests", type: .test,
                    step: .run(command: "echo 57 passed, 1 failed; exit 3", timeoutSeconds: 30)),
                .init(name: "Health", type: .validate, step: .healthCheck(HealthCheckOptions())),
                .init(name: "Smoke", type: .test, step: .run(command: "echo never", timeoutSeconds: 30)),
            ])
        let result = try runner(f).run(definition)
        #expect(result.status == .rolledBack)
        #expect(result.stages.map(\.outcome) == [.completed, .failed, .skipped, .skipped])
        #expect(result.failedStage == "Integration Tests")
        #expect(result.error == "command exit status 3")
        #expect(result.startPosition == before)
        let rollbackId = try #require(result.rollbackId)

        let stream = "pipeline-\(result.pipelineId)"
        #expect(
            try types(f, stream: stream) == [
                "PipelineStarted", "StageStarted", "StageCompleted", "StageStarted", "StageFailed", "StageSkipped",
                "StageSkipped", "PipelineFailed", "PipelineRolledBack",
            ])
        let failed = try #require(try f.store.readStream(stream).first { $0.type == "StageFailed" })
        #expect(failed.data.objectValue?["output"]?.stringValue == "57 passed, 1 failed\n")
        #expect(failed.data.objectValue?["error"]?.stringValue == "command exit status 3")

        // The rollback went back to just before PipelineStarted and reverted the migration.
        let started = try #require(try f.events(type: "RollbackStarted").first)
        #expect(started.data.objectValue?["rollbackId"]?.stringValue == rollbackId)
        #expect(started.data.objectValue?["rollbackType"]?.stringValue == "automatic")
        #expect(started.data.objectValue?["pipelineId"]?.stringValue == result.pipelineId)
        #expect(started.data.objectValue?["targetPosition"]?.numberValue?.int64Value == before)
        #expect(
            try types(f, stream: "rollback-\(rollbackId)") == [
                "RollbackStarted", "RollbackStepExecuted", "RollbackCompleted",
            ])
        #expect(
            try f.events(type: "MigrationRolledBack").map { $0.data.objectValue?["name"]?.stringValue } == [
                "create_zones"
            ])
        #expect(try f.query("SELECT 1 FROM pg_tables WHERE tablename = 'zones'").count == 0)

        // Folded: rolled_back, stages as run, and the environment as it was before the run.
        let projected = try Projections.fold(f.store)
        #expect(projected.pipelines.pipeline(result.pipelineId)?.status == "rolled_back")
        #expect(
            projected.pipelines.stages(of: result.pipelineId).map(\.status) == [
                "completed", "failed", "skipped", "skipped",
            ])
        // Skipped stages never started, yet their kind is known.
        #expect(
            projected.pipelines.stages(of: result.pipelineId).map(\.stageType) == [
                "deploy", "test", "validate", "test",
            ])
        let state = projected.state.environments["staging"]
        #expect(state?.applied.isEmpty == true)
        #expect(state?.isConsistent == true)
    }

    @Test func aFailingMigrationFailsItsStageAndTheManualPolicyLeavesTheRunFailed() throws {
        let f = try EngineFixture(prefix: "pipeline_manual")
        try configure(f, policy: .manual)
        let dir = try f.directory(
            "m",
            [
                "0001__create_a.sql": migrationText(up: "CREATE TABLE a (id int);", down: "DROP TABLE a;"),
                "0002__index_missing.sql": migrationText(
                    up: "CREATE INDEX ON a (missing_column);", down: nil, depends: ["create_a"]),
            ])
        let result = try runner(f).run(
            PipelineDefinition(
                name: "p", version: "2.0.0", environment: "staging",
                stages: [
                    .init(name: "Migrate", type: .deploy, step: .migrate(.directory(dir))),
                    .init(name: "Health", type: .validate, step: .healthCheck(HealthCheckOptions())),
                ]))
        #expect(result.status == .failed)
        #expect(result.rollbackId == nil)
        #expect(result.rollbackNote?.contains("manual") == true)
        #expect(result.error?.contains("42703") == true)
        #expect(result.error?.contains("0002__index_missing.sql") == true)
        #expect(
            try types(f, stream: "pipeline-\(result.pipelineId)").suffix(3) == [
                "StageFailed", "StageSkipped", "PipelineFailed",
            ])
        #expect(try f.events(type: "RollbackStarted").isEmpty)
        // What ran before the failure stays, as the manual policy wants.
        #expect(try f.query("SELECT 1 FROM pg_tables WHERE tablename = 'a'").count == 1)
        #expect(try Projections.fold(PipelinesProjector.self, f.store).pipeline(result.pipelineId)?.status == "failed")
    }

    @Test func aRunStepIsKilledAtItsTimeoutAndItsOutputIsBounded() throws {
        let f = try EngineFixture(prefix: "pipeline_timeout")
        try configure(f, policy: .manual)
        let clock = ContinuousClock()
        let started = clock.now
        let result = try runner(f).run(
            PipelineDefinition(
                name: "p", version: "1", environment: "staging",
                stages: [
                    .init(
                        name: "Noisy", type: .build,
                        step: .run(
                            command: "head -c 100000 /dev/zero | tr '\\0' x; echo; echo tail-line", timeoutSeconds: 30)),
                    .init(
                        name: "Slow", type: .test,
                        step: .run(command: "echo before; sleep 20; echo after", timeoutSeconds: 0.5)),
                ]))
        #expect(clock.now - started < .seconds(10))
        #expect(result.status == .failed)
        let noisy = try #require(result.stages.first?.output)
        #expect(noisy.utf8.count < ShellCommand.defaultOutputLimit + 200)
        #expect(noisy.contains("bytes of output left out"))
        #expect(noisy.hasSuffix("tail-line\n"))
        #expect(result.stages[1].error == "command timed out after 0.5 s")
        #expect(result.stages[1].output == "before\n")
    }

    @Test func anUnknownEnvironmentOrPairIsRefusedBeforeAnythingIsRecorded() throws {
        let f = try EngineFixture(prefix: "pipeline_refused")
        let head = try f.head()
        do {
            _ = try runner(f).run(
                PipelineDefinition(
                    name: "p", version: "1", environment: "nowhere",
                    stages: [.init(name: "a", type: .build, step: .run(command: "true", timeoutSeconds: 1))]))
            Issue.record("an unknown environment was accepted")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("nowhere"))
        }
        try configure(f, policy: .automatic)
        let configured = try f.head()
        do {
            _ = try runner(f).run(
                PipelineDefinition(
                    name: "p", version: "1", environment: "staging",
                    stages: [.init(name: "s", type: .deploy, step: .switchTraffic(pair: "no-such-pair"))]))
            Issue.record("an unknown pair was accepted")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("no-such-pair"))
        }
        #expect(head == 0)
        #expect(try f.head() == configured)
    }
}
