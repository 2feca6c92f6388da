import DeployLogEvents
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// Long reads decode ahead on helper threads: events still come in log order, a body that stops
/// stops the read where it said, an error in the body ends the read, and the fold reader sees
/// the same positions, types, times and data as the full one. Small segments: windows of
/// several segments.
final class PipelinedReadTests: XCTestCase {
    private func withStore(events: Int, segmentSize: Int = 256 << 10, _ body: (FileStore, [ProposedEvent]) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            var options = FileStore.Options()
            options.segmentSize = segmentSize
            let store = try FileStore.create(at: dir + "/store", options: options)
            let history = Array(SampleHistory.generate(pipelines: events / 15 + 5, seed: 7).prefix(events))
            var i = 0
            while i < history.count {
                try store.append(Array(history[i..<min(i + 500, history.count)]))
                i += 500
            }
            try body(store, history)
        }
    }

    func testLongReadsDeliverInOrderAndStopWhereTheBodySays() throws {
        try withStore(events: 5000) { store, history in
            var positions: [Int64] = []
            var types: [String] = []
            try store.read(from: 1, filter: EventFilter(), limit: nil) { e in
                positions.append(e.position)
                types.append(e.type)
                XCTAssertNotNil(e.hash)
                return true
            }
            XCTAssertEqual(positions, Array(1...Int64(history.count)))
            XCTAssertEqual(types, history.map(\.type))
            // Stopped by the body in the middle of a long read.
            var seen: [Int64] = []
            try store.read(from: 40, filter: EventFilter(), limit: nil) { e in
                seen.append(e.position)
                return e.position < 3210
            }
            XCTAssertEqual(seen, Array(40...3210))
            // A limit.
            XCTAssertEqual(try store.readAll(from: 7, limit: 1000).map(\.position), Array(7...1006))
            // An error thrown by the body ends the read with that error.
            struct Stop: Error {}
            var count = 0
            XCTAssertThrowsError(
                try store.read(from: 1, filter: EventFilter(), limit: nil) { _ in
                    count += 1
                    if count == 777 { throw Stop() }
                    return true
                }
            ) { XCTAssertTrue($0 is Stop) }
            XCTAssertEqual(count, 777)
        }
    }

    func testTheFoldReaderAgreesWithTheFullReader() throws {
        try withStore(events: 3000) { store, _ in
            let all = try store.readAll()
            var folded: [FoldFields] = []
            let examined = try store.readFoldFields(from: 1, filter: EventFilter(), limit: nil, classify: { UInt8($0.utf8.count) }) {
                folded.append($0)
                return true
            }
            XCTAssertEqual(examined, Int64(all.count))
            XCTAssertEqual(folded.count, all.count)
            for (f, e) in zip(folded, all) {
                XCTAssertEqual(f.position, e.position)
                XCTAssertEqual(f.type, e.type)
                XCTAssertEqual(f.typeCode, UInt8(e.type.utf8.count))
                XCTAssertEqual(f.schemaVersion, e.schemaVersion)
                XCTAssertEqual(f.occurredAt, e.occurredAt)
                XCTAssertEqual(f.data, e.data)
            }
            // A filtered read: only the wanted types, in order.
            let filter = EventFilter(types: ["StageStarted", "PipelineCompleted"])
            var filtered: [Int64] = []
            try store.readFoldFields(from: 1, filter: filter, limit: nil, classify: { _ in 0 }) {
                filtered.append($0.position)
                return true
            }
            XCTAssertEqual(filtered, all.filter { $0.type == "StageStarted" || $0.type == "PipelineCompleted" }.map(\.position))
        }
    }
}
