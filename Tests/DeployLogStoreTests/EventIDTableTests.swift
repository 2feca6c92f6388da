import DeployLogEvents
@testable import DeployLogStore
import XCTest

/// The index's table of event ids must answer as a dictionary of id to last position would.
final class EventIDTableTests: XCTestCase {
    func testFindsEveryIdThroughManyDoublingsAndNoOther() {
        var rng = SplitMix64(seed: 7)
        var table = EventIDTable()
        var expected = [EventID: Int64]()
        var ids = [EventID]()
        for p in 1...50_000 {
            // Some ids again (a later position replaces the earlier), some sharing a half.
            let id: EventID
            switch p % 100 {
            case 0: id = ids[Int(rng.next() % UInt64(ids.count))]
            case 1 where !ids.isEmpty: id = EventID(high: ids[ids.count - 1].high, low: rng.next())
            default: id = EventID(high: rng.next(), low: rng.next())
            }
            ids.append(id)
            table.add(id, at: Int64(p))
            expected[id] = Int64(p)
            if p % 4_999 == 0 {
                for (known, position) in expected { XCTAssertEqual(table.position(of: known), position) }
            }
        }
        for (id, position) in expected { XCTAssertEqual(table.position(of: id), position) }
        // Looked up together, stored and unknown ids mixed: the same answers (0 for none).
        var asked = Array(expected.keys.prefix(3_000))
        for _ in 0..<3_000 { asked.append(EventID(high: rng.next(), low: rng.next())) }
        asked.shuffle(using: &rng)
        let together = asked.withUnsafeBufferPointer { table.positions(of: $0) }
        XCTAssertEqual(together, asked.map { expected[$0] ?? 0 })
        for _ in 0..<10_000 {
            let id = EventID(high: rng.next(), low: rng.next())
            XCTAssertEqual(table.position(of: id), expected[id])
        }
    }

    func testEmptyTableFindsNothing() {
        XCTAssertNil(EventIDTable().position(of: EventID(high: 0, low: 0)))
    }
}
