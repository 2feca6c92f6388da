import DeployLogEvents
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// The shared store contract, run against the PostgreSQL store on a real server (each store in
/// a fresh database of the test cluster).
final class PostgresStoreConformanceTests: XCTestCase {
    private var suite: StoreConformance {
        StoreConformance {
            let url = try PostgresServer.shared().createDatabase(prefix: "conformance")
            return try PostgresStore.create(url: url)
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
