import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import Logging
import XCTest

/// A PostgreSQL subscription across lost connections: its server processes ended
/// (`pg_terminate_backend`, as a restart or failover would) and new ones refused for a while
/// (`ALLOW_CONNECTIONS false`), while it waits in history or polls live, it retries and
/// delivers every event once, in order; any other error still ends it.
final class PostgresStoreSubscriptionTests: XCTestCase {
    private func event(_ i: Int) -> ProposedEvent {
        ProposedEvent(
            stream: "pipeline-\(i % 3)", type: "StageCompleted",
            data: ["pipelineId": .string("pipeline-\(i % 3)"), "stageOrder": .number(JSONNumber(i))],
            eventId: derivedEventID(from: Array("event \(i)".utf8)))
    }

    /// Store options whose logger writes to `log`, with pages of `pageSize` rows when given.
    private static func options(logging log: LogCapture, pageSize: Int? = nil) -> PostgresStore.Options {
        var options = PostgresStore.Options()
        if let pageSize { options.readPageSize = pageSize }
        options.logger = Logger(label: "test") { _ in log.handler() }
        return options
    }

    /// Ends every server process of the database at `url` (the subscriber's, the writer's idle
    /// ones), from a connection to the server's own database, and waits until they are gone.
    private func terminateConnections(_ url: String) throws {
        let admin = try PostgresConnection(PostgresServer.shared().url)
        defer { admin.close() }
        let name = String(try XCTUnwrap(URLComponents(string: url)?.path.dropFirst()))
        let ended = try admin.query(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [.text(name)]
        ).map { try $0.int32(0) }
        XCTAssertFalse(ended.isEmpty, "no server process to end")
        guard !ended.isEmpty else { return }
        let pids = ended.map(String.init).joined(separator: ", ")
        let deadline = Date(timeIntervalSinceNow: 20)
        while Date() < deadline {
            if try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid IN (\(pids))")[0].int64(0) == 0 {
                return
            }
            usleep(10_000)
        }
        XCTFail("the server processes \(pids) were not ended")
    }

    /// Runs `sql` on the server's own database (what a test database cannot do to itself).
    private func admin(_ sql: String) throws {
        let admin = try PostgresConnection(PostgresServer.shared().url)
        defer { admin.close() }
        try admin.execute(script: sql)
    }

    /// Lets the database at `url` take new connections or not: with its server processes
    /// ended, a server that is down for a while. (The store's pool replaces connections the
    /// server ended at once; only a server that refuses new ones makes the subscription wait.)
    private func refuseConnections(_ url: String, _ refuse: Bool) throws {
        let database = String(try XCTUnwrap(URLComponents(string: url)?.path.dropFirst()))
        try admin("ALTER DATABASE \"\(database)\" ALLOW_CONNECTIONS \(!refuse)")
    }

    /// Waits until `condition` holds (at most 30 s).
    private func wait(until condition: () -> Bool) {
        let deadline = Date(timeIntervalSinceNow: 30)
        while !condition(), Date() < deadline { usleep(10_000) }
    }

    /// Subscribes from 1 and, while the handler holds event `position`, takes the database
    /// down (its server processes ended, new connections refused) until the subscription has
    /// retried at least once, then lets it go on. Returns the subscription and what it
    /// delivered.
    private func subscribeThroughAnOutage(
        _ store: PostgresStore, url: String, holdingAt position: Int64, log: LogCapture
    ) throws -> (Subscription, PositionBox) {
        let seen = PositionBox()
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let sub = store.subscribe(from: 1, pollInterval: 0.02) { e in
            seen.add(e.position)
            if e.position == position {
                held.signal()
                release.wait()
            }
            return true
        }
        XCTAssertEqual(held.wait(timeout: .now() + 30), .success)
        try refuseConnections(url, true)
        try terminateConnections(url)
        release.signal()
        wait { log.retries >= 1 }
        try refuseConnections(url, false)
        return (sub, seen)
    }

    /// Appends `events` through `store`, again while its connections turn out lost (the same
    /// ids: a retry never duplicates).
    private func append(_ events: [ProposedEvent], to store: PostgresStore) throws {
        var attempts = 0
        while true {
            do throws(StoreError) {
                try store.append(events)
                return
            } catch {
                attempts += 1
                guard error.code == .unavailable, attempts < 20 else { throw error }
            }
        }
    }

    /// Waits until `seen` holds `count` positions.
    private func waitFor(_ count: Int, in seen: PositionBox, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date(timeIntervalSinceNow: 30)
        while seen.all.count < count, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(seen.all.count, count, file: file, line: line)
    }

    func testASubscriptionSurvivesLostConnectionsInHistoryAndLive() throws {
        try withTestDatabase(prefix: "pgstore_sub_lost") { url in
            let log = LogCapture()
            let store = try PostgresStore.create(url: url, options: Self.options(logging: log, pageSize: 50))
            let writer = try PostgresStore.open(url: url)
            try writer.append((0..<1000).map(event))

            // History: the handler holds event 70 (pages of 50, two more decoded ahead) while
            // the connections are ended; the read of the page after those fails and is retried.
            let (sub, seen) = try subscribeThroughAnOutage(store, url: url, holdingAt: 70, log: log)
            waitFor(1000, in: seen)
            XCTAssertGreaterThanOrEqual(log.retries, 1, "the subscription never met the lost connection")

            // Live: ended again while it polls, a few times, events appended in between.
            var total = 1000
            for round in 0..<3 {
                let before = log.retries
                try refuseConnections(url, true)
                try terminateConnections(url)
                wait { log.retries > before }
                try refuseConnections(url, false)
                XCTAssertGreaterThan(log.retries, before, "round \(round): no retry")
                try append((total..<(total + 25)).map(event), to: writer)
                total += 25
                waitFor(total, in: seen)
            }
            XCTAssertEqual(seen.all, Array(1...Int64(total)))

            // Still running: a new event arrives; then it ends when cancelled, without error.
            try append([event(total)], to: writer)
            waitFor(total + 1, in: seen)
            sub.cancel()
            XCTAssertNil(sub.failure(within: 10))
            XCTAssertEqual(seen.all, Array(1...Int64(total + 1)))
            // Logged at debug, naming where it resumes: the first event of a page it had not read.
            let retry = try XCTUnwrap(log.retryRecords.first)
            XCTAssertEqual(retry.level, .debug)
            let resumed = try XCTUnwrap(retry.metadata["position"].flatMap { Int64($0) })
            XCTAssertGreaterThan(resumed, 70)
            XCTAssertEqual((resumed - 1) % 50, 0, "resumed from \(resumed)")
            XCTAssertEqual(retry.metadata["delay"], "0.1")
            // Whoever follows is told once an outage, with the error, and when it ends: four
            // outages (one in history, three live), each a warning and a notice, in turn.
            let told = log.records.filter { $0.level >= .notice }
            XCTAssertEqual(told.map(\.level), Array(repeating: [Logger.Level.warning, .notice], count: 4).flatMap { $0 })
            XCTAssertTrue(told.first?.metadata["error"]?.contains("unavailable") == true, "\(told)")
        }
    }

    /// While the server cannot be reached, the pauses between retries grow and `cancel` ends
    /// the subscription at once, without error.
    func testCancelIsPromptWhileRetrying() throws {
        let log = LogCapture()
        try withTestDatabase(prefix: "pgstore_sub_cancel") { url in
            let store = try PostgresStore.create(url: url, options: Self.options(logging: log))
            try store.append((0..<3).map(event))
            let seen = PositionBox()
            let sub = store.subscribe(from: 1, pollInterval: 0.02) { e in
                seen.add(e.position)
                return true
            }
            waitFor(3, in: seen)
            // No new connection to this database from now on (a server down): every retry fails.
            try refuseConnections(url, true)
            defer { try? refuseConnections(url, false) }
            try terminateConnections(url)
            let deadline = Date(timeIntervalSinceNow: 30)
            while log.retries < 4, Date() < deadline { usleep(10_000) }
            XCTAssertGreaterThanOrEqual(log.retries, 4)
            XCTAssertEqual(log.retryRecords.prefix(4).map { $0.metadata["delay"] }, ["0.1", "0.2", "0.4", "0.8"])
            let asked = Date()
            sub.cancel()
            XCTAssertNil(sub.failure(within: 10))
            XCTAssertLessThan(Date().timeIntervalSince(asked), 0.5, "cancel waited for the pause")
            XCTAssertEqual(seen.all, [1, 2, 3])
        }
    }

    /// The pauses: 0.1 s doubling up to 5 s, and back to 0.1 s once a read succeeds.
    func testRetryPausesDoubleUpToFiveSecondsAndStartAgain() {
        var backoff = RetryBackoff()
        XCTAssertEqual((0..<8).map { _ in backoff.next() }, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5])
        backoff.reset()
        XCTAssertEqual(backoff.next(), 0.1)
    }

    /// Errors that are not a lost connection end the subscription as before, even after a
    /// retry: corruption met in history, and a handler throwing — even `unavailable` — whose
    /// event is not delivered again.
    func testOtherErrorsStillEndTheSubscription() throws {
        try withTestDatabase(prefix: "pgstore_sub_errors") { url in
            let log = LogCapture()
            let store = try PostgresStore.create(url: url, options: Self.options(logging: log, pageSize: 10))
            try store.append((0..<200).map(event))
            let c = try PostgresConnection(url)
            try c.execute(
                script: """
                    ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only;
                    DELETE FROM deploylog.events WHERE position = 150;
                    ALTER TABLE deploylog.events ENABLE TRIGGER events_append_only
                    """)
            c.close()

            // Corruption after a retry: the connections are ended while the handler holds 5.
            let (sub, seen) = try subscribeThroughAnOutage(store, url: url, holdingAt: 5, log: log)
            let error = sub.failure(within: 30) as? StoreError
            XCTAssertEqual(error?.code, .corruption, "\(String(describing: error))")
            XCTAssertEqual(error?.message, "position 150 is missing (the next event stored is at position 151)")
            XCTAssertEqual(seen.all, Array(1...149))
            XCTAssertGreaterThanOrEqual(log.retries, 1, "the subscription never met the lost connection")

            // A handler's own error, even one that looks like a lost connection, ends it.
            let handled = PositionBox()
            let thrown = StoreError(.unavailable, "the handler's database is down")
            let failing = store.subscribe(from: 1, pollInterval: 0.02) { e in
                handled.add(e.position)
                if e.position == 3 { throw thrown }
                return true
            }
            XCTAssertEqual(failing.failure(within: 30) as? StoreError, thrown)
            XCTAssertEqual(handled.all, [1, 2, 3])
        }
    }
}

/// The records logged through a `Logger` made with `handler()`.
final class LogCapture: @unchecked Sendable {
    struct Record {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var captured: [Record] = []

    var records: [Record] {
        lock.lock()
        defer { lock.unlock() }
        return captured
    }

    /// The subscription's retries, in order.
    var retryRecords: [Record] { records.filter { $0.message == "subscription lost its connection; retrying" } }
    var retries: Int { retryRecords.count }

    func handler() -> Handler { Handler(capture: self) }

    fileprivate func add(_ record: Record) {
        lock.lock()
        captured.append(record)
        lock.unlock()
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var fields: [String: String] = [:]
            for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[k] = "\(v)" }
            capture.add(Record(level: event.level, message: "\(event.message)", metadata: fields))
        }
    }
}
