import DeployLogEvents
import DeployLogStore
import Foundation
import XCTest

/// Group commit under contention: more appenders than a group takes (tiny `maxBatchEvents`, so
/// groups are cut, the lead is handed on and waiters are woken with others), requests checked
/// and encoded while the group still gathers.
final class GroupCommitTests: XCTestCase {
    private func withStore(maxBatchEvents: Int, _ body: (FileStore) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.path + "/deploylog-gc-" + UUID().uuidString.lowercased()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = FileStore.Options()
        options.maxBatchEvents = maxBatchEvents
        options.segmentSize = 16 << 10
        try body(try FileStore.create(at: dir, options: options))
        // The bytes on disk: framing, positions, the hash chain, the HEAD file.
        let report = try FileStore.verify(at: dir)
        XCTAssertTrue(report.ok, "\(report)")
    }

    /// Each thread owns a stream and appends with exact expected versions (one or two events a
    /// call) and retries some appends: every call succeeds, a retry returns the original
    /// positions, positions are gapless and every result matches what is stored.
    func testManyAppendersSmallGroupsExactVersionsAndRetries() throws {
        for maxBatch in [1, 3, 50_000] {
            try withStore(maxBatchEvents: maxBatch) { store in
                let threads = 16
                let calls = 30
                let lock = NSLock()
                nonisolated(unsafe) var results: [(EventID, Int64, Int64, String)] = []
                nonisolated(unsafe) var failures: [String] = []
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let stream = "pipeline-g\(t)"
                    var version: Int64 = -1
                    for c in 0..<calls {
                        let n = c % 3 == 0 ? 2 : 1
                        let events = (0..<n).map { k in
                            ProposedEvent(
                                stream: stream, type: "StageCompleted", data: ["c": .number(JSONNumber(c))],
                                expectedVersion: k == 0 ? (version < 0 ? .noStream : .exact(version)) : .any)
                        }
                        do {
                            let r = try store.append(events)
                            let again = c % 5 == 0 ? try store.append(events) : r
                            lock.lock()
                            if again.positions != r.positions || again.appendedCount != 0 && c % 5 == 0 {
                                failures.append("\(stream) call \(c): retry gave \(again), first \(r)")
                            }
                            for (k, e) in events.enumerated() {
                                results.append((e.eventId, r.positions[k], r.streamVersions[k], stream))
                            }
                            lock.unlock()
                            version += Int64(n)
                            if r.streamVersions.last != version {
                                lock.lock()
                                failures.append("\(stream) call \(c): versions \(r.streamVersions), expected to end at \(version)")
                                lock.unlock()
                            }
                        } catch {
                            lock.lock()
                            failures.append("\(stream) call \(c): \(error)")
                            lock.unlock()
                        }
                    }
                }
                XCTAssertEqual(failures, [], "maxBatchEvents \(maxBatch)")
                let all = try store.readAll()
                XCTAssertEqual(all.map(\.position), Array(1...Int64(results.count)), "maxBatchEvents \(maxBatch)")
                let byPosition = Dictionary(uniqueKeysWithValues: all.map { ($0.position, $0) })
                for (id, position, version, stream) in results {
                    let e = byPosition[position]
                    XCTAssertEqual(e?.eventId, id)
                    XCTAssertEqual(e?.streamVersion, version)
                    XCTAssertEqual(e?.stream, stream)
                }
                XCTAssertEqual(try store.head().position, Int64(results.count))
            }
        }
    }

    /// Threads race on one stream with exact expected versions: a request must see the events
    /// of earlier requests of its own group (not yet in the index), so exactly one append per
    /// version wins and the stream stays gapless.
    func testConflictsWithinAGroupSeeEarlierRequests() throws {
        try withStore(maxBatchEvents: 50_000) { store in
            let threads = 8
            let wins = 25
            let lock = NSLock()
            nonisolated(unsafe) var won: [Int64] = []
            nonisolated(unsafe) var failures: [String] = []
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var mine = 0
                while mine < wins {
                    do {
                        let current = try store.streamVersion(of: "pipeline-shared")
                        let e = ProposedEvent(
                            stream: "pipeline-shared", type: "StageCompleted", data: ["t": .number(JSONNumber(t))],
                            expectedVersion: current.map { .exact($0) } ?? .noStream)
                        let r = try store.append([e])
                        lock.lock()
                        won.append(r.streamVersions[0])
                        lock.unlock()
                        mine += 1
                    } catch let e as StoreError where e.code == .conflict {
                        continue
                    } catch {
                        lock.lock()
                        failures.append("\(error)")
                        lock.unlock()
                        return
                    }
                }
            }
            XCTAssertEqual(failures, [])
            XCTAssertEqual(won.sorted(), Array(0..<Int64(threads * wins)))
            let all = try store.readAll()
            XCTAssertEqual(all.map(\.streamVersion), Array(0..<Int64(threads * wins)))
        }
    }
}
