/// A deterministic, realistic deployment history of the seed's system (the "AI Camera Counting
/// System": development, staging and a blue-green production), for demos, tests and benchmarks.
///
/// The same `pipelines`, `seed` and `start` always give the same events, byte for byte: every
/// identifier, hash, duration and time comes from a SplitMix64 generator, never from the clock.
///
/// The history opens with the three environments (`EnvironmentConfigured`, database URLs
/// without passwords), the production blue-green pair (`BlueGreenConfigured`) and the seed's four
/// migrations registered in each environment. Then releases follow, each deployed by one
/// pipeline per environment (development, staging, production, in that order): stages
/// build → unit tests → deploy (migrations, and in production a deploy to the inactive colour)
/// → health checks → integration tests → performance tests, and in production a traffic switch
/// and a post-switch check. A few pipelines fail; where the environment's policy is automatic
/// (or an operator steps in) a rollback reverts what the pipeline did, and a fixed patch
/// version is deployed next. About 25 events per pipeline.
///
/// Events use the streams and fields of EVENTS.md; metadata carries `actor`, `correlationId`
/// (the pipeline's id) and `source` "deploylog". `RollbackStarted.targetPosition` assumes the
/// history is appended, in order, to an empty log (position 1 is the first event).
public enum SampleHistory {
    /// 2026-11-01T08:00:00Z.
    public static let defaultStart = Timestamp(microsecondsSinceEpoch: 1_793_520_000_000_000)

    /// The events of `pipelines` pipeline runs (and the set-up before them), in order.
    public static func generate(pipelines: Int, seed: UInt64 = 1, start: Timestamp = SampleHistory.defaultStart)
        -> [ProposedEvent]
    {
        var g = SampleHistoryGenerator(seed: seed, start: start)
        g.setUp()
        while g.pipelineCount < pipelines { g.release(limit: pipelines) }
        return g.events
    }

    /// The events as `deploylog append` takes them: one compact JSON envelope per line, in the
    /// order of EVENTS.md (`stream`, `type`, `data`, `eventId`, `occurredAt`, `expectedVersion`
    /// where the producer states one, `metadata`), each line ending in a newline. `data` and
    /// `metadata` are written canonically.
    public static func ndjson(_ events: [ProposedEvent]) -> String {
        var w = CanonicalJSONWriter(reservingCapacity: events.count * 600)
        for e in events {
            w.writeASCII("{\"stream\":")
            w.writeString(e.stream)
            w.writeASCII(",\"type\":")
            w.writeString(e.type)
            w.writeASCII(",\"data\":")
            w.write(e.data)
            w.writeASCII(",\"eventId\":")
            w.writeString(e.eventId.text)
            if let t = e.occurredAt {
                w.writeASCII(",\"occurredAt\":")
                w.writeString(t.canonicalText)
            }
            switch e.expectedVersion {
            case .any: break
            case .noStream: w.writeASCII(",\"expectedVersion\":-1")
            case .exact(let v):
                w.writeASCII(",\"expectedVersion\":")
                w.writeInt(v)
            }
            if e.schemaVersion != 1 {
                w.writeASCII(",\"schemaVersion\":")
                w.writeInt(Int64(e.schemaVersion))
            }
            if !e.metadata.isEmpty {
                w.writeASCII(",\"metadata\":")
                w.write(e.metadata)
            }
            for member in e.extra {
                w.writeASCII(",")
                w.writeString(member.key)
                w.writeASCII(":")
                w.write(member.value)
            }
            w.writeASCII("}\n")
        }
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

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

private struct SampleEnvironment {
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

private enum Stage: Equatable {
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
private func num<I: BinaryInteger>(_ v: I) -> JSONValue { .number(JSONNumber(Int64(v))) }

/// The object of a literal (`JSONObject` itself has no literal syntax).
private func obj(_ value: JSONValue) -> JSONObject { value.objectValue ?? JSONObject() }

/// Merges the members of `more` into `base`.
private func merged(_ base: JSONValue, _ more: JSONValue) -> JSONValue {
    var o = obj(base)
    for m in obj(more) { o[m.key] = m.value }
    return .object(o)
}

private struct SampleHistoryGenerator {
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

// MARK: - Migrations

package enum SampleMigrations {
    /// The seed's four migrations, as `deployment_migrations` defines them.
    package static let seed: [SampleMigration] = [
        SampleMigration(
            name: "create_initial_schema", version: "1.0.0", type: "schema",
            sql: """
                CREATE TABLE IF NOT EXISTS cameras (
                    id SERIAL PRIMARY KEY,
                    camera_name VARCHAR(100) NOT NULL,
                    location VARCHAR(255),
                    status VARCHAR(20) DEFAULT 'active',
                    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
                );
                """,
            rollbackSql: "DROP TABLE IF EXISTS cameras;", dependencies: [], transactional: true),
        SampleMigration(
            name: "add_camera_metadata", version: "1.1.0", type: "schema",
            sql: "ALTER TABLE cameras ADD COLUMN IF NOT EXISTS metadata JSONB DEFAULT '{}'::jsonb;",
            rollbackSql: "ALTER TABLE cameras DROP COLUMN IF EXISTS metadata;", dependencies: ["create_initial_schema"],
            transactional: true),
        SampleMigration(
            name: "create_counting_results_table", version: "1.2.0", type: "schema",
            sql: """
                CREATE TABLE IF NOT EXISTS counting_results (
                    id SERIAL PRIMARY KEY,
                    camera_id INTEGER REFERENCES cameras(id),
                    count_type VARCHAR(50) NOT NULL,
                    count_value INTEGER NOT NULL,
                    confidence_score DECIMAL(5,4),
                    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
                );
                """,
            rollbackSql: "DROP TABLE IF EXISTS counting_results;", dependencies: ["create_initial_schema"],
            transactional: true),
        SampleMigration(
            name: "add_performance_indexes", version: "1.3.0", type: "index",
            sql:
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_counting_results_camera_time\n  ON counting_results(camera_id, created_at DESC);",
            rollbackSql: "DROP INDEX IF EXISTS idx_counting_results_camera_time;",
            dependencies: ["create_counting_results_table"],
            transactional: false),
    ]

    static let tables = ["cameras", "counting_results", "camera_zones", "camera_health", "count_adjustments"]
    static let columns: [(String, String, String)] = [
        ("firmware_version", "VARCHAR(50)", "'unknown'"), ("last_seen_at", "TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("zone_id", "INTEGER", "0"), ("model_version", "VARCHAR(30)", "'yolo-v8n'"),
        ("frame_rate", "NUMERIC(5,2)", "25.0"),
        ("direction", "VARCHAR(10)", "'in'"), ("site_code", "VARCHAR(20)", "'HCM-01'"),
        ("is_calibrated", "BOOLEAN", "FALSE"),
        ("resolution", "VARCHAR(20)", "'1920x1080'"), ("retention_days", "INTEGER", "90"),
    ]

    /// The next migration of a later release: Django-style numbered names (`0005_…`), each
    /// depending on the one before it.
    static func next(after existing: [SampleMigration], version: String, rng: inout SplitMix64) -> SampleMigration {
        let number = existing.count + 1
        let prefix = String(repeating: "0", count: max(0, 4 - String(number).count)) + String(number)
        let table = rng.pick(tables)
        let (column, type, fallback) = rng.pick(columns)
        let previous = existing.last.map { [$0.name] } ?? []
        switch rng.int(0...9) {
        case 0...4:
            return SampleMigration(
                name: "\(prefix)_add_\(column)_to_\(table)", version: version, type: "schema",
                sql: "ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(column) \(type);",
                rollbackSql: "ALTER TABLE \(table) DROP COLUMN IF EXISTS \(column);", dependencies: previous,
                transactional: true)
        case 5...6:
            let index = "idx_\(table)_\(column)_\(prefix)"
            return SampleMigration(
                name: "\(prefix)_index_\(table)_\(column)", version: version, type: "index",
                sql: "CREATE INDEX CONCURRENTLY IF NOT EXISTS \(index)\n  ON \(table)(\(column), created_at DESC);",
                rollbackSql: "DROP INDEX CONCURRENTLY IF EXISTS \(index);", dependencies: previous, transactional: false
            )
        case 7...8:
            return SampleMigration(
                name: "\(prefix)_backfill_\(table)_\(column)", version: version, type: "data",
                sql: "UPDATE \(table) SET \(column) = \(fallback) WHERE \(column) IS NULL;",
                rollbackSql: nil, dependencies: previous, transactional: true)
        default:
            let function = "\(table)_\(column)_summary"
            return SampleMigration(
                name: "\(prefix)_create_\(function)", version: version, type: "function",
                sql: """
                    CREATE OR REPLACE FUNCTION \(function)(p_since TIMESTAMP)
                    RETURNS TABLE(\(column) TEXT, total BIGINT) AS $$
                        SELECT \(column)::TEXT, COUNT(*) FROM \(table)
                        WHERE created_at >= p_since GROUP BY 1 ORDER BY 2 DESC;
                    $$ LANGUAGE sql STABLE;
                    """,
                rollbackSql: "DROP FUNCTION IF EXISTS \(function)(TIMESTAMP);", dependencies: previous,
                transactional: true)
        }
    }
}

// MARK: - SHA-256 (for migration checksums; this module has no crypto dependency)

/// FIPS 180-4 SHA-256, written plainly: it hashes a few hundred short SQL texts.
private enum SampleSHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ]
        var m = message
        let bits = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                var v: UInt32 = 0
                for j in 0..<4 { v = v << 8 | UInt32(m[chunk + 4 * i + j]) }
                w[i] = v
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] &+= v }
        }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for v in h { for s in [24, 16, 8, 0] as [UInt32] { out.append(UInt8(truncatingIfNeeded: v >> s)) } }
        return out
    }
}
