import DeployLogEvents
import DeployLogProjections
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// Point-in-time state from a real file store: snapshots plus the tail equal a full replay,
/// a projector version bump invalidates snapshots, and damaged snapshots are never used.
final class PointInTimeTests: XCTestCase {
    /// A store holding the sample history of `pipelines` pipelines.
    private func withSampleStore(pipelines: Int, _ body: (FileStore, String, [ProposedEvent]) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let store = try FileStore.create(at: dir + "/store")
            let events = SampleHistory.generate(pipelines: pipelines, seed: 7)
            var i = 0
            while i < events.count {
                try store.append(Array(events[i..<min(i + 500, events.count)]))
                i += 500
            }
            try body(store, dir + "/store/snapshots", events)
        }
    }

    /// The state folded from position 1 without any snapshot.
    private func fullReplay(_ store: FileStore, upTo position: Int64) throws -> StateProjector {
        var s = StateProjector()
        if position > 0 {
            try store.read(from: 1, filter: EventFilter(), limit: Int(position)) { e in
                s.apply(ProjectedEvent(e))
                return true
            }
        }
        return s
    }

    func testSnapshotPlusTailEqualsFullReplayAtRandomPositions() throws {
        try withSampleStore(pipelines: 60) { store, snapshots, events in
            let engine = PointInTime(store: store, snapshots: SnapshotDirectory(path: snapshots), snapshotInterval: 97)
            // The first call folds everything and leaves a snapshot every 97 positions.
            let head = Int64(events.count)
            let first = try engine.state(at: head)
            XCTAssertEqual(first.snapshotPosition, 0)
            XCTAssertEqual(first.snapshotsWritten, Int(head / 97))
            XCTAssertEqual(SnapshotDirectory(path: snapshots).entries().count, Int(head / 97))
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<25 {
                let p = Int64.random(in: 0...head, using: &rng)
                let viaSnapshot = try engine.state(at: p)
                XCTAssertEqual(viaSnapshot.snapshotPosition, (p / 97) * 97, "position \(p)")
                XCTAssertLessThan(viaSnapshot.eventsFolded, 97)
                let full = try fullReplay(store, upTo: p)
                XCTAssertEqual(viaSnapshot.state, full, "position \(p)")
                XCTAssertEqual(
                    viaSnapshot.state.json().canonicalString, full.json().canonicalString, "position \(p)")
            }
        }
    }

    func testProjectorVersionBumpInvalidatesSnapshots() throws {
        try withSampleStore(pipelines: 20) { store, snapshots, events in
            let dir = SnapshotDirectory(path: snapshots)
            let v1 = PointInTime(store: store, snapshots: dir, snapshotInterval: 50)
            _ = try v1.state(at: Int64(events.count))
            XCTAssertFalse(dir.entries().isEmpty)
            XCTAssertTrue(dir.entries().allSatisfy { $0.version == StateProjector.version })

            let v2 = PointInTime(store: store, snapshots: dir, snapshotInterval: 50, version: StateProjector.version + 1)
            let r = try v2.state(at: Int64(events.count) - 3)
            XCTAssertEqual(r.snapshotPosition, 0, "a snapshot of another projector version was used")
            XCTAssertEqual(r.state, try fullReplay(store, upTo: Int64(events.count) - 3))
            XCTAssertTrue(dir.entries().allSatisfy { $0.version == StateProjector.version + 1 }, "stale snapshots kept")
        }
    }

    func testDamagedSnapshotIsIgnoredAndRebuilt() throws {
        try withSampleStore(pipelines: 10) { store, snapshots, events in
            let dir = SnapshotDirectory(path: snapshots)
            let engine = PointInTime(store: store, snapshots: dir, snapshotInterval: 40)
            _ = try engine.state(at: Int64(events.count))
            let last = try XCTUnwrap(dir.entries().last)
            // Flip one byte in the middle of the newest snapshot.
            let path = snapshots + "/" + last.fileName
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let r = try engine.state(at: last.position + 1)
            XCTAssertLessThan(r.snapshotPosition, last.position, "a damaged snapshot was used")
            XCTAssertEqual(r.state, try fullReplay(store, upTo: last.position + 1))
        }
    }

    func testStateJustBeforeAndAtTrafficSwitched() throws {
        try withSampleStore(pipelines: 12) { store, snapshots, events in
            let engine = PointInTime(store: store, snapshots: SnapshotDirectory(path: snapshots))
            let index = try XCTUnwrap(events.firstIndex { $0.type == "TrafficSwitched" })
            let switched = events[index]
            let pair = try XCTUnwrap(switched.data.objectValue?["deploymentName"]?.stringValue)
            let position = Int64(index + 1)
            let before = try engine.state(at: .position(position - 1)).state
            let at = try engine.state(at: .position(position)).state
            XCTAssertEqual(before.blueGreen[pair]?.activeColor, switched.data.objectValue?["fromColor"]?.stringValue)
            XCTAssertEqual(at.blueGreen[pair]?.activeColor, switched.data.objectValue?["toColor"]?.stringValue)
            XCTAssertNotEqual(before.blueGreen[pair]?.activeColor, at.blueGreen[pair]?.activeColor)
        }
    }

    func testPointsResolve() throws {
        try withSampleStore(pipelines: 5) { store, _, events in
            let engine = PointInTime(store: store, snapshots: nil)
            XCTAssertEqual(try engine.resolve(.head), Int64(events.count))
            XCTAssertEqual(try engine.resolve(try StatePoint(parsing: "position:7")), 7)
            // time: the longest prefix that occurred at or before it.
            let t = try XCTUnwrap(events[9].occurredAt)
            XCTAssertEqual(try engine.resolve(.time(t)), 10)
            XCTAssertEqual(try engine.resolve(.time(Timestamp(microsecondsSinceEpoch: t.microseconds - 1))), 9)
            // pipeline: its stream's last event.
            let pipeline = try XCTUnwrap(events.first { $0.type == "PipelineStarted" })
            let id = try XCTUnwrap(pipeline.data.objectValue?["pipelineId"]?.stringValue)
            let last = try XCTUnwrap(events.lastIndex { $0.stream == "pipeline-\(id)" })
            XCTAssertEqual(try engine.resolve(.pipeline(id)), Int64(last + 1))
            XCTAssertThrowsError(try engine.resolve(.position(Int64(events.count) + 1)))
            XCTAssertThrowsError(try engine.resolve(.pipeline("missing")))
            XCTAssertThrowsError(try StatePoint(parsing: "position:-1"))
            XCTAssertThrowsError(try StatePoint(parsing: "when:now"))
        }
    }
}
