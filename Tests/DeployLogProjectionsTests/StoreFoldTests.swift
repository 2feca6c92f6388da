import DeployLogEvents
import DeployLogProjections
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// Folds from a file store (fold fields decoded ahead, the state's fold skipping the types it
/// does not read) equal folds of the same events one by one.
final class StoreFoldTests: XCTestCase {
    func testStoreFoldsEqualEventByEventFolds() throws {
        let history = SampleHistory.generate(pipelines: 120, seed: 11)
        try withTemporaryDirectory { dir in
            let store = try FileStore.create(at: dir + "/store")
            var i = 0
            while i < history.count {
                try store.append(Array(history[i..<min(i + 300, history.count)]))
                i += 300
            }
            let events = try store.readAll()
            for last in [events.count, events.count / 3, 1, 2] {
                var byEvent = Projections()
                for e in events.prefix(last) { byEvent.apply(e) }
                let upTo = Int64(last)
                XCTAssertEqual(try Projections.fold(store, upTo: upTo), byEvent, "all projectors up to \(last)")
                XCTAssertEqual(try Projections.fold(StateProjector.self, store, upTo: upTo), byEvent.state, "state up to \(last)")
                XCTAssertEqual(try Projections.fold(PipelinesProjector.self, store, upTo: upTo), byEvent.pipelines)
                XCTAssertEqual(try Projections.fold(MetricsProjector.self, store, upTo: upTo), byEvent.metrics)
            }
            // The last event folded by the state's fold is a stage event (a type it skips): its
            // position and time are still the state's.
            let stage = try XCTUnwrap(events.lastIndex { $0.type == "StageCompleted" })
            let s = try Projections.fold(StateProjector.self, store, upTo: Int64(stage + 1))
            XCTAssertEqual(s.position, Int64(stage + 1))
            XCTAssertEqual(s.lastOccurredAt, events[stage].occurredAt)
        }
    }
}
