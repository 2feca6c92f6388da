import DeployLogEvents
import DeployLogTestSupport
import Foundation
import XCTest

/// The commands on a PostgreSQL store (`--store postgres://…`) and `copy` between the
/// backends, through the built binary, against the test server.
final class PostgresStoreCommandTests: CLITestCase {
    private var databaseURL = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        databaseURL = try PostgresServer.shared().createDatabase(prefix: "cli_pgstore")
    }

    override func tearDownWithError() throws {
        if let server = try? PostgresServer.shared(), server.isExternal { try? server.dropDatabase(url: databaseURL) }
        try super.tearDownWithError()
    }

    /// The URL with a password: the test cluster trusts every login, so it connects, and no
    /// output may show the password.
    private var pgStore: String {
        databaseURL.replacingOccurrences(of: "postgresql://postgres@", with: "postgresql://postgres:s3cr3t-pw@")
    }

    @discardableResult
    private func ok(_ args: [String], stdin: Data = Data(), file: StaticString = #filePath, line: UInt = #line) throws
        -> CLIResult
    {
        let r = try deploylog(args, stdin: stdin)
        XCTAssertEqual(r.status, 0, "deploylog \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertFalse(r.out.contains("s3cr3t-pw") || r.stderr.contains("s3cr3t-pw"), file: file, line: line)
        return r
    }

    private var history: Data {
        Data(SampleHistory.ndjson(SampleHistory.generate(pipelines: 20, seed: 3)).utf8)
    }

    func testInitAppendLogShowVerifyCheckpointAndReportsOnPostgres() throws {
        XCTAssertTrue(pgStore.contains("s3cr3t-pw"))
        let created = try ok(["--store", pgStore, "init"])
        XCTAssertTrue(created.out.hasPrefix("created store at postgresql://postgres:***@"), created.out)
        XCTAssertTrue(created.out.hasSuffix("head 0 \(String(repeating: "0", count: 64))\n"), created.out)
        XCTAssertTrue(try ok(["--store", pgStore, "init"]).out.hasPrefix("store already exists at"))

        let appended = try ok(["--store", pgStore, "append"], stdin: history)
        XCTAssertTrue(appended.out.hasPrefix("appended "), appended.out)
        // The same input again: every event already present (ids derived from content).
        XCTAssertTrue(try ok(["--store", pgStore, "append"], stdin: history).out.hasPrefix("appended 0 events"))

        let export = try ok(["--store", pgStore, "log", "--format", "ndjson"])
        XCTAssertGreaterThan(export.lines.count, 100)
        let first = try XCTUnwrap(try JSONParser.parse(export.lines[0]).objectValue)
        XCTAssertEqual(first["position"], 1)
        // Through DEPLOYLOG_STORE too.
        let viaEnvironment = try deploylog(["log", "--format", "ndjson"], environment: ["DEPLOYLOG_STORE": pgStore])
        XCTAssertEqual(viaEnvironment.out, export.out)

        let shown = try ok(["--store", pgStore, "show", "2", "--format", "ndjson"])
        XCTAssertEqual(shown.out, export.lines[1] + "\n")
        assertFailure(try deploylog(["--store", pgStore, "show", "99999"]), 66, "no event at position 99999")

        let verified = try ok(["--store", pgStore, "verify"])
        XCTAssertTrue(
            verified.out.hasPrefix("ok: \(export.lines.count) events, head \(export.lines.count) "), verified.out)
        let checkpoint = try ok(["--store", pgStore, "checkpoint"])
        let file = directory.appendingPathComponent("checkpoint.json")
        try checkpoint.stdout.write(to: file)
        XCTAssertTrue(
            try ok(["--store", pgStore, "verify", "--checkpoint", file.path]).out.contains("extends checkpoint"))

        // The reports fold the PostgreSQL log as they fold a file store's.
        try storeOK("init")
        try storeOK("append", stdin: history)
        for args in [
            ["state", "--format", "json"], ["metrics", "--format", "json", "--as-of", "2026-12-14T12:00:00Z"],
            ["health", "--as-of", "2026-12-14T12:00:00Z"], ["diff", "position:10", "head", "--format", "json"],
        ] {
            let onFiles = try ok(["--store", storePath] + args).out
            XCTAssertFalse(onFiles.isEmpty)
            XCTAssertEqual(try ok(["--store", pgStore] + args).out, onFiles, "\(args)")
        }

        // The projection sink reads a PostgreSQL log too (here into the same database).
        let rebuilt = try ok(["--store", pgStore, "project", "rebuild", "--database", pgStore])
        XCTAssertTrue(rebuilt.out.contains("postgresql://postgres:***@"), rebuilt.out)
        XCTAssertTrue(
            try ok(["--store", pgStore, "project", "status", "--database", pgStore]).out.contains("pipelines"))

        // A wrong expected version: exit 67, naming the stream and both versions.
        let conflict = try deploylog(
            ["--store", pgStore, "append"],
            stdin: #"{"stream":"pipeline-new","type":"Note","data":{},"expectedVersion":3}"#.data)
        assertFailure(conflict, 67, "Wrong expected version: 3 (Stream: pipeline-new, Stream Version: -1 (no stream))")
    }

    /// file → PostgreSQL → file: the three exports are byte-identical, every store verifies;
    /// a copy resumes from the target's head, and a target that diverges is refused.
    func testCopyFileToPostgresToFileIsByteIdenticalAndResumable() throws {
        let events = SampleHistory.generate(pipelines: 30, seed: 9)
        let half = events.count / 2
        try makeStore(with: Data(SampleHistory.ndjson(Array(events.prefix(half))).utf8))
        let back = directory.appendingPathComponent("back").path

        let toPG = try ok(["copy", "--from", storePath, "--to", pgStore, "--batch", "100"])
        XCTAssertTrue(
            toPG.out.hasPrefix("copied \(half) events from \(storePath) to postgresql://postgres:***@"), toPG.out)

        // More events in the source: the next copy takes only those (it resumes from the target's head).
        try storeOK("append", stdin: Data(SampleHistory.ndjson(Array(events.suffix(from: half))).utf8))
        let resumed = try ok(["copy", "--from", storePath, "--to", pgStore])
        XCTAssertTrue(resumed.out.hasPrefix("copied \(events.count - half) events"), resumed.out)
        XCTAssertTrue(try ok(["copy", "--from", storePath, "--to", pgStore]).out.hasPrefix("copied 0 events"))

        try ok(["copy", "--from", pgStore, "--to", back, "--batch", "77"])
        let fileExport = try storeOK("log", "--format", "ndjson").out
        let pgExport = try ok(["--store", pgStore, "log", "--format", "ndjson"]).out
        let backExport = try ok(["--store", back, "log", "--format", "ndjson"]).out
        XCTAssertEqual(fileExport.split(separator: "\n").count, events.count)
        XCTAssertEqual(pgExport, fileExport)
        XCTAssertEqual(backExport, fileExport)
        for store in [storePath, pgStore, back] {
            XCTAssertTrue(try ok(["--store", store, "verify"]).out.hasPrefix("ok: \(events.count) events"))
        }
        // file → file as well.
        let again = directory.appendingPathComponent("again").path
        try ok(["copy", "--from", back, "--to", again])
        XCTAssertEqual(try ok(["--store", again, "log", "--format", "ndjson"]).out, fileExport)

        // A target with an event of its own diverges from the source: refused, left as it is.
        try ok(["--store", back, "append"], stdin: #"{"stream":"pipeline-x","type":"Other","data":{}}"#.data)
        try storeOK("append", stdin: #"{"stream":"pipeline-y","type":"Mine","data":{}}"#.data)
        let diverged = try deploylog(["copy", "--from", storePath, "--to", back])
        assertFailure(diverged, 67, "diverges from the source at or before position \(events.count + 1)")
        // A target ahead of its source: refused.
        assertFailure(try deploylog(["copy", "--from", pgStore, "--to", back]), 67, "ahead of the source")
        assertFailure(try deploylog(["copy", "--from", storePath, "--to", storePath]), 64, "same store")
    }

    /// A copy killed (SIGKILL) part-way leaves the target an exact prefix; the same command
    /// then resumes from the target's head and the two logs end identical.
    func testAKilledCopyResumesWhereItStopped() throws {
        let events = SampleHistory.generate(pipelines: 40, seed: 4)
        try makeStore(with: Data(SampleHistory.ndjson(events).utf8))
        let copy = Process()
        copy.executableURL = try binaryURL()
        copy.arguments = ["copy", "--from", storePath, "--to", pgStore, "--batch", "1"]
        copy.environment = Self.environment([:])
        copy.standardOutput = FileHandle.nullDevice
        copy.standardError = FileHandle.nullDevice
        try copy.run()
        var copied: Int64 = 0
        let deadline = Date(timeIntervalSinceNow: 60)
        while copy.isRunning, copied < 20, Date() < deadline {
            let r = try deploylog(["--store", pgStore, "checkpoint"])
            if r.status == 0, let o = try? JSONParser.parse(Array(r.stdout)).objectValue {
                copied = o["position"]?.numberValue?.int64Value ?? 0
            }
        }
        kill(copy.processIdentifier, SIGKILL)
        copy.waitUntilExit()
        XCTAssertEqual(copy.terminationReason, .uncaughtSignal, "the copy finished before it could be interrupted")
        let partial = try ok(["--store", pgStore, "log", "--format", "ndjson"]).out
        let source = try storeOK("log", "--format", "ndjson").out
        XCTAssertGreaterThanOrEqual(partial.split(separator: "\n").count, 20)
        XCTAssertLessThan(partial.split(separator: "\n").count, events.count)
        XCTAssertTrue(source.hasPrefix(partial), "the interrupted target is a prefix of the source")

        let resumed = try ok(["copy", "--from", storePath, "--to", pgStore])
        XCTAssertTrue(
            resumed.out.hasPrefix("copied \(events.count - partial.split(separator: "\n").count) events"), resumed.out)
        XCTAssertEqual(try ok(["--store", pgStore, "log", "--format", "ndjson"]).out, source)
        XCTAssertTrue(try ok(["--store", pgStore, "verify"]).out.hasPrefix("ok: \(events.count) events"))
    }

    func testUpdateDeleteAndTruncateOfThePostgresLogFail() throws {
        try ok(["--store", pgStore, "init"])
        try ok(["--store", pgStore, "append"], stdin: history)
        let before = try ok(["--store", pgStore, "log", "--format", "ndjson"]).out
        let server = try PostgresServer.shared()
        for sql in [
            "UPDATE deploylog.events SET type = 'Forged'", "DELETE FROM deploylog.events WHERE position = 1",
            "TRUNCATE deploylog.events",
        ] {
            let r = try server.psql(sql, database: databaseURL)
            XCTAssertNotEqual(r.status, 0, sql)
            XCTAssertTrue(r.output.contains("deploylog.events is append-only"), r.output)
        }
        XCTAssertEqual(try ok(["--store", pgStore, "log", "--format", "ndjson"]).out, before)
        XCTAssertTrue(try ok(["--store", pgStore, "verify"]).out.hasPrefix("ok: "))

        // Behind the triggers' back (a superuser disabling them), a rewritten hash is found.
        let tamper = try server.psql(
            "ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only; "
                + "UPDATE deploylog.events SET hash = sha256(hash) WHERE position = 9; "
                + "ALTER TABLE deploylog.events ENABLE TRIGGER events_append_only",
            database: databaseURL)
        XCTAssertEqual(tamper.status, 0, tamper.output)
        assertFailure(
            try deploylog(["--store", pgStore, "verify"]), 68, "verification failed at position 9", "hash chain broken")
    }

    /// A row deleted behind the triggers' back: `copy` from that log stops at the gap as
    /// corruption (exit 68) naming the missing position; the whole batches before it are copied.
    /// (Before reads noticed gaps, the event after the gap reached the target, which refused
    /// it as a conflict.)
    func testCopyFromAPostgresLogWithAMissingRowIsCorruption() throws {
        try ok(["--store", pgStore, "init"])
        try ok(["--store", pgStore, "append"], stdin: history)
        let deleted = try PostgresServer.shared().psql(
            "ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only; "
                + "DELETE FROM deploylog.events WHERE position = 30; "
                + "ALTER TABLE deploylog.events ENABLE TRIGGER events_append_only",
            database: databaseURL)
        XCTAssertEqual(deleted.status, 0, deleted.output)
        assertFailure(
            try deploylog(["copy", "--from", pgStore, "--to", storePath, "--batch", "10"]), 68,
            "position 30 is missing (the next event stored is at position 31)")
        XCTAssertEqual(try storeOK("log", "--format", "ndjson").lines.count, 20)
    }
}
