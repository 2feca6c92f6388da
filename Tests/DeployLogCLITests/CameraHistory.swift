import DeployLogEvents

/// A realistic deployment history of the seed's "AI Camera Counting System"
/// (`seed/deployment-cicd.md`), as a producer would send it: compact NDJSON envelopes with
/// event ids, occurrence times (millisecond precision) and metadata.
///
/// Three environments (development, staging, production) and a fourth that is deactivated; the
/// seed's four migrations registered for each; thirteen pipeline runs with build, test, deploy
/// and validate stages promoting versions 1.0.0 to 1.3.0 through the environments; blue-green
/// switches in production; a production deploy of 1.3.0 whose health checks fail, followed by
/// an automatic rollback; a skipped stage; an approval event of a type the catalog does not
/// know; a reconfiguration of production. Deterministic: the same every time.
struct CameraHistory {
    /// The envelopes, in order; the event at position `i + 1` of a fresh store is `events[i]`.
    private(set) var events: [JSONValue] = []

    var ndjson: [UInt8] { Array(events.ndjson) }

    /// The occurrence time of each event, as `Timestamp`s.
    private(set) var times: [Timestamp] = []

    private var random = SplitMix64(seed: 0x00DE_B10C)
    /// Milliseconds since the epoch: starts 2026-11-02T08:00:00Z.
    private var clock: Int64 = 1_793_606_400_000
    private var lastEventId: [String: String] = [:]

    /// The seed's four migrations (the same as the sample history's).
    static let migrations = SampleMigrations.seed

    static let environments:
        [(
            name: String, user: String, host: String, pool: Int, max: Int, backup: String, monitoring: Bool,
            config: JSONValue
        )] = [
            (
                "development", "dev_user", "localhost", 5, 20, "daily", false,
                ["log_level": "debug", "debug_mode": true]
            ),
            (
                "staging", "staging_user", "staging-db", 10, 50, "daily", true,
                ["log_level": "info", "debug_mode": false]
            ),
            (
                "production", "prod_user", "prod-db", 20, 200, "hourly", true,
                ["log_level": "warn", "debug_mode": false, "ssl_mode": "require"]
            ),
        ]

    static let bluegreen = "camera-counting-prod"

    init() {
        for env in Self.environments { configure(env.name, poolSize: env.pool) }
        configure("qa", poolSize: 5)
        append(
            "bluegreen-\(Self.bluegreen)", "BlueGreenConfigured",
            [
                "deploymentName": .string(Self.bluegreen), "blueEnvironment": "production-blue",
                "greenEnvironment": "production-green",
                "blueDatabaseUrl": "postgresql://prod_user@prod-db-blue:5432/ai_camera_prod",
                "greenDatabaseUrl": "postgresql://prod_user@prod-db-green:5432/ai_camera_prod", "activeColor": "blue",
            ], actor: "ops@camera-team", expectedVersion: -1)
        for env in Self.environments {
            for m in Self.migrations {
                append(
                    "migrations-\(env.name)", "MigrationRegistered",
                    [
                        "environment": .string(env.name), "name": .string(m.name), "version": .string(m.version),
                        "migrationType": .string(m.type), "sql": .string(m.sql), "rollbackSql": .string(m.rollbackSql ?? ""),
                        "dependencies": .array(m.dependencies.map { .string($0) }), "checksum": .string(hex(32)),
                        "transactional": .bool(m.transactional),
                    ], actor: "dba@camera-team")
            }
        }
        append(
            "environment-qa", "EnvironmentDeactivated", ["environment": "qa", "reason": "merged into staging"],
            actor: "ops@camera-team")
        var green = true
        for (i, m) in Self.migrations.enumerated() {
            for env in ["development", "staging", "production"] {
                let failing = env == "production" && i == 3
                if env == "production" {
                    append(
                        "pipeline-approvals", "ManualApprovalRecorded",
                        [
                            "version": .string(m.version), "approver": "lead@camera-team",
                            "ticket": .string("CAM-\(100 + i)"),
                        ],
                        actor: "lead@camera-team")
                }
                pipeline(
                    env: env, version: m.version, migration: m, blueGreen: env == "production", failing: failing,
                    toGreen: green)
                if env == "production" && !failing { green.toggle() }
            }
            if i == 1 {
                configure("production", poolSize: 30, expectedVersion: 0)
            }
        }
        pipeline(
            env: "development", version: "1.3.1", migration: nil, blueGreen: false, failing: false, toGreen: false,
            skipValidate: true)
    }

    // MARK: Building blocks

    private mutating func configure(_ name: String, poolSize: Int, expectedVersion: Int? = -1) {
        let env = Self.environments.first { $0.name == name } ?? (name, "qa_user", "qa-db", 5, 20, "weekly", false, [:])
        append(
            "environment-\(name)", "EnvironmentConfigured",
            [
                "environment": .string(name), "environmentType": .string(name == "qa" ? "staging" : name),
                "databaseUrl": .string("postgresql://\(env.user)@\(env.host):5432/ai_camera_\(name)"),
                "databaseName": .string("ai_camera_\(name)"), "databaseUser": .string(env.user),
                "connectionPoolSize": .number(JSONNumber(poolSize)), "maxConnections": .number(JSONNumber(env.max)),
                "backupSchedule": .string(env.backup), "monitoringEnabled": .bool(env.monitoring),
                "alertingEnabled": .bool(env.monitoring),
                "rollbackPolicy": .string(name == "production" ? "automatic" : "manual"),
                "config": env.config,
            ], actor: "ops@camera-team", expectedVersion: expectedVersion)
    }

    private mutating func pipeline(
        env: String, version: String, migration: SampleMigration?, blueGreen: Bool, failing: Bool, toGreen: Bool,
        skipValidate: Bool = false
    ) {
        let id = uuid()
        let stream = "pipeline-\(id)"
        let deploymentId = "deploy-\(env)-\(version)"
        let actor = "ci@build-\(events.count + 1000)"
        let positionBefore = Int64(events.count)
        let commit = hex(20)
        append(
            stream, "PipelineStarted",
            [
                "pipelineId": .string(id), "pipelineName": "camera-counting-db", "pipelineVersion": .string(version),
                "environment": .string(env), "triggeredBy": .string(actor), "gitCommitHash": .string(commit),
                "gitBranch": "main",
                // Timestamps inside data are written in the catalog's canonical form.
                "gitCommittedAt": .string(Timestamp(microsecondsSinceEpoch: (clock - 3_600_000) * 1000).canonicalText),
                "config": [
                    "deployment_strategy": .string(blueGreen ? "blue_green" : "rolling"),
                    "migrations": .array(migration.map { [.string($0.name)] } ?? []),
                ],
            ], actor: actor, correlation: id, expectedVersion: -1)
        let stages: [(String, String)] = [
            ("build", "build"), ("test", "test"), ("deploy", "deploy"), ("validate", "validate"),
        ]
        for (order, (name, type)) in stages.enumerated() {
            if skipValidate && name == "validate" {
                append(
                    stream, "StageSkipped",
                    [
                        "pipelineId": .string(id), "stageName": .string(name),
                        "stageOrder": .number(JSONNumber(order + 1)), "reason": "no migrations to validate",
                    ],
                    actor: actor, correlation: id)
                continue
            }
            append(
                stream, "StageStarted",
                [
                    "pipelineId": .string(id), "stageName": .string(name), "stageOrder": .number(JSONNumber(order + 1)),
                    "stageType": .string(type), "config": ["timeout_seconds": 600],
                ], actor: actor, correlation: id)
            if name == "deploy" {
                let color = toGreen ? "green" : "blue"
                if blueGreen {
                    append(
                        "bluegreen-\(Self.bluegreen)", "DeployToInactiveStarted",
                        [
                            "deploymentName": .string(Self.bluegreen), "version": .string(version),
                            "targetColor": .string(color), "pipelineId": .string(id),
                        ],
                        actor: actor, correlation: id)
                }
                if let m = migration {
                    append(
                        "migrations-\(env)", "MigrationStarted",
                        ["environment": .string(env), "name": .string(m.name), "deploymentId": .string(deploymentId)],
                        actor: actor, correlation: id)
                    append(
                        "migrations-\(env)", "MigrationApplied",
                        [
                            "environment": .string(env), "name": .string(m.name), "deploymentId": .string(deploymentId),
                            "executionTimeMs": .number(JSONNumber(Int(random.next() % 900) + 40)),
                            "appliedBy": .string(actor),
                        ], actor: actor, correlation: id)
                }
                if blueGreen {
                    let checks: [JSONValue] = [
                        ["name": "database_connectivity", "status": "PASS", "durationMs": 4],
                        ["name": "api_endpoints", "status": "PASS", "detail": "12 active cameras", "durationMs": 38],
                        failing
                            ? [
                                "name": "performance", "status": "FAIL",
                                "detail": "slowest statement mean_exec_time 7390 ms (limit 5000 ms)", "durationMs": 215,
                            ]
                            : [
                                "name": "performance", "status": "PASS",
                                "detail": "slowest statement mean_exec_time 812 ms", "durationMs": 190,
                            ],
                    ]
                    append(
                        "bluegreen-\(Self.bluegreen)", "HealthChecksRecorded",
                        [
                            "deploymentName": .string(Self.bluegreen), "color": .string(color),
                            "healthy": .bool(!failing), "checks": .array(checks),
                        ],
                        actor: actor, correlation: id)
                    if failing {
                        append(
                            "bluegreen-\(Self.bluegreen)", "BlueGreenDeployFailed",
                            [
                                "deploymentName": .string(Self.bluegreen), "version": .string(version),
                                "reason": .string("health check performance failed on \(color)"),
                                "rollbackTriggered": true,
                            ], actor: actor, correlation: id)
                        failAndRollBack(
                            pipeline: id, env: env, version: version, migration: migration, stageOrder: order + 1,
                            actor: actor, targetPosition: positionBefore)
                        return
                    }
                    let from = toGreen ? "blue" : "green"
                    append(
                        "bluegreen-\(Self.bluegreen)", "TrafficSwitchStarted",
                        [
                            "deploymentName": .string(Self.bluegreen), "fromColor": .string(from),
                            "toColor": .string(color),
                        ],
                        actor: actor, correlation: id)
                    append(
                        "bluegreen-\(Self.bluegreen)", "TrafficSwitched",
                        [
                            "deploymentName": .string(Self.bluegreen), "fromColor": .string(from),
                            "toColor": .string(color), "version": .string(version),
                        ],
                        actor: actor, correlation: id)
                }
            }
            append(
                stream, "StageCompleted",
                [
                    "pipelineId": .string(id), "stageName": .string(name), "stageOrder": .number(JSONNumber(order + 1)),
                    "durationMs": .number(JSONNumber(Int(random.next() % 60_000) + 500)),
                    "output": .string(name == "test" ? "42 tests passed, 0 failed; \"smoke\" suite ok" : "\(name) ok"),
                ], actor: actor, correlation: id)
        }
        append(stream, "PipelineCompleted", ["pipelineId": .string(id)], actor: actor, correlation: id)
    }

    private mutating func failAndRollBack(
        pipeline id: String, env: String, version: String, migration: SampleMigration?, stageOrder: Int, actor: String,
        targetPosition: Int64
    ) {
        let stream = "pipeline-\(id)"
        append(
            stream, "StageFailed",
            [
                "pipelineId": .string(id), "stageName": "deploy", "stageOrder": .number(JSONNumber(stageOrder)),
                "durationMs": 48_213, "output": "migrated green; health checks ran",
                "error": "health check performance failed: mean_exec_time 7390 ms > 5000 ms",
            ], actor: actor, correlation: id)
        append(
            stream, "PipelineFailed",
            ["pipelineId": .string(id), "failedStage": "deploy", "error": "deploy stage failed: health checks"],
            actor: actor, correlation: id)
        let rollbackId = uuid()
        let rb = "rollback-\(rollbackId)"
        append(
            rb, "RollbackStarted",
            [
                "rollbackId": .string(rollbackId), "environment": .string(env), "pipelineId": .string(id),
                "reason": .string("health checks failed after deploying \(version) to green"),
                "rollbackType": "health_check_failure",
                "previousVersion": .string(version), "targetVersion": "1.2.0",
                "targetPosition": .number(JSONNumber(targetPosition)),
            ], actor: "deploylog-engine", correlation: id, expectedVersion: -1)
        let steps: [(String, String)] = [
            ("revert_migration", migration?.name ?? "-"), ("keep_traffic", "blue"),
            ("restore_configuration", "environment-\(env)"),
        ]
        for (n, (action, target)) in steps.enumerated() {
            append(
                rb, "RollbackStepExecuted",
                [
                    "rollbackId": .string(rollbackId), "step": .number(JSONNumber(n + 1)), "action": .string(action),
                    "target": .string(target), "durationMs": .number(JSONNumber(Int(random.next() % 2000) + 10)),
                    "output": .string(action == "revert_migration" ? migration?.rollbackSql ?? "" : "ok"),
                ], actor: "deploylog-engine", correlation: id)
            if action == "revert_migration", let m = migration {
                append(
                    "migrations-\(env)", "MigrationRolledBack",
                    [
                        "environment": .string(env), "name": .string(m.name),
                        "deploymentId": .string("deploy-\(env)-\(version)"),
                        "rollbackId": .string(rollbackId), "executionTimeMs": 27,
                    ], actor: "deploylog-engine", correlation: id)
            }
        }
        append(rb, "RollbackCompleted", ["rollbackId": .string(rollbackId)], actor: "deploylog-engine", correlation: id)
        append(
            stream, "PipelineRolledBack", ["pipelineId": .string(id), "rollbackId": .string(rollbackId)],
            actor: "deploylog-engine", correlation: id)
    }

    private mutating func append(
        _ stream: String, _ type: String, _ data: JSONValue, actor: String, correlation: String? = nil,
        expectedVersion: Int? = nil
    ) {
        clock += Int64(random.next() % 90_000) + 1_000
        let id = uuid()
        var metadata = JSONObject([("actor", .string(actor)), ("source", "gitlab-ci")])
        if let correlation { metadata["correlationId"] = .string(correlation) }
        if let cause = lastEventId[correlation ?? stream] { metadata["causationId"] = .string(cause) }
        lastEventId[correlation ?? stream] = id
        var o = JSONObject([
            ("stream", .string(stream)), ("type", .string(type)), ("data", data), ("eventId", .string(id)),
            ("occurredAt", .string(timeText(clock))), ("metadata", .object(metadata)),
        ])
        if let expectedVersion { o["expectedVersion"] = .number(JSONNumber(expectedVersion)) }
        events.append(.object(o))
        times.append(Timestamp(microsecondsSinceEpoch: clock * 1000))
    }

    /// `2026-11-02T08:00:00.120Z`: milliseconds, as producers write it.
    private func timeText(_ ms: Int64) -> String {
        let t = Timestamp(microsecondsSinceEpoch: ms * 1000).canonicalText  // …SS.ffffffZ
        return String(t.prefix(23)) + "Z"
    }

    private mutating func uuid() -> String {
        var bytes = [UInt8]()
        for _ in 0..<2 { withUnsafeBytes(of: random.next()) { bytes.append(contentsOf: $0) } }
        return EventID(bytes: bytes).text
    }

    private mutating func hex(_ count: Int) -> String {
        var bytes = [UInt8]()
        while bytes.count < count { withUnsafeBytes(of: random.next()) { bytes.append(contentsOf: $0) } }
        return Hex.encode(bytes.prefix(count))
    }
}

