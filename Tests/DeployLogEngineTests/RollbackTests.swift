import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import Foundation
import Testing

@Suite struct RollbackTests {
    static let more: [String: String] = [
        "2.0.0__add_zones.sql": migrationText(
            up: "CREATE TABLE camera_zones (id serial PRIMARY KEY, camera_id int REFERENCES cameras(id));",
            down: "DROP TABLE camera_zones;", depends: ["create_initial_schema"]),
        "2.1.0__zone_index.sql": migrationText(
            up: "CREATE INDEX CONCURRENTLY idx_zones_camera ON camera_zones (camera_id);",
            down: "DROP INDEX CONCURRENTLY idx_zones_camera;", type: "index", depends: ["add_zones"],
            upTransaction: false, downTransaction: false),
    ]

    func configure(_ f: EngineFixture, url: String, policy: RollbackPolicy) throws {
        try Environments(store: f.store).configure(
            EnvironmentConfigured(
                environment: "staging", environmentType: .staging, databaseUrl: url, connectionPoolSize: 5,
                maxConnections: 50, monitoringEnabled: true, alertingEnabled: false, rollbackPolicy: policy,
                config: JSONObject()), metadata: EventMetadata(actor: "tester", source: "test"))
    }

    @Test func rollbackToAPositionRestoresTheSchemaAndTheConfiguration() throws {
        let f = try EngineFixture()
        try configure(f, url: "postgres://app:s3cret@db.example/staging", policy: .manual)
        let configured = try f.events(type: "EnvironmentConfigured")
        #expect(configured[0].data.objectValue?["databaseUrl"] == "postgres://app@db.example/staging")
        try f.migrator().up(.seed, targetURL: f.databaseURL)
        let n = try f.head()
        let dumpAtN = try f.schemaDump()

        // Two more migrations and a configuration change.
        try configure(f, url: "postgres://app@db2.example/staging", policy: .automatic)
        let dir = try f.directory("more", Self.more)
        let seedDir = try f.directory(
            "all",
            Dictionary(uniqueKeysWithValues: MigrationSource.seedFiles.map { ($0.name, $0.contents) }).merging(
                Self.more
            ) { a, _ in a })
        _ = dir
        let run = try f.migrator().up(.directory(seedDir), targetURL: f.databaseURL)
        #expect(run.applied.map(\.name) == ["add_zones", "zone_index"])
        let dumpAfter = try f.schemaDump()
        #expect(dumpAfter != dumpAtN)

        // The plan (what --dry-run prints) changes nothing.
        let planner = RollbackPlanner(store: f.store, environment: "staging")
        let plan = try planner.plan(to: RollbackTarget(parsing: "position:\(n)"))
        #expect(plan.steps.map(\.actionName) == ["run_rollback_sql", "run_rollback_sql", "restore_configuration"])
        #expect(plan.steps.map(\.target).prefix(2) == ["zone_index", "add_zones"])
        #expect(plan.text.contains("revert migration zone_index (outside a transaction)"))
        let head = try f.head()
        #expect(try f.schemaDump() == dumpAfter)
        #expect(try f.head() == head)

        let result = try RollbackExecutor(store: f.store, environment: "staging", actor: "tester").execute(
            plan, targetURL: f.databaseURL, reason: "test")
        #expect(result.reverted == ["zone_index", "add_zones"])
        #expect(try f.schemaDump() == dumpAtN)
        let rolledBack = try f.events(type: "MigrationRolledBack")
        #expect(rolledBack.compactMap { $0.data.objectValue?["name"]?.stringValue } == ["zone_index", "add_zones"])
        #expect(rolledBack.allSatisfy { $0.data.objectValue?["rollbackId"]?.stringValue == result.rollbackId })
        #expect(try f.events(type: "RollbackStarted").count == 1)
        #expect(try f.events(type: "RollbackStepExecuted").count == 3)
        #expect(try f.events(type: "RollbackCompleted").count == 1)

        // The folded state now equals the state at N: migrations, configuration.
        let pit = PointInTime(store: f.store, snapshots: nil, writesSnapshots: false)
        let then = try pit.state(at: n).state.environments["staging"]!
        let now = try pit.state(at: .head).state.environments["staging"]!
        #expect(now.appliedInOrder.map(\.name) == then.appliedInOrder.map(\.name))
        #expect(now.configuration == then.configuration)
        #expect(now.isConsistent)
        // Nothing left to do.
        #expect(try planner.plan(toPosition: n).isEmpty)
    }

    @Test func aTargetInsideARunIsRefusedNamingTheNearestConsistentPoint() throws {
        let f = try EngineFixture()
        try f.migrator().up(.seed, targetURL: f.databaseURL)
        let started = try f.events(type: "MigrationStarted")
        let inside = started[1].position  // after MigrationStarted, before its MigrationApplied
        do {
            _ = try RollbackPlanner(store: f.store, environment: "staging").plan(to: .point(.position(inside)))
            Issue.record("accepted an inconsistent point")
        } catch {
            #expect(error.code == .badInput)
            #expect(error.message.contains("not a consistent point"))
            #expect(error.message.contains("migration add_camera_metadata"))
            #expect(
                error.message.contains("nearest earlier consistent point is position:\(inside - 1)"), "\(error.message)"
            )
        }
    }

    @Test func aMigrationWithoutRollbackSQLStopsThePlan() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "1__a.sql": migrationText(up: "CREATE TABLE a (id int);", down: "DROP TABLE a;"),
                "2__backfill.sql": migrationText(up: "INSERT INTO a VALUES (1);", down: nil, type: "data"),
            ])
        try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        do {
            _ = try RollbackPlanner(store: f.store, environment: "staging").plan(to: .point(.position(0)))
            Issue.record("planned past a migration without rollback SQL")
        } catch {
            #expect(error.code == .badInput)
            #expect(error.message.contains("migration 'backfill' (version 2) has no rollback SQL"))
        }
    }

    @Test func aRerunAfterAFailedRollbackResumes() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "1__a.sql": migrationText(up: "CREATE TABLE a (id int PRIMARY KEY);", down: "DROP TABLE a;"),
                "2__b.sql": migrationText(up: "CREATE TABLE b (id int);", down: "DROP TABLE b;"),
                "3__c.sql": migrationText(up: "CREATE TABLE c (id int);", down: "DROP TABLE c;"),
            ])
        try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        let afterA = try f.events(type: "MigrationApplied")[0].position
        // Something outside the migrations depends on b: its rollback SQL fails.
        _ = try f.query("CREATE VIEW b_view AS SELECT * FROM b")
        let planner = RollbackPlanner(store: f.store, environment: "staging")
        let executor = RollbackExecutor(store: f.store, environment: "staging", actor: "tester")
        let first = try planner.plan(toPosition: afterA)
        #expect(first.steps.map(\.target) == ["c", "b"])
        do {
            try executor.execute(first, targetURL: f.databaseURL, reason: "test")
            Issue.record("the rollback passed")
        } catch {
            #expect(error.code == .stepFailed)
            #expect(error.sqlState == "2BP01")
            #expect(error.message.contains("step 2"))
        }
        #expect(try f.events(type: "RollbackFailed").first?.data.objectValue?["failedStep"] == 2)
        _ = try f.query("DROP VIEW b_view")
        let second = try planner.plan(toPosition: afterA)
        #expect(second.steps.map(\.target) == ["b"])
        #expect(second.resumes != nil)
        try executor.execute(second, targetURL: f.databaseURL, reason: "test")
        #expect(
            try f.query("SELECT relname FROM pg_class WHERE relname IN ('a', 'b', 'c')").map { try $0.string(0) } == [
                "a"
            ])
        #expect(
            try f.events(type: "MigrationRolledBack").compactMap { $0.data.objectValue?["name"]?.stringValue } == [
                "c", "b",
            ])
    }

    @Test func aFailedReapplyRecordsTheMigrationFailedWithItsError() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "1__a.sql": migrationText(up: "CREATE TABLE a (id int);", down: "DROP TABLE a;"),
                "2__b.sql": migrationText(up: "CREATE TABLE b (id int);", down: "DROP TABLE b;"),
            ])
        try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        let applied = try f.events(type: "MigrationApplied")
        let planner = RollbackPlanner(store: f.store, environment: "staging")
        let executor = RollbackExecutor(store: f.store, environment: "staging", actor: "tester")
        let back = try planner.plan(toPosition: applied[0].position)
        try executor.execute(back, targetURL: f.databaseURL, reason: "test")
        // Back to where b was applied: b is re-applied, and fails (its table is in the way).
        _ = try f.query("CREATE TABLE b (other text)")
        let forward = try planner.plan(toPosition: applied[1].position)
        #expect(forward.steps.map(\.actionName) == ["reapply_migration"])
        do {
            try executor.execute(forward, targetURL: f.databaseURL, reason: "test")
            Issue.record("the re-apply passed")
        } catch {
            #expect(error.code == .stepFailed)
            #expect(error.sqlState == "42P07")
        }
        let types = try f.events().suffix(3).map(\.type)
        #expect(types == ["MigrationStarted", "MigrationFailed", "RollbackFailed"])
        let ledger = try f.migrator().ledger()
        #expect(ledger.running.isEmpty)
        let status = try f.migrator().status(.directory(dir))
        #expect(status.map(\.state) == [.applied, .failed])
        #expect(status[1].error?.contains("SQLSTATE 42P07") == true, "\(status[1])")
        #expect(try f.migrator().plan(.directory(dir)).interrupted.isEmpty)
    }

    @Test func aVersionTargetRevertsWhatCameAfterIt() throws {
        let f = try EngineFixture()
        try f.migrator().up(.seed, targetURL: f.databaseURL)
        let planner = RollbackPlanner(store: f.store, environment: "staging")
        let plan = try planner.plan(to: RollbackTarget(parsing: "version:1.1.0"))
        // Applied after 1.1.0: 1.2.0 then 1.3.0; reverted newest first.
        #expect(plan.steps.map(\.target) == ["add_performance_indexes", "create_counting_results_table"])
        #expect(plan.previousVersion == "1.3.0")
        #expect(plan.targetVersion == "1.1.0")
        try RollbackExecutor(store: f.store, environment: "staging", actor: "tester").execute(
            plan, targetURL: f.databaseURL, reason: "test")
        #expect(try f.query("SELECT 1 FROM pg_class WHERE relname = 'counting_results'").count == 0)
        #expect(
            try f.query("SELECT 1 FROM pg_attribute WHERE attname = 'metadata' AND attrelid = 'cameras'::regclass")
                .count == 1)
        #expect(throws: EngineError.self) { try planner.plan(to: .version("9.9.9")) }
    }

    @Test func blueGreenTrafficIsSwitchedBackThroughTheHook() throws {
        let f = try EngineFixture()
        let metadata = EventMetadata(actor: "tester", source: "test")
        try f.store.append([
            try ProposedEvent(
                BlueGreenConfigured(
                    deploymentName: "shop", blueEnvironment: "staging-blue", greenEnvironment: "staging-green",
                    activeColor: .blue), metadata: metadata)
        ])
        let before = try f.head()
        try f.store.append([
            try ProposedEvent(
                TrafficSwitchStarted(deploymentName: "shop", fromColor: .blue, toColor: .green), metadata: metadata),
            try ProposedEvent(
                TrafficSwitched(deploymentName: "shop", fromColor: .blue, toColor: .green, version: "2.0"),
                metadata: metadata),
        ])
        try f.migrator().up(.seed, targetURL: f.databaseURL)
        let plan = try RollbackPlanner(store: f.store, environment: "staging").plan(toPosition: before)
        #expect(
            plan.steps.last?.action
                == .switchTraffic(deploymentName: "shop", fromColor: "green", toColor: "blue", version: "unknown"))
        let switched = Switches()
        var executor = RollbackExecutor(store: f.store, environment: "staging", actor: "tester")
        executor.trafficSwitcher = { request in
            switched.add(request)
            return "switched \(request.deploymentName) to \(request.toColor)"
        }
        try executor.execute(plan, targetURL: f.databaseURL, reason: "test")
        #expect(switched.all.map(\.toColor) == ["blue"])
        let pit = PointInTime(store: f.store, snapshots: nil, writesSnapshots: false)
        #expect(try pit.state(at: .head).state.blueGreen["shop"]?.activeColor == "blue")
        let step = try f.events(type: "RollbackStepExecuted").last
        #expect(step?.data.objectValue?["action"] == "switch_traffic")
        #expect(step?.data.objectValue?["output"] == "switched shop to blue")
    }

    final class Switches: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [TrafficSwitch] = []
        func add(_ s: TrafficSwitch) {
            lock.lock()
            items.append(s)
            lock.unlock()
        }
        var all: [TrafficSwitch] {
            lock.lock()
            defer { lock.unlock() }
            return items
        }
    }

    /// Random sets of migrations applied in rounds, then a rollback to a random consistent
    /// point: the schema equals the one captured there. Seeded, so a failure replays.
    @Test func randomizedRollbacksRestoreTheSchemaCapturedAtThePoint() throws {
        // DEPLOYLOG_TEST_SEED replays another sequence.
        let seed = ProcessInfo.processInfo.environment["DEPLOYLOG_TEST_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026
        var rng = SplitMix64(seed: seed)
        var reapplied = 0
        for iteration in 0..<3 {
            let f = try EngineFixture(prefix: "random")
            var files: [String: String] = [:]
            var names: [String] = []
            var tables: [String] = []
            var points: [(position: Int64, dump: String)] = [(0, try f.schemaDump())]
            var number = 0
            for _ in 0..<Int.random(in: 2...4, using: &rng) {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    number += 1
                    let name = "m\(number)"
                    let (text, table) = Self.randomMigration(
                        number: number, tables: tables, after: names.last, using: &rng)
                    files[String(format: "%04d__%@.sql", number, name)] = text
                    names.append(name)
                    if let table { tables.append(table) }
                }
                let dir = try f.directory("round\(number)", files)
                try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
                points.append((try f.head(), try f.schemaDump()))
            }
            let target = points[Int.random(in: 0..<(points.count - 1), using: &rng)]
            let plan = try RollbackPlanner(store: f.store, environment: "staging").plan(toPosition: target.position)
            try RollbackExecutor(store: f.store, environment: "staging", actor: "tester").execute(
                plan, targetURL: f.databaseURL, reason: "randomized \(iteration)")
            #expect(try f.schemaDump() == target.dump, "iteration \(iteration): back to position \(target.position)")
            // Then to another captured point, possibly a later one: migrations rolled back since
            // are applied again from the SQL the log recorded.
            let second = points[Int.random(in: 0..<points.count, using: &rng)]
            let again = try RollbackPlanner(store: f.store, environment: "staging").plan(toPosition: second.position)
            reapplied += again.steps.filter { $0.actionName == "reapply_migration" }.count
            try RollbackExecutor(store: f.store, environment: "staging", actor: "tester").execute(
                again, targetURL: f.databaseURL, reason: "randomized \(iteration), second")
            #expect(
                try f.schemaDump() == second.dump,
                "iteration \(iteration): from position \(target.position) to position \(second.position) (seed \(seed))"
            )
        }
        print("randomized rollbacks (seed \(seed)): \(reapplied) migrations re-applied")
    }

    /// One random migration: a table, a column, a concurrent index, a function or a view, each
    /// with its rollback SQL.
    static func randomMigration(
        number: Int, tables: [String], after previous: String?, using rng: inout SplitMix64
    ) -> (String, String?) {
        let depends = previous.map { [$0] } ?? []
        if tables.isEmpty || Int.random(in: 0..<4, using: &rng) == 0 {
            let t = "t\(number)"
            return (
                migrationText(
                    up: "CREATE TABLE \(t) (id serial PRIMARY KEY, created_at timestamptz DEFAULT now());",
                    down: "DROP TABLE \(t);", depends: depends), t
            )
        }
        let t = tables[Int.random(in: 0..<tables.count, using: &rng)]
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            return (
                migrationText(
                    up: "ALTER TABLE \(t) ADD COLUMN c\(number) text DEFAULT 'x';",
                    down: "ALTER TABLE \(t) DROP COLUMN c\(number);", depends: depends), nil
            )
        case 1:
            return (
                migrationText(
                    up: "CREATE INDEX CONCURRENTLY i\(number) ON \(t) (created_at DESC);",
                    down: "DROP INDEX CONCURRENTLY i\(number);",
                    type: "index", depends: depends, upTransaction: false, downTransaction: false), nil
            )
        case 2:
            return (
                migrationText(
                    up:
                        "CREATE FUNCTION f\(number)() RETURNS bigint AS $$ SELECT count(*) FROM \(t); $$ LANGUAGE sql STABLE;",
                    down: "DROP FUNCTION f\(number)();", type: "function", depends: depends), nil
            )
        default:
            return (
                migrationText(
                    up: "CREATE VIEW v\(number) AS SELECT id FROM \(t);", down: "DROP VIEW v\(number);",
                    depends: depends), nil
            )
        }
    }
}
