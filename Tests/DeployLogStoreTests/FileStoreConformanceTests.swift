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
    func testIdempotentRetry() throws { try suite.checkIdempotentRetry() }
    func testGaplessUnderConcurrentThreads() throws { try suite.checkGaplessUnderConcurrentThreads() }
    func testReadsAndFilters() throws { try suite.checkReadsAndFilters() }
    func testCatchUpSubscription() throws { try suite.checkCatchUpSubscription() }
}
