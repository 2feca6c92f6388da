import DeployLogEvents
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// A small store written by format version 1, committed under `Golden/v1`: every later version
/// of deploylog must still open it, verify it and read the same events. When the writer's
/// output changes on purpose, keep `v1` and add a new folder; regenerate a folder with
/// `DEPLOYLOG_WRITE_GOLDEN=1 swift test --filter GoldenSegmentTests`.
final class GoldenSegmentTests: XCTestCase {
    static let goldenRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    static let v1 = goldenRoot + "/v1"

    /// The deterministic history the golden store holds.
    static func history() -> [ProposedEvent] {
        var events = (0..<6).map { ChildWriter.event(writer: 1, index: $0) }
        var configured = ProposedEvent(
            stream: "environment-production", type: "EnvironmentConfigured",
            data: ["environment": "production", "environmentType": "production",
                   "databaseUrl": "postgresql://app:secret@db.internal:5432/camera_counting",
                   "connectionPoolSize": 20, "maxConnections": 100, "monitoringEnabled": true, "alertingEnabled": true,
                   "rollbackPolicy": "automatic", "config": ["region": "ap-southeast-1", "ratio": 0.75]],
            eventId: EventID("9b2e4c1a-6f0d-4e57-9a3b-2c8d7e6f5a41")!,
            occurredAt: Timestamp(iso8601: "2026-11-20T08:00:00.5+07:00"), expectedVersion: .noStream,
            metadata: JSONObject([("actor", "ops@camera-team"), ("source", "golden")]))
        configured.data = CredentialRedaction.redact(configured.data)
        events.append(configured)
        events.append(ProposedEvent(
            stream: "pipeline-writer1", type: "AFutureEventType", data: ["note": "Triển khai thành công ✓", "n": -0],
            eventId: EventID("0e8f6d2b-3c4a-4b1e-8f7a-6d5c4b3a2910")!, extra: JSONObject([("producerHint", ["x": nil])])))
        return events
    }

    private static func writeStore(at path: String) throws -> FileStore {
        let clock = TestClock()
        var options = FileStore.Options()
        options.clock = { Timestamp(microsecondsSinceEpoch: clock.read()) }
        let store = try FileStore.create(at: path, options: options)
        let h = history()
        try store.append(Array(h[0..<3]))
        try store.append(Array(h[3...]))
        return store
    }

    private static func export(_ store: FileStore) throws -> String {
        try store.readAll().map { $0.envelopeObject(includeHash: true).canonicalString + "\n" }.joined()
    }

    private static let files = ["deploylog.store", "segments/00000000000000000001.seg", "HEAD"]

    func testWriterStillProducesTheGoldenBytes() throws {
        try withTemporaryDirectory { dir in
            // Released before its files are read: HEAD is brought up to date on release.
            let exported = try GoldenSegmentTests.export(GoldenSegmentTests.writeStore(at: dir + "/s"))
            if ProcessInfo.processInfo.environment["DEPLOYLOG_WRITE_GOLDEN"] == "1" {
                let fm = FileManager.default
                try? fm.removeItem(atPath: GoldenSegmentTests.v1)
                try fm.createDirectory(atPath: GoldenSegmentTests.v1 + "/segments", withIntermediateDirectories: true)
                for f in GoldenSegmentTests.files { try fm.copyItem(atPath: dir + "/s/" + f, toPath: GoldenSegmentTests.v1 + "/" + f) }
                try exported.write(toFile: GoldenSegmentTests.v1 + "/expected.ndjson", atomically: true, encoding: .utf8)
            }
            for f in GoldenSegmentTests.files {
                let fresh = try Data(contentsOf: URL(fileURLWithPath: dir + "/s/" + f))
                let golden = try Data(contentsOf: URL(fileURLWithPath: GoldenSegmentTests.v1 + "/" + f))
                XCTAssertEqual(fresh, golden, "\(f) differs from the golden v1 bytes: the on-disk format changed")
            }
        }
    }

    func testGoldenV1StoreStillOpensVerifiesAndReads() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.copyItem(atPath: GoldenSegmentTests.v1, toPath: dir + "/s")
            let report = try FileStore.verify(at: dir + "/s")
            XCTAssertTrue(report.ok, "\(String(describing: report.problem))")
            XCTAssertEqual(report.events, 8)
            let store = try FileStore.open(at: dir + "/s")
            let expected = try String(contentsOfFile: GoldenSegmentTests.v1 + "/expected.ndjson", encoding: .utf8)
            XCTAssertEqual(try GoldenSegmentTests.export(store), expected)
            let events = try store.readAll()
            XCTAssertEqual(events.map(\.eventId), GoldenSegmentTests.history().map(\.eventId))
            XCTAssertEqual(events[6].data.objectValue?["databaseUrl"], "postgresql://app@db.internal:5432/camera_counting")
            XCTAssertEqual(events[6].occurredAt.canonicalText, "2026-11-20T01:00:00.500000Z")
            // And it still takes appends.
            try store.append([ChildWriter.event(writer: 2, index: 0)])
            XCTAssertTrue(try FileStore.verify(at: dir + "/s").ok)
        }
    }
}
