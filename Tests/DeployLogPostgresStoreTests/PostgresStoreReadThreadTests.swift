import DeployLogEvents
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// The threads of a read: its fetcher waits for a slow consumer and for the server, so it must
/// not hold a thread of a shared pool that other reads need.
final class PostgresStoreReadThreadTests: XCTestCase {
    private func events(_ count: Int) -> [ProposedEvent] {
        (0..<count).map {
            ProposedEvent(
                stream: "pipeline-\($0 % 5)", type: "StageCompleted", data: ["stageOrder": .number(JSONNumber($0))],
                metadata: JSONObject())
        }
    }

    /// More reads than the machine has cores, each parked behind a consumer that has not
    /// returned from its first event (their fetchers wait for room, pages ahead), and another
    /// read still runs at once. On Dispatch's shared pool (one thread per core on Linux) the
    /// parked fetchers held every thread: the later readers never got their first event.
    func testReadsParkedBehindSlowConsumersDoNotHoldUpOtherReads() throws {
        try withTestDatabase(prefix: "pgstore_parked_reads") { url in
            var options = PostgresStore.Options()
            options.readPageSize = 8
            let store = try PostgresStore.create(url: url, options: options)
            _ = try store.append(events(100))
            let parked = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let ended = DispatchSemaphore(value: 0)
            for _ in 0..<parked {
                Thread {
                    _ = try? store.read(from: 1, filter: EventFilter(), limit: nil) { _ in
                        started.signal()
                        release.wait()
                        return false
                    }
                    ended.signal()
                }.start()
            }
            defer {
                for _ in 0..<parked { release.signal() }
                for _ in 0..<parked { _ = ended.wait(timeout: .now() + 10) }
            }
            for k in 0..<parked {
                guard started.wait(timeout: .now() + 5) == .success else {
                    return XCTFail("reader \(k + 1) of \(parked) never got its first event: its fetcher found no thread")
                }
            }
            Thread.sleep(forTimeInterval: 0.2)  // the fetchers fill their pages ahead and park
            let t0 = DispatchTime.now().uptimeNanoseconds
            XCTAssertEqual(try store.readAll().count, 100)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            XCTAssertLessThan(seconds, 0.5, "a read waited \(seconds) s behind parked ones")
        }
    }

    /// A page size below 1 is taken as 1: every event is read and verify ends (a page of none
    /// read as the end of the log, or as a missing position, and verify looped).
    func testAPageSizeBelowOneReadsEveryEvent() throws {
        try withTestDatabase(prefix: "pgstore_page_size") { url in
            _ = try PostgresStore.create(url: url).append(events(5))
            for size in [0, -3] {
                var options = PostgresStore.Options()
                options.readPageSize = size
                let store = try PostgresStore.open(url: url, options: options)
                XCTAssertEqual(try store.readAll().map(\.position), [1, 2, 3, 4, 5])
                XCTAssertEqual(try store.readAll(filter: EventFilter(stream: "pipeline-1")).map(\.position), [2])
                let report = try store.verify()
                XCTAssertNil(report.problem)
                XCTAssertEqual(report.events, 5)
            }
        }
    }
}
