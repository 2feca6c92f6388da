import DeployLogEvents
import DeployLogTestSupport
import Foundation
import XCTest

/// `project rebuild`, `catch-up` and `status` through the built binary, against the test server.
final class ProjectCommandTests: CLITestCase {
    private var databaseURL = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        databaseURL = try PostgresServer.shared().createDatabase(prefix: "cli_project")
    }

    override func tearDownWithError() throws {
        if let server = try? PostgresServer.shared(), server.isExternal { try? server.dropDatabase(url: databaseURL) }
        try super.tearDownWithError()
    }

    /// The database URL with a password in it: the test cluster trusts every login, so it
    /// connects, and no output may show it.
    private var urlWithPassword: String {
        databaseURL.replacingOccurrences(of: "postgresql://postgres@", with: "postgresql://postgres:s3cr3t-pw@")
    }

    private func status() throws -> JSONObject {
        let r = try storeOK("project", "status", "--database", urlWithPassword, "--format", "json")
        XCTAssertFalse(r.out.contains("s3cr3t-pw"))
        return try XCTUnwrap(try JSONParser.parse(Array(r.stdout)).objectValue)
    }

    func testRebuildThenStatusThenCatchUp() throws {
        XCTAssertTrue(urlWithPassword.contains("s3cr3t-pw"), urlWithPassword)
        let events = SampleHistory.generate(pipelines: 30, seed: 5)
        try makeStore(with: Data(SampleHistory.ndjson(Array(events.prefix(events.count / 2))).utf8))
        let first = try checkpoint()

        let rebuilt = try storeOK("project", "rebuild", "--database", urlWithPassword)
        XCTAssertFalse(rebuilt.out.contains("s3cr3t-pw"))
        XCTAssertTrue(rebuilt.out.contains("postgresql://postgres:***@"), rebuilt.out)
        XCTAssertEqual(rebuilt.lines.count, 7, rebuilt.out)
        XCTAssertTrue(rebuilt.lines[0].hasPrefix("pipelines     v1  rebuilt (full rebuild), "), rebuilt.lines[0])
        XCTAssertTrue(rebuilt.lines[6].contains("to position \(first.position)"), rebuilt.out)

        var doc = try status()
        XCTAssertEqual(doc["head"]?.numberValue?.int64Value, first.position)
        var projectors = try XCTUnwrap(doc["projectors"]?.arrayValue?.compactMap(\.objectValue))
        XCTAssertEqual(
            projectors.map { $0["projector"]?.stringValue ?? "" },
            ["pipelines", "migrations", "rollbacks", "blue-green", "environments", "metrics"])
        for p in projectors {
            XCTAssertEqual(p["behind"], 0)
            XCTAssertEqual(p["state"], "up to date")
            XCTAssertEqual(p["hash"]?.stringValue, first.hash)
            XCTAssertEqual(p["version"], p["codeVersion"])
        }

        // More events: behind, then caught up (the URL from the environment this time).
        try storeOK("append", stdin: Data(SampleHistory.ndjson(Array(events.dropFirst(events.count / 2))).utf8))
        let head = try checkpoint()
        doc = try status()
        projectors = try XCTUnwrap(doc["projectors"]?.arrayValue?.compactMap(\.objectValue))
        for p in projectors {
            XCTAssertEqual(p["behind"]?.numberValue?.int64Value, head.position - first.position)
            XCTAssertEqual(p["state"], "behind")
        }
        let caughtUp = try deploylog(
            ["--store", storePath, "project", "catch-up"], environment: ["DEPLOYLOG_DATABASE_URL": urlWithPassword])
        XCTAssertEqual(caughtUp.status, 0, caughtUp.stderr)
        XCTAssertTrue(caughtUp.out.contains("caught up from position \(first.position)"), caughtUp.out)
        XCTAssertFalse(caughtUp.out.contains("s3cr3t-pw"))
        doc = try status()
        projectors = try XCTUnwrap(doc["projectors"]?.arrayValue?.compactMap(\.objectValue))
        for p in projectors {
            XCTAssertEqual(p["behind"], 0)
            XCTAssertEqual(p["position"]?.numberValue?.int64Value, head.position)
        }

        // The table form, and the two other rebuilds.
        let table = try storeOK("project", "status", "--database", urlWithPassword)
        XCTAssertTrue(table.lines.contains { $0.hasPrefix("PROJECTOR") }, table.out)
        XCTAssertEqual(table.lines.filter { $0.hasSuffix("up to date") }.count, 6, table.out)
        let only = try storeOK("project", "rebuild", "--database", urlWithPassword, "--only", "pipelines")
        XCTAssertEqual(only.lines.map { String($0.prefix(9)) }, ["pipelines", "rollbacks", "rebuilt p"], only.out)
        let swapped = try storeOK("project", "rebuild", "--database", urlWithPassword, "--zero-downtime")
        XCTAssertEqual(swapped.lines.count, 7, swapped.out)
        XCTAssertTrue(swapped.out.contains("built in deploylog_read_next and swapped in"), swapped.out)
        XCTAssertEqual(try status()["projectors"]?.arrayValue?.count, 6)
    }

    func testErrors() throws {
        try makeStore(with: Data(SampleHistory.ndjson(SampleHistory.generate(pipelines: 2, seed: 1)).utf8))
        assertFailure(try store("project", "status"), 64, "--database", "DEPLOYLOG_DATABASE_URL")
        assertFailure(
            try store("project", "rebuild", "--database", databaseURL, "--only", "pipelines", "--zero-downtime"), 64,
            "--zero-downtime")
        assertFailure(try store("project", "rebuild", "--database", databaseURL, "--only", "nope"), 64, "nope")
        // Nobody listens on port 1: unavailable, and the password is not shown.
        let unreachable = try store(
            "project", "rebuild", "--database", "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/none")
        assertFailure(unreachable, 69, "database unavailable", "postgresql://postgres:***@127.0.0.1:1/none")
        XCTAssertFalse(unreachable.stderr.contains("s3cr3t-pw"))
        assertFailure(
            try deploylog([
                "--store", directory.appendingPathComponent("none").path, "project", "status", "--database",
                databaseURL,
            ]),
            66)
    }
}
