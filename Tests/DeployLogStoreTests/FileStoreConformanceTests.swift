import DeployLogEvents
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// The shared store contract, run against the embedded file store (small segments, so that
/// rollover is exercised too).
final class FileStoreConformanceTests: XCTestCase {
    private var directories: [String] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
    }

    private var suite: StoreConformance {
        StoreConformance { [unowned self] in
            let dir = FileManager.default.temporaryDirectory.path + "/deploylog-conf-" + UUID().uuidString.lowercased()
            directories.append(dir)
            var options = FileStore.Options()
            options.segmentSize = 2048
            return try FileStore.create(at: dir, options: options)
        }
    }

    func testRoundTrip() throws { try suite.checkRoundTrip() }
    func testExpectedVersionConflicts() throws { try suite.checkExpectedVersionConflicts() }
    func testExpectedVersionAtTheLimit() throws { try suite.checkExpectedVersionAtTheLimit() }
    func testIdempotentRetry() throws { try suite.checkIdempotentRetry() }
    func testGaplessUnderConcurrentThreads() throws { try suite.checkGaplessUnderConcurrentThreads() }
    func testReadsAndFilters() throws { try suite.checkReadsAndFilters() }
    func testCatchUpSubscription() throws { try suite.checkCatchUpSubscription() }
    func testImport() throws { try suite.checkImport() }
}

/// The subscription as an async sequence, for in-process consumers.
final class FileStoreAsyncSubscriptionTests: XCTestCase {
    func testAsyncSequenceDeliversHistoryThenLiveEvents() async throws {
        let dir = FileManager.default.temporaryDirectory.path + "/deploylog-async-" + UUID().uuidString.lowercased()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileStore.create(at: dir)
        try store.append((0..<3).map { ProposedEvent(stream: "pipeline-a", type: "E\($0)", data: [:]) })
        var seen = [Int64]()
        for try await e in store.events(from: 2) {
            seen.append(e.position)
            if e.position == 3 {
                // Live: appended after the history was delivered.
                try store.append([ProposedEvent(stream: "pipeline-b", type: "Live", data: [:])])
            }
            if e.position == 4 { break }
        }
        XCTAssertEqual(seen, [2, 3, 4])
    }
}
