import DeployLogEvents
import DeployLogPostgres
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

@testable import DeployLogPostgresStore

/// What the store relies on in its connections' sessions, whatever the database, the role or
/// the URL set: every transaction READ COMMITTED (the writers' ordering needs a snapshot taken
/// after the lock is granted, see `PostgresStore+Append.swift`), and the statements it
/// prepared, even after the server forgot them (`@testable`: to reach a pooled connection).
final class PostgresStoreSessionTests: XCTestCase {
    private func event(_ stream: String, _ i: Int, id: EventID = .random()) -> ProposedEvent {
        ProposedEvent(
            stream: stream, type: "StageCompleted",
            data: ["pipelineId": .string(stream), "stageOrder": .number(JSONNumber(i))], eventId: id,
            metadata: JSONObject([("actor", "ci@build-17")]))
    }

    /// A database whose default isolation is SERIALIZABLE, and a URL that asks for REPEATABLE
    /// READ (`options=-c …`): either would take a writer's snapshot before it waits for the
    /// lock, and concurrent writers would clash on positions (23505), fail to serialise
    /// (40001), or report a concurrent retry of an id as a conflict. The store's transactions
    /// are READ COMMITTED all the same: concurrent single-event appends all succeed, gapless,
    /// and two threads appending the same ids at once both get the original positions.
    func testConcurrentWritersAreOrderedWhateverTheDefaultIsolation() throws {
        let server = try PostgresServer.shared()
        let serializable = try server.createDatabase(prefix: "pgstore_serializable")
        let admin = try PostgresConnection(serializable)
        let name = try admin.query("SELECT current_database()")[0].string(0)
        try admin.execute(script: "ALTER DATABASE \"\(name)\" SET default_transaction_isolation = 'serializable'")
        let repeatable =
            try server.createDatabase(prefix: "pgstore_repeatable")
            + "?options=-c%20default_transaction_isolation%3Drepeatable%5C%20read"
        defer {
            if server.isExternal {
                try? server.dropDatabase(url: serializable)
                try? server.dropDatabase(url: String(repeatable.prefix { $0 != "?" }))
            }
        }
        for (url, level) in [(serializable, "serializable"), (repeatable, "repeatable read")] {
            XCTAssertEqual(
                try PostgresConnection(url).query("SHOW default_transaction_isolation")[0].string(0), level,
                "the test's database should default to \(level)")
            let store = try PostgresStore.create(url: url)
            try StoreConformance { store }.checkGaplessUnderConcurrentThreads(threads: 4, perThread: 300)
            XCTAssertTrue(try store.verify().ok)

            // Threads 2k and 2k + 1 append the same events, one at a time, at the same time.
            let batches = (0..<2).map { k in (0..<100).map { event("pipeline-r\(k)", $0) } }
            let results = ResultsBox()
            DispatchQueue.concurrentPerform(iterations: 4) { t in
                for e in batches[t / 2] {
                    do { results.add(t, try store.append([e]).positions[0]) } catch { results.fail(error) }
                }
            }
            XCTAssertEqual(results.failures.count, 0, "\(level): \(results.failures.prefix(3))")
            for k in 0..<2 {
                XCTAssertEqual(results.positions(2 * k), results.positions(2 * k + 1), "\(level): pair \(k)")
            }
            XCTAssertEqual(try store.readAll().map(\.position), Array(1...1_400), level)
            XCTAssertTrue(try store.verify().ok)
        }
    }

    /// `DEALLOCATE ALL` or `DISCARD ALL` (a pooler's reset) reaches the store's pooled
    /// connection: the server forgot every statement the connection prepared. Appends on it —
    /// one event, a few, a COPY — and reads still work, none fails, and after `DISCARD ALL`
    /// its transactions are READ COMMITTED again although the database defaults to SERIALIZABLE.
    func testAppendsWorkAfterTheServerForgetsThePooledConnectionsStatements() throws {
        try withTestDatabase(prefix: "pgstore_deallocate") { url in
            let admin = try PostgresConnection(url)
            let name = try admin.query("SELECT current_database()")[0].string(0)
            try admin.execute(script: "ALTER DATABASE \"\(name)\" SET default_transaction_isolation = 'serializable'")
            let store = try PostgresStore.create(url: url)
            try store.append([event("pipeline-d", 0)])
            var head: Int64 = 1
            for reset in ["DEALLOCATE ALL", "DISCARD ALL"] {
                for size in [1, 1, 3, store.options.copyThreshold] {
                    try store.pool.with { c in _ = try c.execute(script: reset) }
                    let r = try store.append((0..<size).map { event("pipeline-d", $0) })
                    XCTAssertEqual(r.positions, Array(head + 1...head + Int64(size)), "\(reset), \(size)")
                    head += Int64(size)
                }
                let level = try store.pool.with { c in try c.query("SHOW default_transaction_isolation")[0].string(0) }
                XCTAssertEqual(level, "read committed", reset)
                try store.pool.with { c in _ = try c.execute(script: reset) }
                XCTAssertEqual(try store.readAll().count, Int(head), reset)
            }
            XCTAssertTrue(try store.verify().ok)
        }
    }

    /// The store's connections notice a server gone silent (keepalives, a user timeout, a
    /// connect timeout), unless the URL sets its own.
    func testPooledConnectionsCarryTimeoutsUnlessTheURLSetsThem() throws {
        try withTestDatabase(prefix: "pgstore_timeouts") { url in
            let store = try PostgresStore.create(url: url)
            try store.pool.with { c in
                for (key, value) in PostgresConnection.timeouts {
                    XCTAssertEqual(c.connectionParameter(key), value, key)
                }
            }
            let own = try PostgresStore.open(url: url + "?keepalives_idle=5&connect_timeout=3")
            try own.pool.with { c in
                XCTAssertEqual(c.connectionParameter("keepalives_idle"), "5")
                XCTAssertEqual(c.connectionParameter("connect_timeout"), "3")
                XCTAssertEqual(c.connectionParameter("tcp_user_timeout"), "60000")
            }
        }
    }
}

/// Each thread's positions, in order, and every error, from many threads.
private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var byThread: [Int: [Int64]] = [:]
    private var errors: [any Error] = []

    func add(_ thread: Int, _ position: Int64) {
        lock.lock()
        defer { lock.unlock() }
        byThread[thread, default: []].append(position)
    }

    func fail(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        errors.append(error)
    }

    func positions(_ thread: Int) -> [Int64] {
        lock.lock()
        defer { lock.unlock() }
        return byThread[thread] ?? []
    }

    var failures: [any Error] {
        lock.lock()
        defer { lock.unlock() }
        return errors
    }
}
