import DeployLogEvents
import DeployLogTestSupport
import Foundation
import XCTest

/// `env`, `migrate` and `rollback` through the built binary, against the test server.
final class MigrateCommandTests: CLITestCase {
    private var databaseURL = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        databaseURL = try PostgresServer.shared().createDatabase(prefix: "cli_migrate")
    }

    override func tearDownWithError() throws {
        if let server = try? PostgresServer.shared(), server.isExternal { try? server.dropDatabase(url: databaseURL) }
        try super.tearDownWithError()
    }

    /// The test cluster trusts every login: a URL with a password connects, and the password
    /// must reach neither the log nor any output.
    private var urlWithPassword: String {
        databaseURL.replacingOccurrences(of: "postgresql://postgres@", with: "postgresql://postgres:s3cr3t-pw@")
    }

    /// The seed's four migrations as files.
    static let seed: [String: String] = [
        "1.0.0__create_initial_schema.sql": """
        -- deploylog:type schema
        -- deploylog:up
        CREATE TABLE IF NOT EXISTS cameras (
            id SERIAL PRIMARY KEY,
            camera_name VARCHAR(100) NOT NULL,
            location VARCHAR(255),
            status VARCHAR(20) DEFAULT 'active',
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        -- deploylog:down
        DROP TABLE IF EXISTS cameras;
        """,
        "1.1.0__add_camera_metadata.sql": """
        -- deploylog:depends create_initial_schema
        ALTER TABLE cameras ADD COLUMN IF NOT EXISTS metadata JSONB DEFAULT '{}'::jsonb;
        -- deploylog:down
        ALTER TABLE cameras DROP COLUMN IF EXISTS metadata;
        """,
        "1.2.0__create_counting_results_table.sql": """
        -- deploylog:depends create_initial_schema
        CREATE TABLE IF NOT EXISTS counting_results (
            id SERIAL PRIMARY KEY,
            camera_id INTEGER REFERENCES cameras(id),
            count_type VARCHAR(50) NOT NULL,
            count_value INTEGER NOT NULL,
            confidence_score DECIMAL(5,4),
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        -- deploylog:down
        DROP TABLE IF EXISTS counting_results;
        """,
        "1.3.0__add_performance_indexes.sql": """
        -- deploylog:type index
        -- deploylog:depends create_counting_results_table
        -- deploylog:up transaction=false
        CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_counting_results_camera_time
          ON counting_results(camera_id, created_at DESC);
        -- deploylog:down transaction=false
        DROP INDEX CONCURRENTLY IF EXISTS idx_counting_results_camera_time;
        """,
    ]

    static let more: [String: String] = [
        "2.0.0__add_zones.sql": """
        -- deploylog:depends create_initial_schema
        CREATE TABLE camera_zones (id SERIAL PRIMARY KEY, camera_id INTEGER REFERENCES cameras(id));
        -- deploylog:down
        DROP TABLE camera_zones;
        """,
        "2.1.0__add_firmware.sql": """
        ALTER TABLE cameras ADD COLUMN firmware_version VARCHAR(50);
        -- deploylog:down
        ALTER TABLE cameras DROP COLUMN firmware_version;
        """,
    ]

    private func writeMigrations(_ files: [String: String], to name: String = "migrations") throws -> String {
        let dir = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (file, text) in files {
            try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        return dir.path
    }

    private func schemaDump() throws -> String {
        let server = try PostgresServer.shared()
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: server.binDirectory.isEmpty ? "/usr/bin/pg_dump" : server.binDirectory + "/pg_dump")
        process.arguments = ["--schema-only", "--no-owner", "-d", databaseURL]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
    }

    private func names(_ type: String) throws -> [String] {
        try export("--type", type).compactMap { $0["data"]?.objectValue?["name"]?.stringValue }
    }

    func testEnvSetStoresNoPasswordAndMigrateUsesTheEnvironmentsURL() throws {
        let set = try storeOK(
            "env", "set", "staging", "--type", "staging", "--url", urlWithPassword, "--rollback-policy", "automatic")
        XCTAssertTrue(set.out.contains("the password in --url was not stored"))
        let log = try store("log", "--format", "ndjson")
        XCTAssertFalse(log.out.contains("s3cr3t-pw"))
        let shown = try XCTUnwrap(try JSONParser.parse(Array(try storeOK("env", "show", "staging").stdout)).objectValue)
        XCTAssertEqual(shown["databaseUrl"]?.stringValue, databaseURL)
        XCTAssertEqual(shown["rollbackPolicy"], "automatic")
        XCTAssertEqual(shown["databaseUser"], "postgres")
        // A later set keeps what it does not change.
        try storeOK("env", "set", "staging", "--pool-size", "7")
        let again = try XCTUnwrap(try JSONParser.parse(Array(try storeOK("env", "show", "staging").stdout)).objectValue)
        XCTAssertEqual(again["connectionPoolSize"], 7)
        XCTAssertEqual(again["rollbackPolicy"], "automatic")
        XCTAssertTrue(try storeOK("env", "list").out.contains("staging"))
        assertFailure(try store("env", "set", "newenv"), 64, "--type")
        assertFailure(try store("env", "show", "nowhere"), 66, "nowhere")

        let dir = try writeMigrations(Self.seed)
        // plan changes nothing.
        let before = try checkpoint().position
        let plan = try storeOK("migrate", "plan", "--env", "staging", "--dir", dir)
        XCTAssertTrue(
            plan.out.contains("4. apply 1.3.0__add_performance_indexes.sql (index, outside a transaction)"), plan.out)
        XCTAssertEqual(try checkpoint().position, before)

        let up = try storeOK("migrate", "up", "--env", "staging", "--dir", dir)
        XCTAssertEqual(up.lines.filter { $0.hasPrefix("applied ") }.count, 4, up.out)
        XCTAssertFalse(up.out.contains("s3cr3t-pw"))
        XCTAssertEqual(
            try names("MigrationApplied"),
            [
                "create_initial_schema", "add_camera_metadata", "create_counting_results_table",
                "add_performance_indexes",
            ])
        let status = try JSONParser.parse(
            Array(try storeOK("migrate", "status", "--env", "staging", "--dir", dir, "--format", "json").stdout))
        XCTAssertEqual(
            status.arrayValue?.compactMap { $0.objectValue?["state"]?.stringValue },
            ["applied", "applied", "applied", "applied"])
        XCTAssertTrue(try storeOK("migrate", "up", "--env", "staging", "--dir", dir).out.contains("up to date"))

        // An applied file changed: refused, naming the file, both checksums and who applied it.
        try (Self.seed["1.1.0__add_camera_metadata.sql"]! + "\n-- edited\nSELECT 1;").write(
            toFile: dir + "/1.1.0__add_camera_metadata.sql", atomically: true, encoding: .utf8)
        let head = try checkpoint().position
        let refused = try store("migrate", "up", "--env", "staging", "--dir", dir)
        assertFailure(refused, 68, "1.1.0__add_camera_metadata.sql", "changed after it was applied", "applied by")
        XCTAssertEqual(try checkpoint().position, head)
    }

    func testRollbackToAPositionRestoresTheSchema() throws {
        let dir = try writeMigrations(Self.seed)
        try storeOK("migrate", "up", "--env", "prod", "--dir", dir, "--target", urlWithPassword)
        let n = try checkpoint().position
        let dumpAtN = try schemaDump()
        let all = try writeMigrations(Self.seed.merging(Self.more) { a, _ in a }, to: "all")
        try storeOK("migrate", "up", "--env", "prod", "--dir", all, "--target", databaseURL)
        let dumpAfter = try schemaDump()
        XCTAssertNotEqual(dumpAfter, dumpAtN)

        // --dry-run prints the plan and changes nothing.
        let head = try checkpoint().position
        let dry = try storeOK(
            "rollback", "--env", "prod", "--to", "position:\(n)", "--dry-run", "--target", databaseURL)
        XCTAssertTrue(dry.out.contains("1. revert migration add_firmware"), dry.out)
        XCTAssertTrue(dry.out.contains("2. revert migration add_zones"), dry.out)
        XCTAssertTrue(dry.out.contains("dry run: nothing was done"))
        XCTAssertEqual(try checkpoint().position, head)
        XCTAssertEqual(try schemaDump(), dumpAfter)

        // Without --yes, and stdin not a terminal: refused, nothing done.
        let refused = try store("rollback", "--env", "prod", "--to", "position:\(n)", "--target", databaseURL)
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.contains("without --yes"), refused.stderr)
        XCTAssertEqual(try checkpoint().position, head)

        let done = try storeOK(
            "rollback", "--env", "prod", "--to", "position:\(n)", "--yes", "--target", databaseURL, "--reason",
            "bad release")
        XCTAssertTrue(done.out.contains("rolled back prod to position \(n)"), done.out)
        XCTAssertEqual(try schemaDump(), dumpAtN)
        XCTAssertEqual(try names("MigrationRolledBack"), ["add_firmware", "add_zones"])
        let started = try export("--type", "RollbackStarted")
        XCTAssertEqual(started.first?["data"]?.objectValue?["reason"], "bad release")
        XCTAssertEqual(started.first?["data"]?.objectValue?["targetPosition"]?.numberValue?.int64Value, n)
        XCTAssertEqual(try export("--type", "RollbackCompleted").count, 1)
        try storeOK("verify")
    }

    /// Two `migrate up` processes at once on one environment: the slow migration runs once.
    func testTwoConcurrentProcessesApplyASlowMigrationOnce() throws {
        try storeOK("init")
        let dir = try writeMigrations([
            "1__runs.sql": "CREATE TABLE runs (id serial PRIMARY KEY);\n-- deploylog:down\nDROP TABLE runs;",
            "2__slow.sql":
                "SELECT pg_sleep(1);\nINSERT INTO runs DEFAULT VALUES;\n-- deploylog:down\nDELETE FROM runs;",
        ])
        var processes: [(Process, URL)] = []
        for i in 0..<2 {
            let out = directory.appendingPathComponent("io/concurrent-\(i)")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            let p = Process()
            p.executableURL = try binaryURL()
            p.arguments = [
                "--store", storePath, "migrate", "up", "--env", "staging", "--dir", dir, "--target", databaseURL,
            ]
            p.environment = Self.environment([:])
            p.standardOutput = try FileHandle(forWritingTo: out)
            p.standardError = p.standardOutput
            try p.run()
            processes.append((p, out))
        }
        for (p, out) in processes {
            p.waitUntilExit()
            let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
            XCTAssertEqual(p.terminationStatus, 0, text)
        }
        let outputs = try processes.map { String(decoding: try Data(contentsOf: $0.1), as: UTF8.self) }
        XCTAssertEqual(outputs.filter { $0.contains("applied 2__slow.sql") }.count, 1, "\(outputs)")
        XCTAssertEqual(try names("MigrationApplied").filter { $0 == "slow" }.count, 1)
        XCTAssertEqual(try names("MigrationStarted").filter { $0 == "slow" }.count, 1)
    }

    func testBadInputIsOneLineWithItsOwnStatus() throws {
        try storeOK("init")
        assertFailure(
            try store("migrate", "up", "--env", "x", "--dir", directory.path + "/nowhere", "--target", databaseURL), 66,
            "nowhere")
        let bad = try writeMigrations(["0001__bad.sql": "-- deploylog:type table\nSELECT 1;"], to: "bad")
        assertFailure(try store("migrate", "plan", "--env", "x", "--dir", bad), 65, "0001__bad.sql:1", "table")
        let cycle = try writeMigrations(
            ["1__a.sql": "-- deploylog:depends b\nSELECT 1;", "2__b.sql": "-- deploylog:depends a\nSELECT 1;"],
            to: "cycle")
        assertFailure(
            try store("migrate", "up", "--env", "x", "--dir", cycle, "--target", databaseURL), 65, "dependency cycle")
        let ok = try writeMigrations(["1__a.sql": "CREATE TABLE a ();"], to: "ok")
        assertFailure(try store("migrate", "up", "--env", "unknown", "--dir", ok), 66, "no environment 'unknown'")
        let failing = try writeMigrations(
            ["1__a.sql": "CREATE TABLE a ();\nINSERT INTO missing VALUES (1);"], to: "failing")
        let failed = try store("migrate", "up", "--env", "x", "--dir", failing, "--target", databaseURL)
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains("1__a.sql") && failed.stderr.contains("SQLSTATE 42P01"), failed.stderr)
        assertFailure(try store("rollback", "--env", "x", "--to", "somewhere", "--yes"), 65, "somewhere")
        assertFailure(try store("rollback", "--env", "x", "--to", "position:999", "--yes"), 66, "past the head")
    }
}
