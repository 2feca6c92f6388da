import DeployLogEvents
import DeployLogTestSupport
import Foundation
import XCTest

/// `pipeline run`, `bluegreen` and `demo` through the built binary, against the test server.
final class DeployCommandTests: CLITestCase {
    private var databaseURL = ""
    private var greenURL = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        databaseURL = try PostgresServer.shared().createDatabase(prefix: "cli_deploy")
        greenURL = try PostgresServer.shared().createDatabase(prefix: "cli_deploy_green")
    }

    override func tearDownWithError() throws {
        if let server = try? PostgresServer.shared(), server.isExternal {
            try? server.dropDatabase(url: databaseURL)
            try? server.dropDatabase(url: greenURL)
        }
        try super.tearDownWithError()
    }

    /// Writes `text` to `name` in the test directory and returns its path.
    @discardableResult
    private func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func migrations() throws {
        try write(
            "migrations/1.0.0__create_cameras.sql",
            "-- deploylog:up\nCREATE TABLE cameras (id int, status text);\n-- deploylog:down\nDROP TABLE cameras;\n")
    }

    private func staging(policy: String) throws {
        try storeOK("init")
        try storeOK("env", "set", "staging", "--type", "staging", "--url", databaseURL, "--rollback-policy", policy)
    }

    func testAPipelineFileRunsEveryStage() throws {
        try staging(policy: "automatic")
        try migrations()
        let file = try write(
            "deploy.yaml",
            """
            name: camera-counting-db
            version: 1.0.0
            environment: staging
            stages:
              - {name: Build, type: build, run: "echo built"}
              - {name: Deploy, type: deploy, migrate: migrations}
              - {name: Health, type: validate, healthCheck: {query: "SELECT count(*) FROM cameras"}}
            """)
        let r = try storeOK("pipeline", "run", file)
        XCTAssertTrue(r.out.contains("1/3 Build: completed"), r.out)
        XCTAssertTrue(r.out.contains("2/3 Deploy: completed"), r.out)
        XCTAssertTrue(r.out.contains("3/3 Health: completed"), r.out)
        XCTAssertTrue(r.lines.last?.hasSuffix(": completed") == true, r.out)
        let types = try export("--category", "pipeline").compactMap { $0["type"]?.stringValue }
        XCTAssertEqual(types.first, "PipelineStarted")
        XCTAssertEqual(types.last, "PipelineCompleted")
        XCTAssertEqual(types.filter { $0 == "StageCompleted" }.count, 3)
    }

    func testAFailedStageSkipsTheRestRollsBackAndExitsOne() throws {
        try staging(policy: "automatic")
        try migrations()
        let file = try write(
            "deploy.yaml",
            """
            name: camera-counting-db
            version: 1.1.0
            environment: staging
            stages:
              - {name: Deploy, type: deploy, migrate: migrations}
              - {name: Integration Tests, type: test, run: "echo 1 failed; exit 2"}
              - {name: Health, type: validate, healthCheck: true}
            """)
        let r = try store("pipeline", "run", file)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(
            r.stderr.hasPrefix(
                "deploylog: pipeline camera-counting-db 1.1.0 rolled_back: stage Integration Tests failed"), r.stderr)
        XCTAssertTrue(r.out.contains("2/3 Integration Tests: failed"), r.out)
        XCTAssertTrue(r.out.contains("3/3 Health: skipped"), r.out)
        XCTAssertTrue(r.out.contains("revert migration create_cameras"), r.out)
        XCTAssertTrue(r.lines.last?.hasSuffix(": rolled_back") == true, r.out)
        let types = try export().compactMap { $0["type"]?.stringValue }
        XCTAssertTrue(types.contains("StageSkipped"))
        XCTAssertEqual(types.filter { $0 == "MigrationRolledBack" }.count, 1)
        XCTAssertEqual(types.last, "PipelineRolledBack")
        let state = try storeOK("state", "--format", "json")
        XCTAssertTrue(state.out.contains("\"rolled_back\""), state.out)
    }

    func testABadPipelineFileIsOneLineWithItsLineAndFieldExit65AndChangesNothing() throws {
        try staging(policy: "manual")
        let before = try checkpoint()
        let file = try write(
            "bad.yaml",
            "name: p\nversion: 1\nenvironment: staging\nstages:\n  - name: Build\n    type: compile\n    run: make\n")
        assertFailure(
            try store("pipeline", "run", file), 65,
            "\(file):6: stages[0].type: expected build, test, deploy or validate, found 'compile'")
        let syntax = try write("syntax.yaml", "name: p\nstages: [\n")
        assertFailure(try store("pipeline", "run", syntax), 65, "\(syntax):3:1: YAML syntax error")
        assertFailure(
            try store("pipeline", "run", directory.appendingPathComponent("none.yaml").path), 66, "no pipeline file")
        XCTAssertEqual(try checkpoint().text, before.text)
    }

    func testBlueGreenDeploySwitchesOnlyWhenHealthy() throws {
        try storeOK("init")
        try migrations()
        let switched = directory.appendingPathComponent("switched.txt").path
        let blue = databaseURL.replacingOccurrences(
            of: "postgresql://postgres@", with: "postgresql://postgres:s3cr3t-pw@")
        try storeOK(
            "bluegreen", "configure", "prod", "--blue", blue, "--green", greenURL, "--switch-command",
            "echo \"$DEPLOYLOG_COLOR\" > '\(switched)'", "--health-query", "SELECT count(*) FROM cameras")
        XCTAssertFalse(String(decoding: try allBytes(under: storePath), as: UTF8.self).contains("s3cr3t"))
        XCTAssertFalse(try export().contains { $0.canonicalString.contains("s3cr3t") })

        let ok = try storeOK("bluegreen", "deploy", "prod", "--version", "1.0.0", "--dir", "migrations")
        XCTAssertTrue(ok.out.contains("deploying 1.0.0 to green"), ok.out)
        XCTAssertTrue(ok.out.contains("traffic switched from blue to green"), ok.out)
        XCTAssertEqual(try String(contentsOfFile: switched, encoding: .utf8), "green\n")
        XCTAssertTrue(
            try storeOK("bluegreen", "status", "prod").out.hasPrefix("blue-green prod: green serving (version 1.0.0)"))

        // The next deploy goes to blue, with a health query its migrations do not satisfy.
        try storeOK(
            "bluegreen", "configure", "prod", "--blue", databaseURL, "--green", greenURL, "--health-query",
            "SELECT count(*) FROM camera_zones")
        let bad = try store("bluegreen", "deploy", "prod", "--version", "1.1.0", "--dir", "migrations")
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("health checks failed on blue"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("traffic stays on green"), bad.stderr)
        XCTAssertTrue(bad.out.contains("application_query: FAIL"), bad.out)
        let status = try storeOK("bluegreen", "status", "prod", "--format", "json")
        let o = try XCTUnwrap(try JSONParser.parse(Array(status.stdout)).objectValue)
        XCTAssertEqual(o["activeColor"]?.stringValue, "green")
        XCTAssertEqual(o["status"]?.stringValue, "failed")
        XCTAssertEqual(try String(contentsOfFile: switched, encoding: .utf8), "green\n")
        XCTAssertEqual(try export("--type", "BlueGreenDeployFailed").count, 1)
        XCTAssertEqual(try export("--type", "TrafficSwitched").count, 1)

        assertFailure(try store("bluegreen", "switch", "prod"), 1, "the last health checks of blue failed")
        XCTAssertEqual(try export("--type", "TrafficSwitchStarted").count, 1)
        assertFailure(try store("bluegreen", "status", "nope"), 66, "no blue-green pair 'nope'")
    }

    func testRollbackSwitchesTrafficBackThroughThePairsCommand() throws {
        try storeOK("init")
        try migrations()
        try storeOK("env", "set", "prod", "--type", "production", "--url", databaseURL)
        let switched = directory.appendingPathComponent("switched.txt").path
        try storeOK(
            "bluegreen", "configure", "prod", "--blue", databaseURL, "--green", greenURL, "--switch-command",
            "echo \"$DEPLOYLOG_COLOR\" > '\(switched)'")
        let before = try XCTUnwrap(
            try JSONParser.parse(Array(try storeOK("checkpoint").stdout)).objectValue?["position"]?.numberValue?.int64Value)
        try storeOK("bluegreen", "deploy", "prod", "--version", "1.0.0", "--dir", "migrations")
        XCTAssertEqual(try String(contentsOfFile: switched, encoding: .utf8), "green\n")

        let r = try storeOK("rollback", "--env", "prod", "--to", "position:\(before)", "--yes", "--reason", "test")
        // The command ran (not only recorded): traffic is back on blue, and the pair says so.
        XCTAssertEqual(try String(contentsOfFile: switched, encoding: .utf8), "blue\n", r.out)
        let status = try storeOK("bluegreen", "status", "prod", "--format", "json")
        let o = try XCTUnwrap(try JSONParser.parse(Array(status.stdout)).objectValue)
        XCTAssertEqual(o["activeColor"]?.stringValue, "blue")
        XCTAssertEqual(try export("--type", "TrafficSwitched").count, 2)
    }

    /// The README's first command: from a directory that is not the package, a fresh server,
    /// every part of the scenario, the reports, `verify`, and nothing left behind.
    func testDemoExitsZeroAndCleansUp() throws {
        let kept = directory.appendingPathComponent("demo/store").path
        let r = try deploylog(["demo", "--store", kept])
        XCTAssertEqual(r.status, 0, r.stderr)
        for fragment in [
            "pipeline completed", "traffic switched from blue to green", "traffic still on green",
            "pipeline rolled_back",
            "camera_zones on staging after the rollback: gone", "==> deploylog metrics", "==> deploylog health",
            "==> deploylog state", "PostgreSQL server stopped and removed",
        ] {
            XCTAssertTrue(r.out.contains(fragment), "demo output lacks \(fragment)")
        }
        XCTAssertTrue(r.lines.contains { $0.hasPrefix("ok: ") && $0.contains(" events, ") }, r.out)
        // The kept log verifies on its own, and holds the scenario.
        XCTAssertEqual(try deploylog(["--store", kept, "verify"]).status, 0)
        let statuses = try deploylog([
            "--store", kept, "log", "--type", "PipelineCompleted", "--type", "PipelineRolledBack",
        ])
        XCTAssertEqual(statuses.lines.count, 3, statuses.out)  // header + one of each

        // Without --store the log is temporary and removed.
        let temporary = try deploylog(["demo"])
        XCTAssertEqual(temporary.status, 0, temporary.stderr)
        XCTAssertTrue(temporary.out.contains("the server and the temporary store are removed"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(".deploylog").path))
    }
}
