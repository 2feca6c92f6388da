import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import Foundation
import XCTest

@testable import DeployLogProjectionSink

/// `rebuildWithoutDowntime`: a reader querying in a loop on another connection never sees a
/// missing table or an empty result while the shadow schema is built and swapped in.
final class ZeroDowntimeTests: SinkTestCase {
    /// What the reader thread saw.
    final class ReaderLog: @unchecked Sendable {
        private let lock = NSLock()
        private var _stop = false
        private(set) var reads = 0
        private(set) var failures: [String] = []
        var stop: Bool {
            get { lock.withLock { _stop } }
            set { lock.withLock { _stop = newValue } }
        }
        func read() { lock.withLock { reads += 1 } }
        func fail(_ s: String) { lock.withLock { if failures.count < 10 { failures.append(s) } } }
        var snapshot: (reads: Int, failures: [String]) { lock.withLock { (reads, failures) } }
    }

    func testReadersKeepReadingWhileTheShadowSchemaIsSwappedIn() throws {
        // Recent enough that the first half already has pipelines in the views' 30-day window.
        let history = try Self.recentHistory(pipelines: 60, daysAgo: 20)
        try append(history.prefix(history.count / 2))
        try sink().rebuild()

        let log = ReaderLog()
        let url = databaseURL
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            do {
                let c = try PostgresConnection(url)
                try c.query(
                    "SELECT set_config('search_path', $1, false)", [.text(ProjectionSink.defaultSchema)])
                while !log.stop {
                    do {
                        let pipelines = try c.query("SELECT count(*) FROM deployment_pipelines")[0].int64(0)
                        let stages = try c.query("SELECT count(*) FROM deployment_stages")[0].int64(0)
                        let metrics = try c.query("SELECT * FROM deployment_metrics").count
                        let checkpoints = try c.query("SELECT count(*) FROM deploylog_projection_checkpoints")[0].int64(
                            0)
                        if pipelines == 0 || stages == 0 || metrics == 0 || checkpoints == 0 {
                            log.fail("empty: pipelines \(pipelines), stages \(stages), metrics \(metrics)")
                        }
                        log.read()
                    } catch {
                        log.fail("\(error)")
                    }
                }
            } catch {
                log.fail("connect: \(error)")
            }
        }
        thread.start()
        defer {
            log.stop = true
            done.wait()
        }
        while log.snapshot.reads < 5 && log.snapshot.failures.isEmpty { usleep(10_000) }

        // Two swaps: the first over a schema built in place, the second over a swapped one,
        // the log growing between them and while the shadow is built.
        try append(history.dropFirst(history.count / 2).prefix(200))
        let s = try sink()
        s.faultHook = { [self] step in
            if step == "shadow built" { try append(history.dropFirst(history.count / 2).dropFirst(200).prefix(100)) }
        }
        let first = try s.rebuildWithoutDowntime()
        XCTAssertEqual(first.head, try store.head(), "the shadow was caught up before the swap")
        let readsAfterFirst = log.snapshot.reads
        try append(history.dropFirst(history.count / 2).dropFirst(300))
        try sink().rebuildWithoutDowntime()
        while log.snapshot.reads < readsAfterFirst + 5 && log.snapshot.failures.isEmpty { usleep(10_000) }
        log.stop = true

        let seen = log.snapshot
        XCTAssertEqual(seen.failures, [])
        XCTAssertGreaterThan(seen.reads, 10)

        let c = try connect()
        let p = try Projections.fold(store)
        XCTAssertEqual(try actualRows(p, on: c), Self.expectedRows(p))
        let head = try store.head()
        for cp in try checkpoints(on: c).values { XCTAssertEqual(cp.position, head.position) }
        let schemas = try c.query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'deploylog_read%' ORDER BY 1")
        XCTAssertEqual(try schemas.map { try $0.string(0) }, ["deploylog_read"])
        // The views and the function moved with the schema.
        let r = try reader()
        XCTAssertEqual(try r.query("SELECT * FROM deployment_metrics").count, 3)
        _ = try r.query("SELECT get_deployment_health()")
    }

    func testZeroDowntimeRebuildOnAnEmptyDatabase() throws {
        try append(Self.recentHistory(pipelines: 10))
        let report = try sink().rebuildWithoutDowntime()
        XCTAssertEqual(report.schema, ProjectionSink.defaultSchema)
        let p = try Projections.fold(store)
        XCTAssertEqual(try actualRows(p, on: try connect()), Self.expectedRows(p))
    }
}
