import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import DeployLogTestSupport
import Foundation
import Testing

/// Blue-green against real databases: deploy to the inactive colour, switch only when healthy,
/// a failing check leaving traffic where it was, the switch command and its environment.
@Suite struct BlueGreenTests {
    /// The fixture's database is blue; green is a second one. The switch command writes the
    /// colour and URL it was given to `switched.txt` in the fixture's directory.
    final class Pair {
        let f: EngineFixture
        let greenURL: String
        let switchFile: String
        let deployer: BlueGreenDeployer

        init(_ prefix: String, switchCommand: String? = nil, healthQuery: String? = nil) throws {
            f = try EngineFixture(prefix: prefix + "_blue")
            greenURL = try PostgresServer.shared().createDatabase(prefix: prefix + "_green")
            switchFile = f.directory + "/switched.txt"
            deployer = BlueGreenDeployer(store: f.store, actor: "tester")
            try deployer.configure(
                name: "camera-counting-prod", blueURL: f.databaseURL, greenURL: greenURL,
                blueEnvironment: "production-blue",
                greenEnvironment: "production-green",
                switchCommand: switchCommand
                    ?? "echo \"$DEPLOYLOG_COLOR $DEPLOYLOG_DATABASE_URL $DEPLOYLOG_VERSION\" > '\(switchFile)'",
                healthCheckQuery: healthQuery ?? "SELECT count(*) FROM cameras")
        }

        deinit {
            if let server = try? PostgresServer.shared(), server.isExternal { try? server.dropDatabase(url: greenURL) }
        }

        func migrations() throws -> String {
            try f.directory(
                "m",
                [
                    "1.0.0__create_cameras.sql": migrationText(
                        up: "CREATE TABLE cameras (id int, status text);", down: "DROP TABLE cameras;")
                ])
        }

        func pair() throws -> BlueGreenPair {
            try #require(try BlueGreenPair.load("camera-counting-prod", from: f.store))
        }

        func types() throws -> [String] { try f.store.readStream("bluegreen-camera-counting-prod").map(\.type) }

        func switched() -> String? { try? String(contentsOfFile: switchFile, encoding: .utf8) }

        func tableExists(_ url: String, _ table: String) throws -> Bool {
            try !PostgresConnection(url).query("SELECT 1 FROM pg_tables WHERE tablename = $1", [.text(table)]).isEmpty
        }
    }

    @Test func aHealthyDeployMigratesTheInactiveColourAndSwitchesTrafficToIt() throws {
        let p = try Pair("bg_ok")
        let result = try p.deployer.deploy(
            name: "camera-counting-prod", version: "1.3.0", source: .directory(try p.migrations()))
        #expect(result.targetColor == .green)
        #expect(result.migrationsApplied == ["create_cameras"])
        #expect(result.healthy)
        #expect(result.switched)
        #expect(result.failure == nil)
        #expect(result.checks.map(\.name) == ["database_connectivity", "application_query", "slow_statements"])
        #expect(result.checks.prefix(2).allSatisfy { $0.status == .pass })
        // Without pg_stat_statements the slow-statement check is a WARNING, which is still healthy.
        #expect(result.checks[2].status != .fail)

        #expect(
            try p.types() == [
                "BlueGreenConfigured", "DeployToInactiveStarted", "HealthChecksRecorded", "TrafficSwitchStarted",
                "TrafficSwitched",
            ])
        #expect(try p.pair().activeColor == .green)
        #expect(try p.pair().versions[.green] == "1.3.0")
        // The command ran with the colour, its URL and the version in its environment.
        #expect(p.switched() == "green \(p.greenURL) 1.3.0\n")
        // Only green was migrated, under its own environment's stream.
        #expect(try p.tableExists(p.greenURL, "cameras"))
        #expect(try !p.tableExists(p.f.databaseURL, "cameras"))
        #expect(try p.f.store.readStream("migrations-production-green").contains { $0.type == "MigrationApplied" })

        let state = try Projections.fold(p.f.store).state
        #expect(state.blueGreen["camera-counting-prod"]?.activeColor == "green")
        #expect(state.blueGreen["camera-counting-prod"]?.activeVersion == "1.3.0")

        // The next deploy goes to blue, now the inactive one, and a manual switch moves it back.
        let next = try p.deployer.deploy(
            name: "camera-counting-prod", version: "1.3.1", source: .directory(try p.migrations()))
        #expect(next.targetColor == .blue && next.switched)
        let back = try p.deployer.switchTraffic(name: "camera-counting-prod")
        #expect(back.fromColor == .blue && back.toColor == .green && back.version == "1.3.0")
        #expect(try p.pair().activeColor == .green)
    }

    @Test func aFailingHealthCheckRecordsTheFailureAndLeavesTrafficWhereItWas() throws {
        let p = try Pair("bg_unhealthy", healthQuery: "SELECT count(*) FROM camera_zones")
        let result = try p.deployer.deploy(
            name: "camera-counting-prod", version: "1.4.0", source: .directory(try p.migrations()))
        #expect(!result.healthy)
        #expect(!result.switched)
        #expect(result.checks.first { $0.name == "application_query" }?.status == .fail)
        #expect(result.failure?.contains("42P01") == true)

        #expect(
            try p.types() == [
                "BlueGreenConfigured", "DeployToInactiveStarted", "HealthChecksRecorded", "BlueGreenDeployFailed",
            ])
        let failed = try #require(try p.f.store.readStream("bluegreen-camera-counting-prod").last)
        #expect(failed.data.objectValue?["version"]?.stringValue == "1.4.0")
        #expect(failed.data.objectValue?["rollbackTriggered"] == .bool(false))
        #expect(failed.data.objectValue?["reason"]?.stringValue?.contains("traffic stays on blue") == true)
        let recorded = try #require(
            try p.f.store.readStream("bluegreen-camera-counting-prod").first { $0.type == "HealthChecksRecorded" })
        #expect(recorded.data.objectValue?["healthy"] == .bool(false))
        #expect(recorded.data.objectValue?["color"]?.stringValue == "green")

        // Blue still serves: no switch event, the command never ran, the projections agree.
        #expect(try p.pair().activeColor == .blue)
        #expect(try p.pair().status == "failed")
        #expect(p.switched() == nil)
        let projections = try Projections.fold(p.f.store)
        #expect(projections.state.blueGreen["camera-counting-prod"]?.activeColor == "blue")
        #expect(projections.blueGreen.deployment("camera-counting-prod")?.currentActive == "blue")
        #expect(projections.blueGreen.deployment("camera-counting-prod")?.deploymentStatus == "failed")

        // A manual switch to the colour that failed its checks is refused, recording nothing.
        let head = try p.f.head()
        do {
            try p.deployer.switchTraffic(name: "camera-counting-prod")
            Issue.record("traffic was switched to an unhealthy colour")
        } catch {
            #expect(error.code == .stepFailed)
            #expect(error.message.contains("the last health checks of green failed"))
        }
        #expect(try p.f.head() == head)
        #expect(p.switched() == nil)
    }

    @Test func aColourWhoseLastDeployFailedInMigrationIsNotSwitchedToOnOlderChecks() throws {
        let p = try Pair("bg_stale_checks")
        let first = try p.deployer.deploy(
            name: "camera-counting-prod", version: "1.3.0", source: .directory(try p.migrations()))
        #expect(first.targetColor == .green && first.healthy && first.switched)
        try p.deployer.switchTraffic(name: "camera-counting-prod")  // back to blue; green stays healthy
        #expect(try p.pair().activeColor == .blue)
        let broken = try p.f.directory(
            "broken",
            [
                "1.0.0__create_cameras.sql": migrationText(
                    up: "CREATE TABLE cameras (id int, status text);", down: "DROP TABLE cameras;"),
                "1.4.0__break.sql": migrationText(up: "ALTER TABLE nowhere ADD COLUMN x int;", down: nil),
            ])
        let second = try p.deployer.deploy(name: "camera-counting-prod", version: "1.4.0", source: .directory(broken))
        #expect(second.targetColor == .green && !second.switched)
        #expect(second.failure?.contains("migrating green") == true)
        #expect(try p.pair().lastHealthChecks[.green] == nil)

        let head = try p.f.head()
        do {
            try p.deployer.switchTraffic(name: "camera-counting-prod")
            Issue.record("traffic was switched to a colour whose last deploy failed")
        } catch {
            #expect(error.code == .stepFailed)
            #expect(error.message.contains("the last deploy to green (version 1.4.0) has no health checks"), "\(error)")
            #expect(error.message.contains("42P01"), "\(error)")
        }
        #expect(try p.f.head() == head)
        #expect(try p.pair().activeColor == .blue)
        // The read models forget green's checks too.
        let projections = try Projections.fold(p.f.store)
        #expect(projections.state.blueGreen["camera-counting-prod"]?.lastHealthChecks["green"] == nil)
        #expect(projections.blueGreen.deployment("camera-counting-prod")?.healthCheckResults["green"] == nil)
        // Forced, it goes.
        try p.deployer.switchTraffic(name: "camera-counting-prod", force: true)
        #expect(try p.pair().activeColor == .green)
    }

    @Test func aFailingSwitchCommandLeavesTheActiveColourServing() throws {
        let p = try Pair("bg_switch_fails", switchCommand: "echo 'load balancer refused'; exit 7")
        let result = try p.deployer.deploy(
            name: "camera-counting-prod", version: "1.3.0", source: .directory(try p.migrations()))
        #expect(result.healthy)
        #expect(!result.switched)
        #expect(result.failure?.contains("exit status 7: load balancer refused") == true)
        #expect(try p.types().suffix(2) == ["TrafficSwitchStarted", "BlueGreenDeployFailed"])
        #expect(try p.pair().activeColor == .blue)
        do {
            try p.deployer.switchTraffic(name: "camera-counting-prod")
            Issue.record("a failing switch command was taken for a switch")
        } catch {
            #expect(error.code == .stepFailed)
        }
        #expect(try p.pair().activeColor == .blue)
    }

    /// A run killed after its switch command ran leaves TrafficSwitchStarted without an outcome:
    /// the log says green serves, but blue may. Deploy and switch refuse the pair (a deploy would
    /// migrate and check blue) until `switch --force` runs that switch again and records it.
    @Test func aSwitchWithoutAnOutcomeStopsDeploysUntilItIsRunAgain() throws {
        let p = try Pair("bg_unfinished")
        let name = "camera-counting-prod"
        try p.deployer.deploy(name: name, version: "1.3.0", source: .directory(try p.migrations()))
        #expect(try p.pair().activeColor == .green)
        // What a deploy of 1.4.0 to blue leaves when it is killed during its switch command.
        let meta = EventMetadata(actor: "tester", correlationId: "killed", source: "test")
        try p.f.store.append(
            [
                try ProposedEvent(
                    DeployToInactiveStarted(deploymentName: name, version: "1.4.0", targetColor: .blue), metadata: meta),
                try ProposedEvent(
                    HealthChecksRecorded(deploymentName: name, color: .blue, healthy: true, checks: []), metadata: meta),
                try ProposedEvent(
                    TrafficSwitchStarted(deploymentName: name, fromColor: .green, toColor: .blue), metadata: meta),
            ], to: BlueGreenPair.stream(name), expectedVersion: .after(try p.pair().streamVersion))
        let unfinished = try #require(try p.pair().unfinishedSwitch)
        #expect(unfinished.fromColor == .green && unfinished.toColor == .blue)
        let types = try p.types()

        let migrations = try p.migrations()
        for attempt in ["deploy", "switch"] {
            do throws(EngineError) {
                if attempt == "deploy" {
                    try p.deployer.deploy(name: name, version: "1.5.0", source: .directory(migrations))
                } else {
                    try p.deployer.switchTraffic(name: name)
                }
                Issue.record("\(attempt) went ahead while a switch had no outcome")
            } catch {
                #expect(error.code == .conflict)
                #expect(
                    error.message.hasPrefix(
                        "blue-green \(name): \(attempt) refused: the traffic switch from green to blue started at "))
                #expect(error.message.contains("(position \(unfinished.position)) has no outcome"))
                #expect(
                    error.message.hasSuffix(
                        "`deploylog bluegreen switch \(name) --force` runs that switch again and records its outcome"))
                #expect(!error.message.contains("\n"))
            }
        }
        #expect(try p.types() == types)
        #expect(try !p.tableExists(p.f.databaseURL, "cameras"))

        let reconciled = try p.deployer.switchTraffic(name: name, force: true)
        #expect(reconciled.fromColor == .green && reconciled.toColor == .blue && reconciled.version == "1.4.0")
        #expect(p.switched() == "blue \(p.f.databaseURL) 1.4.0\n")
        #expect(try p.pair().activeColor == .blue)
        #expect(try p.pair().unfinishedSwitch == nil)
        let next = try p.deployer.deploy(name: name, version: "1.5.0", source: .directory(try p.migrations()))
        #expect(next.targetColor == .green && next.switched)
    }

    @Test func configurationNeverRecordsAPasswordAndKeepsTheServingColour() throws {
        try withTemporaryDirectory { dir in
            let store = try FileStore.create(at: dir + "/store")
            let deployer = BlueGreenDeployer(store: store, actor: "tester")
            try deployer.configure(
                name: "pair", blueURL: "postgresql://app:s3cret-blue@db-blue:5432/app",
                greenURL: "postgres://app:s3cret-green@db-green/app?sslmode=require", switchCommand: "true")
            let events = try store.readAll()
            #expect(events.count == 1)
            let text = String(decoding: events[0].data.canonicalBytes(), as: UTF8.self)
            #expect(!text.contains("s3cret"))
            let pair = try #require(try BlueGreenPair.load("pair", from: store))
            #expect(pair.blueDatabaseUrl == "postgresql://app@db-blue:5432/app")
            #expect(pair.greenDatabaseUrl == "postgres://app@db-green/app?sslmode=require")
            #expect(pair.blueEnvironment == "pair-blue" && pair.activeColor == .blue)

            // Reconfiguring keeps blue serving and refuses to move traffic by configuration.
            try deployer.configure(
                name: "pair", blueURL: "postgresql://app@db-blue2/app", greenURL: "postgresql://app@db-green/app")
            #expect(try BlueGreenPair.load("pair", from: store)?.switchCommand == "true")
            do {
                try deployer.configure(
                    name: "pair", blueURL: "postgresql://a@b/c", greenURL: "postgresql://a@b/d", activeColor: .green)
                Issue.record("--active moved traffic")
            } catch let error as EngineError {
                #expect(error.code == .badInput)
            }
            do {
                try deployer.configure(name: "pair", blueURL: "mysql://a@b/c", greenURL: "postgresql://a@b/d")
                Issue.record("a non-PostgreSQL URL was accepted")
            } catch let error as EngineError {
                #expect(error.code == .badInput)
            }
            #expect(try store.readAll().count == 2)
        }
    }

    @Test func aPipelineThatSwitchedTrafficAndThenFailedIsRolledBackToTheOldColour() throws {
        let p = try Pair("bg_pipeline")
        try Environments(store: p.f.store).configure(
            EnvironmentConfigured(
                environment: "production", environmentType: .production, connectionPoolSize: 20, maxConnections: 200,
                monitoringEnabled: true, alertingEnabled: true, rollbackPolicy: .automatic, config: JSONObject()),
            metadata: EventMetadata(actor: "tester", source: "test"))
        let result = try PipelineRunner(store: p.f.store, actor: "tester").run(
            PipelineDefinition(
                name: "release", version: "2.0.0", environment: "production",
                stages: [
                    .init(name: "Switch Traffic", type: .deploy, step: .switchTraffic(pair: "camera-counting-prod")),
                    .init(
                        name: "Post-switch checks", type: .validate,
                        step: .run(command: "echo p95 900 ms; exit 1", timeoutSeconds: 10)),
                ]))
        #expect(result.status == .rolledBack)
        #expect(result.rollbackSteps.count == 1)
        #expect(
            result.rollbackSteps.first?.contains("switch blue-green camera-counting-prod from green back to blue")
                == true)
        // The pair's command ran for the switch and again for the switch back.
        #expect(p.switched()?.hasPrefix("blue \(p.f.databaseURL)") == true)
        #expect(try p.pair().activeColor == .blue)
        #expect(
            try p.types().suffix(4) == [
                "TrafficSwitchStarted", "TrafficSwitched", "TrafficSwitchStarted", "TrafficSwitched",
            ])
        #expect(
            try Projections.fold(PipelinesProjector.self, p.f.store).pipeline(result.pipelineId)?.status
                == "rolled_back")
    }

    @Test func healthChecksOfAnUnreachableDatabaseFailOnConnectivity() {
        let checks = HealthChecker.run(
            url: "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2", options: HealthCheckOptions())
        #expect(checks.count == 1)
        #expect(checks[0].name == "database_connectivity")
        #expect(checks[0].status == .fail)
        #expect(!HealthChecker.isHealthy(checks))
    }
}
