// MARK: - The generator

extension SplitMix64 {
    /// Uniform in `range` (the tiny modulo bias does not matter here).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) * 0x1p-53 < p }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(n + 8)
        while out.count < n {
            var v = next()
            for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
        }
        return Array(out.prefix(n))
    }
}

package struct SampleMigration {
    package var name: String
    package var version: String
    package var type: String
    package var sql: String
    package var rollbackSql: String?
    package var dependencies: [String]
    package var transactional: Bool

    var registeredData: JSONObject {
        var d = JSONObject()
        d["name"] = .string(name)
        d["version"] = .string(version)
        d["migrationType"] = .string(type)
        d["sql"] = .string(sql)
        if let rollbackSql { d["rollbackSql"] = .string(rollbackSql) }
        d["dependencies"] = .array(dependencies.map { .string($0) })
        d["checksum"] = .string(Hex.encode(SampleSHA256.digest(Array(sql.utf8))))
        d["transactional"] = .bool(transactional)
        return d
    }
}

struct SampleEnvironment {
    var name: String
    var databaseHost: String
    var databaseName: String
    var databaseUser: String
    var poolSize: Int
    var maxConnections: Int
    var backupSchedule: String
    var monitoring: Bool
    var rollbackPolicy: String
    var config: JSONObject

    var configuredData: JSONObject {
        var d = JSONObject()
        d["environment"] = .string(name)
        d["environmentType"] = .string(name)
        d["databaseUrl"] = .string("postgresql://\(databaseUser)@\(databaseHost):5432/\(databaseName)")
        d["databaseName"] = .string(databaseName)
        d["databaseUser"] = .string(databaseUser)
        d["connectionPoolSize"] = .number(JSONNumber(poolSize))
        d["maxConnections"] = .number(JSONNumber(maxConnections))
        d["backupSchedule"] = .string(backupSchedule)
        d["monitoringEnabled"] = .bool(monitoring)
        d["alertingEnabled"] = .bool(monitoring)
        d["rollbackPolicy"] = .string(rollbackPolicy)
        d["config"] = .object(config)
        return d
    }
}

enum Stage: Equatable {
    case build, unitTests, deploy, healthChecks, integrationTests, performanceTests, switchTraffic, postSwitch

    var name: String {
        switch self {
        case .build: "Build Database Schema"
        case .unitTests: "Run Unit Tests"
        case .deploy: "Deploy to Environment"
        case .healthChecks: "Health Checks"
        case .integrationTests: "Integration Tests"
        case .performanceTests: "Performance Tests"
        case .switchTraffic: "Switch Traffic"
        case .postSwitch: "Post-switch Verification"
        }
    }

    var type: String {
        switch self {
        case .build: "build"
        case .unitTests, .integrationTests: "test"
        case .deploy, .switchTraffic: "deploy"
        case .healthChecks, .performanceTests, .postSwitch: "validate"
        }
    }
}

/// The JSON number `v`.
func num<I: BinaryInteger>(_ v: I) -> JSONValue { .number(JSONNumber(Int64(v))) }

/// The object of a literal (`JSONObject` itself has no literal syntax).
func obj(_ value: JSONValue) -> JSONObject { value.objectValue ?? JSONObject() }

/// Merges the members of `more` into `base`.
func merged(_ base: JSONValue, _ more: JSONValue) -> JSONValue {
    var o = obj(base)
    for m in obj(more) { o[m.key] = m.value }
    return .object(o)
}

struct SampleHistoryGenerator {
    static let blueGreen = "camera-counting-prod"
    static let developers = ["minh.nguyen", "lan.tran", "hieu.le", "thao.pham", "duc.vo", "an.hoang"]

    /// One pipeline run in progress.
    struct Run {
        var id: String
        var env: String
        var version: String
        var actor: String
        var stream: String { "pipeline-\(id)" }
        var production: Bool { env == "production" }
    }

    enum Failure { case unitTests, migration, healthChecks, integrationTests, performanceTests, postSwitch }

    var rng: SplitMix64
    /// The simulated clock, microseconds since the epoch.
    var now: Int64
    var events: [ProposedEvent] = []
    var pipelineCount = 0
    var buildNumber = 1041
    var environments: [SampleEnvironment] = []
    /// Every migration written so far, in order.
    var migrations: [SampleMigration] = []
    /// Per environment: names registered, names applied, the version deployed.
    var registered: [String: Set<String>] = [:]
    var applied: [String: Set<String>] = [:]
    var deployed: [String: String] = [:]
    /// Per environment: how many leading `migrations` are all applied (pending ones come after).
    var settled: [String: Int] = [:]
    var activeColor = "blue"
    var minor = 3
    var releaseCount = 0

    init(seed: UInt64, start: Timestamp) {
        rng = SplitMix64(seed: seed)
        now = start.microseconds
    }

    // MARK: Helpers

    mutating func uuid() -> String { EventID(bytes: rng.bytes(16)).text }

    /// Advances the clock by `ms` milliseconds.
    mutating func wait(ms: Int) { now += Int64(ms) * 1000 }
    mutating func wait(minutes: ClosedRange<Int>) {
        wait(ms: rng.int(minutes.lowerBound * 60_000...minutes.upperBound * 60_000))
    }

    var inactiveColor: String { activeColor == "blue" ? "green" : "blue" }

    @discardableResult
    mutating func emit(
        _ stream: String, _ type: String, _ data: JSONValue, expected: ExpectedVersion = .any,
        actor: String, correlation: String, causation: String? = nil
    ) -> EventID {
        var metadata = JSONObject()
        metadata["actor"] = .string(actor)
        metadata["correlationId"] = .string(correlation)
        if let causation { metadata["causationId"] = .string(causation) }
        metadata["source"] = "deploylog"
        let id = EventID(bytes: rng.bytes(16), nameBased: true)
        let at = Timestamp(microsecondsSinceEpoch: now)
        events.append(
            ProposedEvent(
                stream: stream, type: type, data: data, eventId: id, occurredAt: at, expectedVersion: expected,
                metadata: metadata))
        wait(ms: rng.int(1...40))  // producers stamp events a few milliseconds apart
        return id
    }

    /// An event of the run's own stream (`pipelineId` added).
    @discardableResult
    mutating func pipelineEvent(_ run: Run, _ type: String, _ data: JSONValue, expected: ExpectedVersion = .any)
        -> EventID
    {
        emit(
            run.stream, type, merged(["pipelineId": .string(run.id)], data), expected: expected, actor: run.actor,
            correlation: run.id)
    }

    /// An event of the blue-green pair's stream (`deploymentName` added).
    mutating func blueGreenEvent(_ run: Run, _ type: String, _ data: JSONValue, actor: String? = nil) {
        emit(
            "bluegreen-\(Self.blueGreen)", type, merged(["deploymentName": .string(Self.blueGreen)], data),
            actor: actor ?? run.actor, correlation: run.id)
    }

    /// An event of the environment's migrations stream (`environment`, `name`, `deploymentId` added).
    mutating func migrationEvent(_ run: Run, _ type: String, _ m: SampleMigration, _ data: JSONValue, actor: String) {
        let base: JSONValue = [
            "environment": .string(run.env), "name": .string(m.name), "deploymentId": .string(run.id),
        ]
        emit("migrations-\(run.env)", type, merged(base, data), actor: actor, correlation: run.id)
    }

    mutating func register(
        _ m: SampleMigration, in env: String, expected: ExpectedVersion, actor: String, correlation: String
    ) {
        var d = m.registeredData
        d["environment"] = .string(env)
        emit(
            "migrations-\(env)", "MigrationRegistered", .object(d), expected: expected, actor: actor,
            correlation: correlation)
        registered[env, default: []].insert(m.name)
    }

    // MARK: Set-up: environments, the blue-green pair, the seed's migrations

    mutating func setUp() {
        let setup = uuid()
        environments = [
            SampleEnvironment(
                name: "development", databaseHost: "localhost", databaseName: "ai_camera_dev", databaseUser: "dev_user",
                poolSize: 5, maxConnections: 20, backupSchedule: "daily", monitoring: false, rollbackPolicy: "manual",
                config: obj(["log_level": "debug", "debug_mode": true, "deployment_strategy": "in_place"])),
            SampleEnvironment(
                name: "staging", databaseHost: "staging-db", databaseName: "ai_camera_staging",
                databaseUser: "staging_user", poolSize: 10, maxConnections: 50, backupSchedule: "daily",
                monitoring: true, rollbackPolicy: "automatic",
                config: obj(["log_level": "info", "debug_mode": false, "deployment_strategy": "in_place"])),
            SampleEnvironment(
                name: "production", databaseHost: "prod-db", databaseName: "ai_camera_prod", databaseUser: "prod_user",
                poolSize: 20, maxConnections: 200, backupSchedule: "hourly", monitoring: true,
                rollbackPolicy: "automatic",
                config: obj([
                    "log_level": "warn", "debug_mode": false, "ssl_mode": "require",
                    "deployment_strategy": "blue_green", "blue_green_deployment": .string(Self.blueGreen),
                ])),
        ]
        for env in environments {
            emit(
                "environment-\(env.name)", "EnvironmentConfigured", .object(env.configuredData), expected: .noStream,
                actor: "hieu.le", correlation: setup)
        }
        let pair: JSONValue = [
            "deploymentName": .string(Self.blueGreen), "activeColor": "blue",
            "blueEnvironment": "production-blue",
            "blueDatabaseUrl": "postgresql://prod_user@prod-db-blue:5432/ai_camera_prod",
            "greenEnvironment": "production-green",
            "greenDatabaseUrl": "postgresql://prod_user@prod-db-green:5432/ai_camera_prod",
        ]
        emit(
            "bluegreen-\(Self.blueGreen)", "BlueGreenConfigured", pair, expected: .noStream, actor: "hieu.le",
            correlation: setup)
        migrations = SampleMigrations.seed
        for env in environments {
            wait(ms: rng.int(200...2000))
            for (i, m) in migrations.enumerated() {
                register(m, in: env.name, expected: i == 0 ? .noStream : .any, actor: "hieu.le", correlation: setup)
            }
        }
    }

    // MARK: Releases

    /// One release: new migrations, then a pipeline per environment, each retried with a
    /// patch version until it succeeds (at most three attempts).
    mutating func release(limit: Int) {
        releaseCount += 1
        var patch = 0
        if releaseCount > 1 {
            minor += 1
            let count = rng.chance(0.1) ? 0 : rng.int(2...5)
            for _ in 0..<count {
                migrations.append(SampleMigrations.next(after: migrations, version: "1.\(minor).0", rng: &rng))
            }
        }
        var commit = Hex.encode(rng.bytes(20))
        var committedAt = now - Int64(rng.int(10...180)) * 60_000_000
        wait(minutes: 30...180)
        for env in ["development", "staging", "production"] {
            for attempt in 0..<3 {
                guard pipelineCount < limit else { return }
                if runPipeline(env: env, version: "1.\(minor).\(patch)", commit: commit, committedAt: committedAt) {
                    break
                }
                if attempt < 2 {  // a fix: a new commit, a patch version
                    wait(minutes: 20...150)
                    patch += 1
                    commit = Hex.encode(rng.bytes(20))
                    committedAt = now - Int64(rng.int(5...30)) * 60_000_000
                }
            }
            wait(minutes: env == "development" ? 30...180 : 60...600)
        }
        if rng.chance(0.04) { reconfigure() }
        wait(minutes: 30...900)
    }

    /// An operator changes an environment's settings.
    mutating func reconfigure() {
        let i = rng.int(0...(environments.count - 1))
        environments[i].poolSize = max(2, environments[i].poolSize + rng.pick([-5, 5, 10]))
        environments[i].maxConnections = max(
            environments[i].poolSize * 4, environments[i].maxConnections + rng.pick([-20, 20, 50]))
        if rng.chance(0.3) {
            environments[i].backupSchedule = rng.pick(["hourly", "daily", "0 */6 * * *", "0 2 * * *"])
        }
        let env = environments[i]
        emit(
            "environment-\(env.name)", "EnvironmentConfigured", .object(env.configuredData),
            actor: rng.pick(["hieu.le", "thao.pham"]), correlation: uuid())
    }

    // MARK: A pipeline run

    /// Runs one pipeline; returns true when it completed.
    mutating func runPipeline(env: String, version: String, commit: String, committedAt: Int64) -> Bool {
        pipelineCount += 1
        buildNumber += rng.int(1...9)
        let run = Run(
            id: uuid(), env: env, version: version,
            actor: env == "development" ? rng.pick(Self.developers) : "ci@build-\(buildNumber)")
        let before = Int64(events.count)
        let previousVersion = deployed[env]
        let done = applied[env] ?? []
        var from = settled[env] ?? 0
        while from < migrations.count, done.contains(migrations[from].name) { from += 1 }
        settled[env] = from
        let pending = migrations[from...].filter { !done.contains($0.name) }
        var stages: [Stage] = [.build, .unitTests, .deploy, .healthChecks, .integrationTests, .performanceTests]
        if run.production { stages += [.switchTraffic, .postSwitch] }
        var failure: Failure? = nil
        if rng.chance(env == "development" ? 0.10 : run.production ? 0.06 : 0.08) {
            var options: [Failure] = [.unitTests, .healthChecks, .integrationTests]
            if !pending.isEmpty { options += [.migration, .migration] }
            if env != "development" { options.append(.performanceTests) }
            if run.production { options.append(.postSwitch) }
            failure = rng.pick(options)
        }

        var config = obj([
            "deployment_strategy": run.production ? "blue_green" : "in_place",
            "migrations": .array(pending.map { .string($0.name) }),
        ])
        if run.production { config["blue_green_deployment"] = .string(Self.blueGreen) }
        let branch = env == "development" ? "develop" : env == "staging" ? "release/1.\(minor)" : "main"
        pipelineEvent(
            run, "PipelineStarted",
            [
                "pipelineName": "camera-counting-db", "pipelineVersion": .string(version), "environment": .string(env),
                "triggeredBy": .string(run.actor), "gitCommitHash": .string(commit), "gitBranch": .string(branch),
                "gitCommittedAt": .string(Timestamp(microsecondsSinceEpoch: committedAt).canonicalText),
                "config": .object(config),
            ], expected: .noStream)

        var appliedHere: [SampleMigration] = []
        var switched = false
        var failed: (order: Int, stage: Stage, error: String)? = nil
        for (index, stage) in stages.enumerated() {
            let order = index + 1
            let skip =
                failed.map { "stage \($0.order) (\($0.stage.name)) failed" }
                ?? (stage == .performanceTests && env == "development" ? "not run in development" : nil)
            if let skip {
                pipelineEvent(
                    run, "StageSkipped",
                    ["stageName": .string(stage.name), "stageOrder": num(order), "reason": .string(skip)])
                continue
            }
            let stageStart = now
            pipelineEvent(
                run, "StageStarted",
                [
                    "stageName": .string(stage.name), "stageOrder": num(order), "stageType": .string(stage.type),
                    "config": stageConfig(stage, run: run, pending: pending),
                ])
            var output: String
            var error: String? = nil
            switch stage {
            case .build:
                let new = pending.filter { !(registered[env]?.contains($0.name) ?? false) }
                for m in new { register(m, in: env, expected: .any, actor: run.actor, correlation: run.id) }
                wait(ms: rng.int(20_000...90_000))
                output =
                    "\(pending.count) pending migrations validated (\(new.count) newly registered); checksums match"
            case .unitTests:
                wait(ms: rng.int(60_000...240_000))
                let total = 120 + migrations.count
                let bad = failure == .unitTests ? rng.int(1...4) : 0
                output = "\(total - bad) passed, \(bad) failed"
                if bad > 0 {
                    error = "\(bad) of \(total) tests failed, first: counting_results.test_confidence_score_range"
                }
            case .deploy:
                (output, error) = deploy(run, pending: pending, failing: failure == .migration, applied: &appliedHere)
            case .healthChecks, .postSwitch:
                let failing = failure == (stage == .healthChecks ? .healthChecks : .postSwitch)
                let color = stage == .healthChecks ? inactiveColor : activeColor
                let (checks, lines, problem) = healthChecks(failing: failing)
                wait(ms: rng.int(3_000...30_000))
                if run.production {
                    blueGreenEvent(
                        run, "HealthChecksRecorded",
                        ["color": .string(color), "healthy": .bool(problem == nil), "checks": .array(checks)])
                    if let problem, stage == .healthChecks {
                        blueGreenEvent(
                            run, "BlueGreenDeployFailed",
                            [
                                "version": .string(version),
                                "reason": .string("health checks failed on \(color): \(problem)"),
                                "rollbackTriggered": true,
                            ])
                    }
                }
                (output, error) = (lines, problem)
            case .integrationTests:
                wait(ms: rng.int(120_000...480_000))
                output = failure == .integrationTests ? "57 passed, 1 failed" : "58 passed, 0 failed"
                if failure == .integrationTests {
                    error = rng.pick([
                        "queue_integration: counting events not consumed within 30 s",
                        "api_integration: GET /cameras/42/counts returned 500",
                    ])
                }
            case .performanceTests:
                wait(ms: rng.int(180_000...600_000))
                let p95 = failure == .performanceTests ? rng.int(260...900) : rng.int(18...120)
                output = "p95 count query \(p95) ms at \(rng.int(900...1500)) counts/s"
                if p95 > 250 { error = "p95 count query \(p95) ms exceeds the 250 ms budget" }
            case .switchTraffic:
                let (from, to) = (activeColor, inactiveColor)
                switchTraffic(run, to: to, version: version, actor: run.actor)
                switched = true
                output = "traffic switched from \(from) to \(to)"
            }
            var fields = obj([
                "stageName": .string(stage.name), "stageOrder": num(order),
                "durationMs": num((now - stageStart) / 1000), "output": .string(output),
            ])
            if let error { fields["error"] = .string(error) }
            pipelineEvent(run, error == nil ? "StageCompleted" : "StageFailed", .object(fields))
            if let error { failed = (order, stage, error) }
        }

        guard let failed else {
            pipelineEvent(run, "PipelineCompleted", [:])
            deployed[env] = version
            return true
        }
        let failedId = pipelineEvent(
            run, "PipelineFailed", ["failedStage": .string(failed.stage.name), "error": .string(failed.error)])
        guard switched || appliedHere.contains(where: { $0.rollbackSql != nil }) else { return false }
        var type = failed.stage == .healthChecks || failed.stage == .postSwitch ? "health_check_failure" : "automatic"
        var actor = "deploylog-engine"
        if environment(env).rollbackPolicy == "manual" {
            // Nobody rolls back automatically here; sometimes a developer does it by hand.
            guard rng.chance(0.5) else { return false }
            wait(minutes: 10...90)
            (type, actor) = ("manual", run.actor)
        }
        let started: JSONValue = [
            "environment": .string(env), "pipelineId": .string(run.id), "rollbackType": .string(type),
            "reason": .string("\(failed.stage.name) failed: \(failed.error)"),
            "previousVersion": .string(version), "targetPosition": num(before),
        ]
        rollback(
            run, started: previousVersion.map { merged(started, ["targetVersion": .string($0)]) } ?? started,
            actor: actor, cause: failedId.text, switched: switched, applied: appliedHere)
        return false
    }

    func environment(_ name: String) -> SampleEnvironment { environments.first { $0.name == name }! }

    func stageConfig(_ stage: Stage, run: Run, pending: [SampleMigration]) -> JSONValue {
        switch stage {
        case .build: ["migrations": .array(pending.map { .string($0.name) })]
        case .unitTests: ["test_suites": ["user_management", "camera_management", "counting_results"]]
        case .deploy:
            ["target_environment": .string(run.env), "deployment_strategy": run.production ? "blue_green" : "in_place"]
        case .healthChecks, .postSwitch:
            ["health_checks": ["database_connectivity", "api_endpoints", "performance_metrics"]]
        case .integrationTests: ["test_suites": ["api_integration", "cache_integration", "queue_integration"]]
        case .performanceTests: ["load_profile": "peak_hour", "simulated_cameras": 250, "duration_s": 300]
        case .switchTraffic: ["blue_green_deployment": .string(Self.blueGreen), "to_color": .string(inactiveColor)]
        }
    }

    /// The deploy stage: in production a deploy to the inactive colour, then the pending
    /// migrations in order (one of them failing when `failing`). Returns output and error.
    mutating func deploy(_ run: Run, pending: [SampleMigration], failing: Bool, applied here: inout [SampleMigration])
        -> (String, String?)
    {
        if run.production {
            blueGreenEvent(
                run, "DeployToInactiveStarted",
                ["version": .string(run.version), "targetColor": .string(inactiveColor), "pipelineId": .string(run.id)])
        }
        let failingIndex = failing ? rng.int(0...(pending.count - 1)) : -1
        var totalMs = 0
        var error: String? = nil
        for (i, m) in pending.enumerated() {
            migrationEvent(run, "MigrationStarted", m, [:], actor: run.actor)
            let ms = m.type == "index" ? rng.int(2_000...60_000) : rng.int(15...4_000)
            wait(ms: ms)
            totalMs += ms
            if i == failingIndex {
                let message = rng.pick([
                    "ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)",
                    "ERROR: deadlock detected (SQLSTATE 40P01)",
                    "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
                ])
                migrationEvent(
                    run, "MigrationFailed", m, ["executionTimeMs": num(ms), "error": .string(message)], actor: run.actor
                )
                error = "migration \(m.name) failed: \(message)"
                break
            }
            migrationEvent(
                run, "MigrationApplied", m,
                ["executionTimeMs": num(ms), "appliedBy": .string(environment(run.env).databaseUser)], actor: run.actor)
            applied[run.env, default: []].insert(m.name)
            here.append(m)
        }
        wait(ms: rng.int(3_000...20_000))
        var output =
            error != nil
            ? "applied \(here.count) of \(pending.count) migrations"
            : pending.isEmpty
                ? "no pending migrations; \(run.version) deployed"
                : "applied \(pending.count) migrations in \(totalMs) ms; \(run.version) deployed"
        if run.production { output += " to \(inactiveColor)" }
        return (output, error)
    }

    /// TrafficSwitchStarted, then TrafficSwitched to `to`.
    mutating func switchTraffic(_ run: Run, to: String, version: String, actor: String) {
        let from = activeColor
        blueGreenEvent(run, "TrafficSwitchStarted", ["fromColor": .string(from), "toColor": .string(to)], actor: actor)
        wait(ms: rng.int(800...6_000))
        blueGreenEvent(
            run, "TrafficSwitched", ["fromColor": .string(from), "toColor": .string(to), "version": .string(version)],
            actor: actor)
        activeColor = to
    }

    /// The seed's three health checks; returns the `checks` array, the stage output, and the
    /// failure (nil when healthy).
    mutating func healthChecks(failing: Bool) -> ([JSONValue], String, String?) {
        let cameras = rng.int(180...260)
        let slowest = failing ? rng.int(5_200...9_800) : rng.int(300...5_200)
        let perf = slowest > 5_000 ? (failing ? "FAIL" : "WARNING") : (slowest > 4_000 ? "WARNING" : "PASS")
        let checks: [JSONValue] = [
            ["name": "database_connectivity", "status": "PASS", "durationMs": num(rng.int(2...15))],
            [
                "name": "api_endpoints", "status": "PASS", "detail": .string("\(cameras) active cameras"),
                "durationMs": num(rng.int(20...90)),
            ],
            [
                "name": "performance", "status": .string(perf),
                "detail": .string("slowest statement mean_exec_time \(slowest) ms (limit 5000 ms)"),
                "durationMs": num(rng.int(120...400)),
            ],
        ]
        let lines = "database_connectivity PASS\napi_endpoints PASS\nperformance \(perf)"
        let problem = perf == "FAIL" ? "performance: mean_exec_time \(slowest) ms exceeds the 5000 ms limit" : nil
        return (checks, lines, problem)
    }

    /// RollbackStepExecuted: the next step of the rollback whose stream is `stream`, once done.
    mutating func record(_ stream: String, _ step: inout Int, _ data: JSONValue, actor: String, run: Run) {
        step += 1
        let id = String(stream.dropFirst("rollback-".count))
        let fields = merged(["rollbackId": .string(id), "step": num(step)], data)
        emit(stream, "RollbackStepExecuted", fields, actor: actor, correlation: run.id)
    }

    /// Reverts what a failed pipeline did: traffic back to the previous colour, then its
    /// migrations in reverse order with the rollback SQL they were registered with.
    mutating func rollback(
        _ run: Run, started: JSONValue, actor: String, cause: String, switched: Bool, applied here: [SampleMigration]
    ) {
        let id = uuid()
        let stream = "rollback-\(id)"
        emit(
            stream, "RollbackStarted", merged(["rollbackId": .string(id)], started), expected: .noStream, actor: actor,
            correlation: run.id, causation: cause)
        var step = 0
        if switched {
            let t0 = now
            let to = inactiveColor
            switchTraffic(run, to: to, version: deployed[run.env] ?? "none", actor: actor)
            record(
                stream, &step,
                [
                    "action": "switch_traffic", "target": .string(to), "durationMs": num((now - t0) / 1000),
                    "output": .string("traffic back on \(to)"),
                ], actor: actor, run: run)
        }
        for m in here.reversed() {
            guard let undo = m.rollbackSql else {
                record(
                    stream, &step,
                    [
                        "action": "keep_migration", "target": .string(m.name), "durationMs": 0,
                        "output": "no rollback SQL: data migration kept",
                    ], actor: actor, run: run)
                continue
            }
            let ms = rng.int(10...900)
            wait(ms: ms)
            migrationEvent(
                run, "MigrationRolledBack", m, ["rollbackId": .string(id), "executionTimeMs": num(ms)], actor: actor)
            applied[run.env]?.remove(m.name)
            let tag = undo.split(separator: " ").prefix(2).joined(separator: " ")
            record(
                stream, &step,
                [
                    "action": "run_rollback_sql", "target": .string(m.name), "durationMs": num(ms),
                    "output": .string(tag),
                ], actor: actor, run: run)
        }
        emit(stream, "RollbackCompleted", ["rollbackId": .string(id)], actor: actor, correlation: run.id)
        emit(
            run.stream, "PipelineRolledBack", ["pipelineId": .string(run.id), "rollbackId": .string(id)],
            actor: actor, correlation: run.id)
    }
}
