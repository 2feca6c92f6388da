import DeployLogEvents
import Foundation
import XCTest

/// `init` and `append`: the "Done when" items about writing a history.
final class AppendTests: CLITestCase {
    func testInitCreatesTheStoreAndIsIdempotent() throws {
        let first = try storeOK("init")
        XCTAssertTrue(first.out.contains(storePath), first.out)
        XCTAssertTrue(first.out.contains("head 0 " + String(repeating: "0", count: 64)), first.out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: storePath + "/deploylog.store"))

        try storeOK("append", stdin: Array(CameraHistory().events.prefix(5)).ndjson)
        let before = try checkpoint()
        let second = try storeOK("init")
        XCTAssertTrue(second.out.contains("already exists"), second.out)
        XCTAssertTrue(second.out.contains("head 5 \(before.hash)"), second.out)
        XCTAssertEqual(try checkpoint().text, before.text)
    }

    func testInitUsesDeploylogStoreVariableThenTheDefaultDirectory() throws {
        let viaEnv = directory.appendingPathComponent("from-env").path
        let r = try deploylog(["init"], environment: ["DEPLOYLOG_STORE": viaEnv])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: viaEnv + "/deploylog.store"))
        let d = try deploylog(["init"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: directory.appendingPathComponent(".deploylog/deploylog.store").path))
    }

    func testAppendedHistoryReadsBackWithEveryFieldAndPositionsOneToN() throws {
        let history = CameraHistory()
        XCTAssertGreaterThanOrEqual(history.events.count, 190)
        try storeOK("init")
        let r = try storeOK("append", stdin: Data(history.ndjson))
        XCTAssertTrue(r.out.contains("appended \(history.events.count) events, 0 already present"), r.out)
        XCTAssertTrue(r.out.contains("head \(history.events.count) "), r.out)

        let exported = try export()
        XCTAssertEqual(exported.count, history.events.count)
        var versions = [String: Int64]()
        for (i, (sent, got)) in zip(history.events, exported).enumerated() {
            let sent = try XCTUnwrap(sent.objectValue)
            XCTAssertEqual(got["position"], .number(JSONNumber(i + 1)))
            for field in ["stream", "type", "data", "eventId", "metadata"] {
                XCTAssertEqual(got[field], sent[field], "position \(i + 1), field \(field)")
            }
            let occurred = try XCTUnwrap(got["occurredAt"]?.stringValue.flatMap(Timestamp.init(iso8601:)))
            XCTAssertEqual(
                occurred, Timestamp(iso8601: try XCTUnwrap(sent["occurredAt"]?.stringValue)), "position \(i + 1)")
            XCTAssertEqual(occurred, history.times[i])
            XCTAssertEqual(got["schemaVersion"], 1)
            let stream = try XCTUnwrap(got["stream"]?.stringValue)
            let expectedVersion = versions[stream].map { $0 + 1 } ?? 0
            versions[stream] = expectedVersion
            XCTAssertEqual(got["streamVersion"], .number(JSONNumber(expectedVersion)), "position \(i + 1)")
            XCTAssertNotNil(got["recordedAt"]?.stringValue.flatMap(Timestamp.init(iso8601:)))
            XCTAssertEqual(got["hash"]?.stringValue?.utf8.count, 64)
            XCTAssertEqual(
                Set(got.keys),
                [
                    "data", "eventId", "hash", "metadata", "occurredAt", "position", "recordedAt", "schemaVersion",
                    "stream", "streamVersion", "type",
                ])
        }
        XCTAssertEqual(try checkpoint().hash, exported.last?["hash"]?.stringValue)
    }

    func testAppendingTheSameInputAgainChangesNothing() throws {
        let history = CameraHistory()
        try makeStore(with: Data(history.ndjson))
        let head = try checkpoint()
        let export1 = try store("log", "--format", "ndjson").stdout

        let again = try storeOK("append", stdin: Data(history.ndjson))
        XCTAssertTrue(again.out.contains("appended 0 events, \(history.events.count) already present"), again.out)
        XCTAssertEqual(try checkpoint().text, head.text)
        XCTAssertEqual(try store("log", "--format", "ndjson").stdout, export1)
    }

    func testEventsWithoutIdsGetDerivedIdsSoAReRunAddsNothing() throws {
        // The history without eventIds, with one event repeated on purpose.
        var events = CameraHistory().events.prefix(30).map { e -> JSONValue in
            var o = e.objectValue!
            o.removeValue(forKey: "eventId")
            o.removeValue(forKey: "expectedVersion")
            return .object(o)
        }
        events.append(events[29])
        try makeStore(with: events.ndjson)
        let exported = try export()
        XCTAssertEqual(exported.count, 31, "an identical line is a second event")
        XCTAssertEqual(Set(exported.compactMap { $0["eventId"]?.stringValue }).count, 31)
        let head = try checkpoint()

        let again = try storeOK("append", stdin: events.ndjson)
        XCTAssertTrue(again.out.contains("appended 0 events, 31 already present"), again.out)
        XCTAssertEqual(try checkpoint().text, head.text)
        // A prefix of the same input is recognised too.
        let prefix = try storeOK("append", stdin: Array(events.prefix(10)).ndjson)
        XCTAssertTrue(prefix.out.contains("appended 0 events, 10 already present"), prefix.out)
    }

    func testAcceptsOnePrettyPrintedObjectAndIgnoresBlankLines() throws {
        try storeOK("init")
        let pretty = """

            {
              "stream": "environment-development",
              "type": "EnvironmentDeactivated",
              "data": {"environment": "development", "reason": "rebuilt"},
              "metadata": {"actor": "ops@camera-team"}
            }

            """
        let r = try storeOK("append", stdin: pretty.data)
        XCTAssertTrue(r.out.contains("appended 1 event"), r.out)
        let lines = """
            {"stream":"pipeline-a","type":"PipelineCompleted","data":{"pipelineId":"a"}}

            \t
            {"stream":"pipeline-b","type":"PipelineCompleted","data":{"pipelineId":"b"}}\r
            {"stream":"pipeline-c","type":"PipelineCompleted","data":{"pipelineId":"c"}}
            """
        try storeOK("append", stdin: lines.data)
        let exported = try export()
        XCTAssertEqual(
            exported.map { $0["stream"]?.stringValue },
            ["environment-development", "pipeline-a", "pipeline-b", "pipeline-c"])
        XCTAssertEqual(exported[0]["data"], ["environment": "development", "reason": "rebuilt"])
    }

    func testExpectedVersionOnAnExistingStreamIsAConflictAndWritesNothing() throws {
        try makeStore(with: Data(CameraHistory().ndjson))
        let head = try checkpoint()
        let production = try export("--stream", "environment-production")
        let last = try XCTUnwrap(production.last?["streamVersion"]?.numberValue?.int64Value)

        let event = """
            {"stream":"environment-production","type":"EnvironmentDeactivated","expectedVersion":-1,"data":{"environment":"production"}}
            """
        let r = try store("append", stdin: event.data)
        assertFailure(
            r, 67, "Wrong expected version", "-1", "environment-production", "Stream Version: \(last)",
            "nothing appended")

        let stale = """
            {"stream":"environment-production","type":"EnvironmentDeactivated","expectedVersion":0,"data":{"environment":"production"}}
            """
        assertFailure(try store("append", stdin: stale.data), 67, "Wrong expected version: 0", "environment-production")
        XCTAssertEqual(try checkpoint().text, head.text)

        let right = """
            {"stream":"environment-production","type":"EnvironmentDeactivated","expectedVersion":\(last),"data":{"environment":"production"}}
            """
        try storeOK("append", stdin: right.data)
        XCTAssertEqual(try checkpoint().position, head.position + 1)
    }

    /// Ten valid lines (line 3 blank) with line 7 replaced by `bad`.
    private func inputWithBadLine7(_ bad: String) -> Data {
        var lines = CameraHistory().events.suffix(9).map(\.canonicalString)
        lines.insert("", at: 2)
        lines[6] = bad
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    func testMalformedInputIsRefusedNamingTheLineAndNothingIsWritten() throws {
        try makeStore(with: Array(CameraHistory().events.prefix(20)).ndjson)
        let head = try checkpoint()
        let exportBefore = try store("log", "--format", "ndjson").stdout

        let cases: [(String, String, [String])] = [
            (
                "bad JSON", #"{"stream":"pipeline-x","type":"PipelineCompleted","data":{"pipelineId":"x"}"#,
                ["invalid JSON at byte"]
            ),
            ("not JSON", "stream=pipeline-x", ["invalid JSON at byte 0"]),
            ("not an object", "[1,2,3]", ["expected a JSON object, found array"]),
            (
                "missing field", #"{"stream":"pipeline-x","data":{"pipelineId":"x"}}"#,
                [#"missing required field "type""#]
            ),
            (
                "wrong type", #"{"stream":42,"type":"PipelineCompleted","data":{"pipelineId":"x"}}"#,
                [#"field "stream" must be a string, found integer"#]
            ),
            (
                "data not an object", #"{"stream":"pipeline-x","type":"PipelineCompleted","data":"x"}"#,
                [#""data" must be an object"#]
            ),
            (
                "bad data for a known type",
                #"{"stream":"pipeline-x","type":"StageCompleted","data":{"pipelineId":"x","stageName":"build","stageOrder":"one","durationMs":5}}"#,
                ["StageCompleted", "stageOrder"]
            ),
            (
                "missing data field of a known type",
                #"{"stream":"pipeline-x","type":"PipelineFailed","data":{"pipelineId":"x"}}"#,
                ["PipelineFailed", "error"]
            ),
            (
                "reserved field",
                #"{"stream":"pipeline-x","type":"PipelineCompleted","position":5,"data":{"pipelineId":"x"}}"#,
                [#""position""#, "assigned by the store"]
            ),
            ("bad eventId", #"{"stream":"pipeline-x","type":"X","eventId":"nope","data":{}}"#, [#""eventId""#]),
            (
                "bad occurredAt", #"{"stream":"pipeline-x","type":"X","occurredAt":"yesterday","data":{}}"#,
                [#""occurredAt""#]
            ),
            (
                "bad expectedVersion", #"{"stream":"pipeline-x","type":"X","expectedVersion":-2,"data":{}}"#,
                [#""expectedVersion""#]
            ),
        ]
        for (name, bad, fragments) in cases {
            let r = try store("append", stdin: inputWithBadLine7(bad))
            XCTAssertEqual(r.status, 65, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("deploylog: line 7: "), "\(name): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "\(name): \(r.stderr)")
            for f in fragments { XCTAssertTrue(r.stderr.contains(f), "\(name): \(r.stderr) lacks \(f)") }
            XCTAssertEqual(r.out, "", name)
        }
        XCTAssertEqual(try checkpoint().text, head.text)
        XCTAssertEqual(try store("log", "--format", "ndjson").stdout, exportBefore)
    }

    func testAnEventIdReusedForADifferentEventIsRefused() throws {
        try storeOK("init")
        let input = """
            {"stream":"pipeline-a","type":"PipelineCompleted","eventId":"6f1c1d1e-8a59-4d55-9a63-0c3e8f0b2a11","data":{"pipelineId":"a"}}
            {"stream":"pipeline-b","type":"PipelineCompleted","eventId":"6F1C1D1E-8A59-4D55-9A63-0C3E8F0B2A11","data":{"pipelineId":"b"}}
            """
        assertFailure(
            try store("append", stdin: input.data), 65, "line 2:", "already used by a different event on line 1")
        XCTAssertEqual(try checkpoint().position, 0)
    }

    func testAPrettyPrintedObjectWithAnErrorNamesTheLineOfTheError() throws {
        try storeOK("init")
        let pretty = """
            {
              "stream": "pipeline-a",
              "type": "PipelineCompleted",
              "data": {"pipelineId": "a",}
            }
            """
        assertFailure(try store("append", stdin: pretty.data), 65, "line 4: invalid JSON at byte")
        let unfinished = """
            {"stream":"pipeline-a","type":"PipelineCompleted","data":{"pipelineId":"a"}
            {"stream":"pipeline-b","type":"PipelineCompleted","data":{"pipelineId":"b"}}
            """
        assertFailure(try store("append", stdin: unfinished.data), 65, "line 1: invalid JSON at byte")
    }

    func testAPasswordInADatabaseUrlNeverReachesTheLog() throws {
        try storeOK("init")
        let secret = "S3cr3t-Pr0d-Pass"
        let event = """
            {"stream":"environment-production","type":"EnvironmentConfigured","metadata":{"actor":"ops@camera-team","source":"https://deployer:\(secret)-2@ci.example.com/hook"},"data":{"environment":"production","environmentType":"production","databaseUrl":"postgresql://prod_user:\(secret)@prod-db:5432/ai_camera_prod","databaseName":"ai_camera_prod","databaseUser":"prod_user","connectionPoolSize":20,"maxConnections":200,"backupSchedule":"hourly","monitoringEnabled":true,"alertingEnabled":true,"rollbackPolicy":"automatic","config":{"replica":"postgres://replica_user:\(secret)@prod-db-replica/ai_camera_prod"}}}
            """
        try storeOK("append", stdin: event.data)
        for format in ["ndjson", "json", "csv", "table"] {
            let r = try storeOK("log", "--format", format)
            XCTAssertFalse(r.out.contains(secret), "\(format) export holds the password")
        }
        let shown = try storeOK("show", "1")
        XCTAssertFalse(shown.out.contains(secret))
        let exported = try XCTUnwrap(try export().first)
        XCTAssertEqual(
            exported["data"]?.objectValue?["databaseUrl"], "postgresql://prod_user@prod-db:5432/ai_camera_prod")
        // Nor is it anywhere in the store's files.
        let raw = try allBytes(under: storePath)
        XCTAssertNil(raw.range(of: Data(secret.utf8)), "the store's files hold the password")
        XCTAssertNil(raw.range(of: Data("Pr0d-Pass".utf8)))
    }

    func testTheStoreTakesAtMostHalfTheBytesOfItsNDJSONInput() throws {
        let input = CameraHistory().ndjson
        try makeStore(with: Data(input))
        let stored = try totalBytes(under: storePath)
        XCTAssertLessThanOrEqual(
            Double(stored), 0.5 * Double(input.count), "store \(stored) bytes for \(input.count) bytes of NDJSON")
    }
}
