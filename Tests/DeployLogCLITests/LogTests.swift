import DeployLogEvents
import Foundation
import XCTest

/// `log`: filters and formats, and `--follow`.
final class LogTests: CLITestCase {
    private var history: CameraHistory!

    override func setUpWithError() throws {
        try super.setUpWithError()
        history = CameraHistory()
        try makeStore(with: Data(history.ndjson))
    }

    private func positions(_ objects: [JSONObject]) -> [Int64] {
        objects.compactMap { $0["position"]?.numberValue?.int64Value }
    }

    /// Positions (from 1) of the sample events that `predicate` keeps.
    private func expected(_ predicate: (JSONObject, Int) -> Bool) -> [Int64] {
        history.events.enumerated().compactMap { i, e in predicate(e.objectValue!, i) ? Int64(i + 1) : nil }
    }

    func testFilterByStream() throws {
        let got = try export("--stream", "environment-production")
        XCTAssertEqual(positions(got), expected { o, _ in o["stream"] == "environment-production" })
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got.map { $0["streamVersion"] }, [0, 1])
    }

    func testFilterByCategoriesAndTypes() throws {
        let categories = try export("--category", "rollback", "--category", "bluegreen")
        XCTAssertEqual(
            positions(categories),
            expected { o, _ in
                let s = o["stream"]!.stringValue!
                return s.hasPrefix("rollback-") || s.hasPrefix("bluegreen-")
            })
        XCTAssertFalse(categories.isEmpty)

        let types = try export(
            "--type", "StageFailed", "--type", "PipelineRolledBack", "--type", "ManualApprovalRecorded")
        XCTAssertEqual(
            positions(types),
            expected { o, _ in
                ["StageFailed", "PipelineRolledBack", "ManualApprovalRecorded"].contains(o["type"]!.stringValue!)
            })
        XCTAssertEqual(types.filter { $0["type"] == "StageFailed" }.count, 1)
        XCTAssertEqual(
            types.filter { $0["type"] == "ManualApprovalRecorded" }.count, 4, "an unknown type is kept and shown")

        let both = try export("--category", "pipeline", "--type", "MigrationApplied")
        XCTAssertEqual(both.count, 0, "every condition must hold")
    }

    func testFilterByTimeSinceInclusiveUntilExclusive() throws {
        let since = history.times[49].canonicalText
        let until = history.times[99].canonicalText
        XCTAssertEqual(positions(try export("--since", since, "--until", until)), Array(50...99))
        // Another notation of the same instants: an offset, fewer fraction digits.
        XCTAssertEqual(positions(try export("--since", since)), Array(50...Int64(history.events.count)))
        XCTAssertEqual(positions(try export("--until", until)), Array(1...99))
        XCTAssertEqual(positions(try export("--until", "2026-11-02")), [])
        XCTAssertEqual(positions(try export("--since", "2026-11-02T09:00:00+01:00")).count, history.events.count)
    }

    func testFromPositionAndLimit() throws {
        XCTAssertEqual(positions(try export("--from-position", "150", "--limit", "10")), Array(150...159))
        XCTAssertEqual(positions(try export("--from-position", "190")), Array(190...Int64(history.events.count)))
        XCTAssertEqual(positions(try export("--from-position", "100000")), [])
        XCTAssertEqual(positions(try export("--limit", "0")), [])
        let firstPipelineEvents = try export("--category", "pipeline", "--limit", "3")
        XCTAssertEqual(
            positions(firstPipelineEvents),
            Array(expected { o, _ in o["stream"]!.stringValue!.hasPrefix("pipeline-") }.prefix(3)))
    }

    func testBadFilterValuesAreUsageErrorsNamingTheOption() throws {
        assertFailure(try store("log", "--since", "last tuesday"), 64, "--since", "last tuesday")
        assertFailure(try store("log", "--until", "2026-13-45T00:00:00Z"), 64, "--until")
        assertFailure(try store("log", "--since", "2026-11-03", "--until", "2026-11-02"), 64, "--since", "--until")
        assertFailure(try store("log", "--from-position", "0"), 64, "--from-position")
        assertFailure(try store("log", "--limit", "-1"), 64, "--limit")
        assertFailure(try store("log", "--limit", "ten"), 64, "--limit")
        assertFailure(try store("log", "--format", "xml"), 64, "--format")
        assertFailure(try store("log", "--follow", "--format", "json"), 64, "--follow")
    }

    func testJSONFormatIsAnArrayOfTheNDJSONObjects() throws {
        let ndjson = try export()
        let r = try storeOK("log", "--format", "json")
        let array = try XCTUnwrap(try JSONParser.parse(Array(r.stdout)).arrayValue)
        XCTAssertEqual(array, ndjson.map { JSONValue.object($0) })
        let empty = try storeOK("log", "--format", "json", "--stream", "no-such-stream")
        XCTAssertEqual(try JSONParser.parse(Array(empty.stdout)), .array([]))
    }

    func testCSVFormatHasTheHeaderAndRFC4180Quoting() throws {
        let ndjson = try export()
        let r = try storeOK("log", "--format", "csv")
        let rows = try CSV.parse(r.out)
        XCTAssertEqual(
            rows.first,
            [
                "position", "stream", "streamVersion", "type", "occurredAt", "recordedAt", "eventId", "actor", "hash",
                "data",
            ])
        XCTAssertEqual(rows.count, ndjson.count + 1)
        for (row, o) in zip(rows.dropFirst(), ndjson) {
            XCTAssertEqual(row.count, 10)
            XCTAssertEqual(row[0], o["position"]?.numberValue?.text)
            XCTAssertEqual(row[1], o["stream"]?.stringValue)
            XCTAssertEqual(row[2], o["streamVersion"]?.numberValue?.text)
            XCTAssertEqual(row[3], o["type"]?.stringValue)
            XCTAssertEqual(row[4], o["occurredAt"]?.stringValue)
            XCTAssertEqual(row[5], o["recordedAt"]?.stringValue)
            XCTAssertEqual(row[6], o["eventId"]?.stringValue)
            XCTAssertEqual(row[7], o["metadata"]?.objectValue?["actor"]?.stringValue)
            XCTAssertEqual(row[8], o["hash"]?.stringValue)
            XCTAssertEqual(try JSONParser.parse(row[9]), o["data"])
        }
        // Data holding quotes, commas and new lines survives the quoting.
        XCTAssertTrue(r.out.contains(#"\""smoke\"" suite ok"#))
    }

    func testTableFormatAlignsColumnsAndCutsLongValues() throws {
        let r = try storeOK("log", "--limit", "20")
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 21)
        let header = lines[0]
        XCTAssertEqual(
            header.split(separator: " ").map(String.init), ["position", "occurredAt", "stream", "type", "actor"])
        let typeColumn = try XCTUnwrap(header.range(of: "  type")).lowerBound.utf16Offset(in: header) + 2
        for line in lines.dropFirst() {
            let chars = Array(line)
            XCTAssertEqual(chars[typeColumn - 2], " ", line)
            XCTAssertEqual(chars[typeColumn - 1], " ", line)
            XCTAssertNotEqual(chars[typeColumn], " ", line)
        }
        XCTAssertTrue(lines[1].hasPrefix("       1  2026-11-02T08:"), lines[1])

        // A long stream name and actor are cut short, a row stays one line.
        let long = String(repeating: "x", count: 80)
        try storeOK(
            "append",
            stdin: #"{"stream":"pipeline-\#(long)","type":"Note","metadata":{"actor":"a\nb\#(long)"},"data":{}}"#.data)
        let last = try XCTUnwrap(
            try storeOK("log", "--from-position", "\(history.events.count + 1)").out.split(separator: "\n").last)
        XCTAssertTrue(last.contains("…"), String(last))
        XCTAssertFalse(last.contains(long))
    }

    func testFollowPrintsEventsAppendedByAnotherProcess() throws {
        let process = Process()
        process.executableURL = try binaryURL()
        process.arguments = ["--store", storePath, "log", "--follow", "--format", "ndjson", "--from-position", "190"]
        process.environment = Self.environment([:])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let collected = Collected()
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        let reader = Thread {
            while true {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                collected.append(chunk)
            }
        }
        reader.start()

        let existing = history.events.count - 189
        XCTAssertTrue(collected.waitForLines(existing, timeout: 30), "history: \(collected.text)")
        let event =
            #"{"stream":"pipeline-followed","type":"PipelineCompleted","eventId":"0b5e8f4c-3a1d-4c2e-9f7a-5d6c7b8a9e01","data":{"pipelineId":"followed"}}"#
        try storeOK("append", stdin: event.data)
        XCTAssertTrue(collected.waitForLines(existing + 1, timeout: 30), "live: \(collected.text)")
        let lines = collected.text.split(separator: "\n")
        let object = try XCTUnwrap(try JSONParser.parse(String(lines[existing])).objectValue)
        XCTAssertEqual(object["eventId"], "0b5e8f4c-3a1d-4c2e-9f7a-5d6c7b8a9e01")
        XCTAssertEqual(object["position"], .number(JSONNumber(history.events.count + 1)))
        XCTAssertTrue(process.isRunning, "--follow keeps running")
        process.terminate()
        process.waitUntilExit()
    }

    func testFollowWithLimitStopsByItself() throws {
        let r = try storeOK("log", "--follow", "--format", "ndjson", "--limit", "3")
        XCTAssertEqual(r.lines.count, 3)
    }
}

/// Bytes read from a child's stdout by another thread.
private final class Collected: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()

    func append(_ chunk: Data) {
        condition.lock()
        data.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until at least `count` complete lines arrived.
    func waitForLines(_ count: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while data.filter({ $0 == 0x0A }).count < count {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}

/// A strict RFC 4180 reader (CRLF or LF records), for checking the csv format.
enum CSV {
    struct Malformed: Error {}

    static func parse(_ text: String) throws -> [[String]] {
        var rows = [[String]]()
        var row = [String]()
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        var atFieldStart = true
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        chars.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where atFieldStart:
                quoted = true
                atFieldStart = false
            case "\"":
                throw Malformed()
            case ",":
                row.append(field)
                field = ""
                atFieldStart = true
            case "\r" where chars.first == "\n":
                break
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
                atFieldStart = true
            default:
                field.unicodeScalars.append(c)
                atFieldStart = false
            }
        }
        if quoted { throw Malformed() }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
