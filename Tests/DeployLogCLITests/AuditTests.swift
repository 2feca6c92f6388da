import DeployLogEvents
import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `show`, `checkpoint`, `verify`, and what an auditor does with them.
final class AuditTests: CLITestCase {
    func testShowPrintsOneEventPrettyOrCanonical() throws {
        let history = CameraHistory()
        try makeStore(with: Data(history.ndjson))
        let exported = try export()
        let pretty = try storeOK("show", "7")
        XCTAssertTrue(pretty.out.contains("\n  \"data\": {\n"), pretty.out)
        XCTAssertEqual(try JSONParser.parse(Array(pretty.stdout)), .object(exported[6]))
        let canonical = try storeOK("show", "7", "--format", "ndjson")
        XCTAssertEqual(canonical.out, JSONValue.object(exported[6]).canonicalString + "\n")

        assertFailure(
            try store("show", "\(history.events.count + 1)"), 66, "no event at position \(history.events.count + 1)")
        assertFailure(try store("show", "0"), 64, "position")
        assertFailure(try store("show", "seven"), 64)
        assertFailure(try store("show"), 64, "position")
    }

    func testCheckpointThenVerifyProvesTheLogExtendsIt() throws {
        let history = CameraHistory()
        try storeOK("init")
        try storeOK("append", stdin: Array(history.events.prefix(100)).ndjson)
        let early = try storeOK("checkpoint")
        XCTAssertTrue(early.out.hasPrefix(#"{"hash":""#), early.out)
        let file = directory.appendingPathComponent("checkpoint.json")
        try early.stdout.write(to: file)
        let atTen = try storeOK("checkpoint", "--position", "10")
        XCTAssertTrue(atTen.out.hasSuffix(#","position":10}"# + "\n"), atTen.out)
        let tenFile = directory.appendingPathComponent("checkpoint-10.json")
        try atTen.stdout.write(to: tenFile)

        try storeOK("append", stdin: Data(history.ndjson))
        let head = try checkpoint()
        let ok = try storeOK("verify", "--checkpoint", file.path)
        XCTAssertTrue(
            ok.out.hasPrefix("ok: \(history.events.count) events, 1 segment, head \(head.position) \(head.hash)"),
            ok.out)
        XCTAssertTrue(ok.out.contains("extends checkpoint 100 "), ok.out)
        try storeOK("verify", "--checkpoint", tenFile.path)
        let exported = try export()
        XCTAssertEqual(atTen.out, #"{"hash":"\#(exported[9]["hash"]!.stringValue!)","position":10}"# + "\n")

        // A checkpoint the log does not extend: another hash, or beyond the head.
        let forged = directory.appendingPathComponent("forged.json")
        try #"{"hash":"\#(String(repeating: "ab", count: 32))","position":50}"#.data.write(to: forged)
        assertFailure(try store("verify", "--checkpoint", forged.path), 68, "position 50", "checkpoint")
        let beyond = directory.appendingPathComponent("beyond.json")
        try #"{"hash":"\#(head.hash)","position":\#(head.position + 5)}"#.data.write(to: beyond)
        assertFailure(try store("verify", "--checkpoint", beyond.path), 68, "checkpoint")

        // Unusable checkpoint files.
        assertFailure(
            try store("verify", "--checkpoint", directory.appendingPathComponent("missing.json").path), 66,
            "missing.json")
        let garbage = directory.appendingPathComponent("garbage.json")
        try #"{"position":"ten"}"#.data.write(to: garbage)
        assertFailure(try store("verify", "--checkpoint", garbage.path), 65, "garbage.json")
        assertFailure(try store("checkpoint", "--position", "\(head.position + 1)"), 66, "no event at position")
    }

    func testVerifyNamesTheFirstBadPositionAfterAByteIsFlipped() throws {
        let history = CameraHistory()
        try storeOK("init")
        // Several commits, so that the damage sits in the middle of the log.
        for chunk in stride(from: 0, to: history.events.count, by: 50) {
            try storeOK("append", stdin: Array(history.events[chunk..<min(chunk + 50, history.events.count)]).ndjson)
        }
        try storeOK("verify")
        let segments = storePath + "/segments"
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: segments).sorted().first)
        let url = URL(fileURLWithPath: segments + "/" + name)
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count * 2 / 3] ^= 0x20
        try Data(bytes).write(to: url)

        let r = try store("verify")
        assertFailure(r, 68, "verification failed at position ")
        let position = r.stderr.split(separator: " ").drop { $0 != "position" }.dropFirst().first.flatMap {
            Int($0.trimmingCharacters(in: .punctuationCharacters))
        }
        let p = try XCTUnwrap(position, r.stderr)
        XCTAssertTrue((2...history.events.count).contains(p), r.stderr)
    }

    func testAnAuditorRecomputesTheChainFromTheExportWithoutDeploylog() throws {
        let script = Self.packageRoot.appendingPathComponent("events/verify-chain.py")
        try makeStore(with: Data(CameraHistory().ndjson))
        let exportFile = directory.appendingPathComponent("export.ndjson")
        try storeOK("log", "--format", "ndjson").stdout.write(to: exportFile)
        let head = try checkpoint()
        let checkpointFile = directory.appendingPathComponent("checkpoint.json")
        try head.text.data.write(to: checkpointFile)

        guard FileManager.default.fileExists(atPath: script.path) else {
            return XCTFail("\(script.path) is missing")
        }
        let python = try Self.python()
        let r = try Self.runTool(python, [script.path, "--checkpoint", checkpointFile.path], stdin: exportFile)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out.split(separator: "\n").first.map(String.init), "head \(head.position) \(head.hash)")

        // The same script catches an edited export.
        var text = try String(contentsOf: exportFile, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"executionTimeMs\":27", with: "\"executionTimeMs\":28")
        try text.data.write(to: exportFile)
        let tampered = try Self.runTool(python, [script.path], stdin: exportFile)
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.stderr.hasPrefix("bad position "), tampered.stderr)
    }

    func testAWriterKilledWithSIGKILLLeavesAnExactPrefixThatVerifiesAndAReRunCompletes() throws {
        // Enough events for a dozen batches of 1000.
        let count = 12_000
        var lines = [String]()
        var random = SplitMix64(seed: 7)
        var ids = [String]()
        for i in 0..<count {
            var bytes = [UInt8]()
            for _ in 0..<2 { withUnsafeBytes(of: random.next()) { bytes.append(contentsOf: $0) } }
            let id = EventID(bytes: bytes).text
            ids.append(id)
            lines.append(
                #"{"stream":"pipeline-p\#(i / 10)","type":"StageCompleted","eventId":"\#(id)","data":{"pipelineId":"p\#(i / 10)","stageName":"stage-\#(i % 10)","stageOrder":\#(i % 10 + 1),"durationMs":\#(i % 977)}}"#
            )
        }
        let input = directory.appendingPathComponent("big.ndjson")
        try (lines.joined(separator: "\n") + "\n").data.write(to: input)
        try storeOK("init")

        let writer = Process()
        writer.executableURL = try binaryURL()
        writer.arguments = ["--store", storePath, "append"]
        writer.environment = Self.environment([:])
        writer.standardInput = try FileHandle(forReadingFrom: input)
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        let segments = storePath + "/segments"
        let initialBytes = try totalBytes(under: segments)
        try writer.run()
        // Kill it as soon as it starts writing (if it has not finished first): mid-batch or
        // between batches, either must leave an exact prefix.
        let deadline = Date(timeIntervalSinceNow: 60)
        while writer.isRunning, Date() < deadline, try totalBytes(under: segments) == initialBytes {
            usleep(500)
        }
        usleep(UInt32.random(in: 0...300_000))
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()

        try storeOK("verify")
        let prefix = try export()
        XCTAssertEqual(
            prefix.map { $0["eventId"]?.stringValue ?? "" }, Array(ids.prefix(prefix.count)), "an exact prefix")
        XCTAssertTrue(prefix.count % AppendBatch.size == 0 || prefix.count == count, "whole batches: \(prefix.count)")

        let rerun = try storeOK("append", stdin: try Data(contentsOf: input))
        XCTAssertTrue(rerun.out.contains("appended \(count - prefix.count) event"), rerun.out)
        XCTAssertTrue(rerun.out.contains("\(prefix.count) already present"), rerun.out)
        let all = try export()
        XCTAssertEqual(all.map { $0["eventId"]?.stringValue ?? "" }, ids)
        try storeOK("verify")
    }

    // MARK: Helpers

    enum AppendBatch { static let size = 1000 }

    static func python() throws -> URL {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate)
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw XCTSkip("python3 is not installed: the auditor's check cannot run")
    }

    static func runTool(_ tool: URL, _ args: [String], stdin: URL) throws -> CLIResult {
        let p = Process()
        p.executableURL = tool
        p.arguments = args
        p.standardInput = try FileHandle(forReadingFrom: stdin)
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: o, stderr: String(decoding: e, as: UTF8.self))
    }
}
