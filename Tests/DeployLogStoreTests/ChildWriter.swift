import DeployLogEvents
import DeployLogStore
import Foundation

/// A writer that the crash and multi-process tests run in a child process: the test binary
/// re-runs itself with `DEPLOYLOG_CHILD_STORE` set and one test selected, and that test then
/// appends a deterministic sequence, printing each acknowledged position.
enum ChildWriter {
    static let storeVariable = "DEPLOYLOG_CHILD_STORE"

    /// The deterministic event number `i` of writer `writer`.
    static func event(writer: Int, index i: Int) -> ProposedEvent {
        var idBytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: UInt64(writer).bigEndian) { idBytes.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: UInt64(i).bigEndian) { idBytes.replaceSubrange(8..<16, with: $0) }
        return ProposedEvent(
            stream: "pipeline-writer\(writer)", type: "StageCompleted",
            data: ["pipelineId": .string("writer\(writer)"), "stageName": "build", "stageOrder": .number(JSONNumber(i)),
                   "durationMs": .number(JSONNumber(1000 + i % 977)), "output": .string(String(repeating: "ok ", count: i % 13))],
            eventId: EventID(bytes: idBytes), metadata: JSONObject([("actor", .string("writer\(writer)"))]))
    }

    /// Appends events `0..<count` of `writer` in calls of `batch`, printing `acked N` after
    /// each durable call.
    static func run(
        store path: String, writer: Int, count: Int, batch: Int, segmentSize: Int? = nil, checkpointInterval: Int64? = nil
    ) throws {
        var options = FileStore.Options()
        if let segmentSize { options.segmentSize = segmentSize }
        options.checkpointInterval = checkpointInterval
        let store = try FileStore.open(at: path, options: options)
        var i = 0
        while i < count {
            let n = min(batch, count - i)
            let result = try store.append((i..<(i + n)).map { event(writer: writer, index: $0) })
            FileHandle.standardOutput.write(Data("acked \(result.positions.last!)\n".utf8))
            i += n
        }
    }

    /// Starts this test binary as a child writer.
    static func spawn(
        store: String, writer: Int, count: Int, batch: Int, segmentSize: Int? = nil, checkpointInterval: Int64? = nil
    ) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        p.arguments = ["DeployLogStoreTests.ChildWriterTests/testChildWriter"]
        var env = ProcessInfo.processInfo.environment
        env[storeVariable] = store
        env["DEPLOYLOG_CHILD_WRITER"] = String(writer)
        env["DEPLOYLOG_CHILD_COUNT"] = String(count)
        env["DEPLOYLOG_CHILD_BATCH"] = String(batch)
        env["DEPLOYLOG_CHILD_SEGMENT_SIZE"] = segmentSize.map(String.init)
        env["DEPLOYLOG_CHILD_CHECKPOINT_INTERVAL"] = checkpointInterval.map(String.init)
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, out)
    }
}
