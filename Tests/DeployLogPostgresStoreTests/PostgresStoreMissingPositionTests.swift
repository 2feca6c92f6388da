import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// A row deleted behind the triggers' back (a superuser disabling them): every read of every
/// position — `read`, `readAll`, `readFoldFields`, `event(at:)`, a subscription — delivers the
/// events before the gap, then fails with `corruption` naming the first missing position,
/// wherever the gap falls (mid-page, first row of a page, mid-chunk of a large page, at the
/// start or the end of the range read). Filtered reads, which skip positions anyway, go on.
final class PostgresStoreMissingPositionTests: XCTestCase {
    private func event(_ stream: String, _ i: Int) -> ProposedEvent {
        ProposedEvent(
            stream: stream, type: "StageCompleted",
            data: ["pipelineId": .string(stream), "stageOrder": .number(JSONNumber(i))],
            metadata: JSONObject([("actor", "ci@build-17")]))
    }

    /// 3000 events, `pipeline-even` and `environment-odd` by turns, with `deleted` removed.
    private func withGappedStore(
        deleting deleted: [Int64], _ body: (_ url: String, _ store: PostgresStore) throws -> Void
    ) throws {
        try withTestDatabase(prefix: "pgstore_gap") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<3000).map { event($0 % 2 == 0 ? "pipeline-even" : "environment-odd", $0) })
            let c = try PostgresConnection(url)
            try c.execute(script: "ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only")
            for p in deleted { try c.query("DELETE FROM deploylog.events WHERE position = $1", [.int8(p)]) }
            try c.execute(script: "ALTER TABLE deploylog.events ENABLE TRIGGER events_append_only")
            try body(url, store)
        }
    }

    /// Reads from `from` and returns the positions delivered before the error it must end with.
    private func positionsBeforeFailure(
        _ read: ((Int64) -> Void) throws -> Void, file: StaticString = #filePath, line: UInt = #line
    ) -> (positions: [Int64], error: StoreError?) {
        var seen: [Int64] = []
        do {
            try read { seen.append($0) }
            XCTFail("the read did not fail (\(seen.count) events)", file: file, line: line)
            return (seen, nil)
        } catch {
            XCTAssertNotNil(error as? StoreError, "\(error)", file: file, line: line)
            return (seen, error as? StoreError)
        }
    }

    private func assertMissing(
        _ error: StoreError?, _ position: Int64, next: Int64?, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(error?.code, .corruption, "\(String(describing: error))", file: file, line: line)
        XCTAssertEqual(error?.position, position, "\(String(describing: error))", file: file, line: line)
        let expected =
            "position \(position) is missing" + (next.map { " (the next event stored is at position \($0))" } ?? "")
        XCTAssertEqual(error?.message, expected, file: file, line: line)
    }

    func testUnfilteredReadsFailAtTheFirstMissingPositionAfterTheEventsBeforeIt() throws {
        // 42 mid-page; 98 the first row of the second page of 97; 1500 mid-chunk of a page of
        // 4096 (decoded in chunks of 128 on two threads); 2999 and 3000 at the end.
        try withGappedStore(deleting: [42, 98, 1500, 2999]) { url, store in
            var small = PostgresStore.Options()
            small.readPageSize = 97
            let paged = try PostgresStore.open(url: url, options: small)
            for s in [store, paged] {
                let all = positionsBeforeFailure { add in
                    try s.read(from: 1, filter: EventFilter(), limit: nil) {
                        add($0.position); return true
                    }
                }
                XCTAssertEqual(all.positions, Array(1...41))
                assertMissing(all.error, 42, next: 43)

                XCTAssertThrowsError(try s.readAll()) { assertMissing($0 as? StoreError, 42, next: 43) }
                // The gap is the first position asked for: nothing is delivered.
                let first = positionsBeforeFailure { add in
                    try s.read(from: 42, filter: EventFilter(), limit: 10) {
                        add($0.position); return true
                    }
                }
                XCTAssertEqual(first.positions, [])
                assertMissing(first.error, 42, next: 43)

                let second = positionsBeforeFailure { add in
                    try s.read(from: 43, filter: EventFilter(), limit: nil) {
                        add($0.position); return true
                    }
                }
                XCTAssertEqual(second.positions, Array(43...97))
                assertMissing(second.error, 98, next: 99)

                let third = positionsBeforeFailure { add in
                    try s.read(from: 99, filter: EventFilter(), limit: nil) {
                        add($0.position); return true
                    }
                }
                XCTAssertEqual(third.positions, Array(99...1499))
                assertMissing(third.error, 1500, next: 1501)

                // The projections' folds read the same way.
                let folded = positionsBeforeFailure { add in
                    try s.readFoldFields(from: 1000, filter: EventFilter(), limit: nil, classify: { _ in 0 }) {
                        add($0.position); return true
                    }
                }
                XCTAssertEqual(folded.positions, Array(1000...1499))
                assertMissing(folded.error, 1500, next: 1501)

                // The range ends inside the gap: no row after it is read, the gap still shows.
                let tail = positionsBeforeFailure { add in
                    try s.read(from: 2990, filter: EventFilter(throughPosition: 2999), limit: nil) {
                        add($0.position); return true
                    }
                }
                XCTAssertEqual(tail.positions, Array(2990...2998))
                assertMissing(tail.error, 2999, next: nil)
                XCTAssertThrowsError(try s.event(at: 2999)) { assertMissing($0 as? StoreError, 2999, next: nil) }

                // Reads that stop before a gap, or never reach one, do not fail.
                XCTAssertEqual(try s.readAll(limit: 41).map(\.position), Array(1...41))
                XCTAssertEqual(try s.readAll(from: 1501, limit: 1498).map(\.position), Array(1501...2998))
                XCTAssertEqual(try s.readAll(from: 3000).map(\.position), [3000])
                var stopped: [Int64] = []
                try s.read(from: 1, filter: EventFilter(), limit: nil) {
                    stopped.append($0.position); return $0.position < 41
                }
                XCTAssertEqual(stopped, Array(1...41))

                // Filtered reads skip positions anyway: they go on past the gaps.
                let even = try s.readAll(filter: EventFilter(stream: "pipeline-even")).map(\.position)
                let odd = (1...3000 as ClosedRange<Int64>).filter { p in p % 2 == 1 && p != 2999 }
                XCTAssertEqual(even, odd)
                let environment = try s.readAll(filter: EventFilter(categories: ["environment"], throughPosition: 100))
                let evenUpTo100 = (1...100 as ClosedRange<Int64>).filter { p in p % 2 == 0 && p != 42 && p != 98 }
                XCTAssertEqual(environment.map(\.position), evenUpTo100)
                XCTAssertEqual(try s.readAll(filter: EventFilter(types: ["StageCompleted"])).count, 2996)
            }
        }
    }

    /// A subscription from 1 delivers the events before the gap and ends with the error; a
    /// filtered one goes on past it and sees new events.
    func testASubscriptionEndsAtTheFirstMissingPosition() throws {
        try withGappedStore(deleting: [1700]) { _, store in
            let seen = PositionBox()
            let sub = store.subscribe(from: 1, pollInterval: 0.05) { e in
                seen.add(e.position)
                return true
            }
            assertMissing(sub.failure(within: 30) as? StoreError, 1700, next: 1701)
            XCTAssertEqual(seen.all, Array(1...1699))

            let filtered = PositionBox()
            let got = DispatchSemaphore(value: 0)
            let sub2 = store.subscribe(from: 1, filter: EventFilter(stream: "pipeline-even"), pollInterval: 0.05) { e in
                filtered.add(e.position)
                if e.position == 3001 { got.signal() }
                return true
            }
            try store.append([event("pipeline-even", 3000)])
            XCTAssertEqual(got.wait(timeout: .now() + 20), .success)
            sub2.cancel()
            try sub2.wait()
            let expected = (1...3001 as ClosedRange<Int64>).filter { p in p % 2 == 1 }
            XCTAssertEqual(filtered.all, expected)
        }
    }
}

extension Subscription {
    /// The error the subscription ended with, waiting at most `seconds`; nil when it ended
    /// without one. One still running then is a test failure, and is cancelled.
    func failure(within seconds: Double, file: StaticString = #filePath, line: UInt = #line) -> (any Error)? {
        let outcome = ErrorSlot()
        let ended = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { try self.wait() } catch { outcome.set(error) }
            ended.signal()
        }
        if ended.wait(timeout: .now() + seconds) == .timedOut {
            XCTFail("the subscription still runs after \(seconds) s", file: file, line: line)
            cancel()
            ended.wait()
        }
        return outcome.value
    }
}
