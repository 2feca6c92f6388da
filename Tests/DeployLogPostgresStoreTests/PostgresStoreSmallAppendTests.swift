import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// Small appends in one round trip: rows computed from the store's hints (the head and stream
/// versions it last saw), written only if they still hold under the writers' lock. These tests
/// make the hints wrong on purpose — another store wrote in between, the log was made again, a
/// connection died while waiting for the lock — and check that positions, stream versions,
/// idempotent repeats and conflicts come out exactly as with right hints.
final class PostgresStoreSmallAppendTests: XCTestCase {
    private func event(_ stream: String, _ i: Int, id: EventID = .random(), expected: ExpectedVersion = .any)
        -> ProposedEvent
    {
        ProposedEvent(
            stream: stream, type: "StageCompleted",
            data: ["pipelineId": .string(stream), "stageOrder": .number(JSONNumber(i))], eventId: id,
            expectedVersion: expected, metadata: JSONObject([("actor", "ci@build-17")]))
    }

    /// Two stores of one log take turns: each append finds the other's hints stale, and still
    /// every position follows the last, every stream version its stream's, and the chain verifies.
    func testTwoStoresTakingTurnsStayGaplessAndChained() throws {
        try withTestDatabase(prefix: "pgstore_turns") { url in
            let a = try PostgresStore.create(url: url)
            let b = try PostgresStore.open(url: url)
            for i in 0..<24 {
                let store = i % 3 == 0 ? b : a
                let x = try store.append([event("pipeline-x", i)])
                XCTAssertEqual(x.positions, [Int64(2 * i + 1)])
                XCTAssertEqual(x.streamVersions, [Int64(i)])
                XCTAssertEqual(x.appendedCount, 1)
                let y = try (i % 2 == 0 ? a : b).append(
                    [event("pipeline-y", i, expected: i == 0 ? .noStream : .exact(Int64(i - 1)))])
                XCTAssertEqual(y.positions, [Int64(2 * i + 2)])
                XCTAssertEqual(y.streamVersions, [Int64(i)])
            }
            let all = try a.readAll()
            XCTAssertEqual(all.map(\.position), Array(1...48))
            XCTAssertEqual(all.filter { $0.stream == "pipeline-x" }.map(\.streamVersion), Array(0..<24))
            XCTAssertTrue(try b.verify().ok)
        }
    }

    /// A store whose hints name a version the stream is not at reports the conflict the
    /// locked path reports: the stream, the version expected and the one it is at.
    func testConflictsNameTheStreamAndBothVersionsWhateverTheHints() throws {
        try withTestDatabase(prefix: "pgstore_small_conflict") { url in
            let a = try PostgresStore.create(url: url)
            try a.append([event("pipeline-a", 0, expected: .noStream), event("pipeline-a", 1, expected: .exact(0))])
            let stale = try PostgresStore.open(url: url)
            for store in [a, stale] {
                for (expected, text) in [
                    (ExpectedVersion.exact(0), "0"), (.noStream, "-1 (no stream)"), (.exact(7), "7"),
                ] {
                    XCTAssertThrowsError(try store.append([event("pipeline-a", 2, expected: expected)])) { e in
                        let error = e as? StoreError
                        XCTAssertEqual(error?.code, .conflict)
                        XCTAssertEqual(error?.stream, "pipeline-a")
                        XCTAssertEqual(
                            error?.message, "Wrong expected version: \(text) (Stream: pipeline-a, Stream Version: 1)")
                    }
                }
                // A later event of the call expecting what the first one will not leave.
                XCTAssertThrowsError(
                    try store.append([
                        event("pipeline-a", 2, expected: .exact(3)), event("pipeline-a", 3, expected: .exact(2)),
                    ])
                ) { e in
                    XCTAssertEqual(
                        (e as? StoreError)?.message, "Wrong expected version: 3 (Stream: pipeline-a, Stream Version: 1)"
                    )
                }
            }
            XCTAssertEqual(try a.head().position, 2)
            // The stale store's hints are right now: it appends where the stream is.
            let next = try stale.append([event("pipeline-a", 2, expected: .exact(1))])
            XCTAssertEqual(next.positions, [3])
            XCTAssertEqual(next.streamVersions, [2])
            XCTAssertTrue(try a.verify().ok)
        }
    }

    /// A store that never saw some ids stored recognises them as idempotent repeats (the
    /// original positions, nothing written) and appends the rest of the call after the head.
    func testStaleHintsStillRecogniseRetriesAndAppendTheRest() throws {
        try withTestDatabase(prefix: "pgstore_small_retry") { url in
            let a = try PostgresStore.create(url: url)
            let (e1, e2, e3, e4) = (
                event("pipeline-r", 0), event("pipeline-r", 1), event("pipeline-s", 0), event("pipeline-r", 2)
            )
            try a.append([e1, e2])
            let stale = try PostgresStore.open(url: url)
            let repeated = try stale.append([e2])
            XCTAssertEqual(repeated.positions, [2])
            XCTAssertEqual(repeated.streamVersions, [1])
            XCTAssertEqual(repeated.appendedCount, 0)

            let other = try PostgresStore.open(url: url)
            let mixed = try other.append([e1, e3, e4, e3])
            XCTAssertEqual(mixed.positions, [1, 3, 4, 3])
            XCTAssertEqual(mixed.streamVersions, [0, 0, 2, 0])
            XCTAssertEqual(mixed.appendedCount, 2)
            // `a` last saw position 2: its retry of the whole call writes nothing.
            let again = try a.append([e1, e3, e4, e3])
            XCTAssertEqual(again.positions, [1, 3, 4, 3])
            XCTAssertEqual(again.appendedCount, 0)
            let all = try a.readAll()
            XCTAssertEqual(all.map(\.eventId), [e1, e2, e3, e4].map(\.eventId))
            XCTAssertTrue(try a.verify().ok)
        }
    }

    /// A row written behind the store's back puts a stream at the last version there is
    /// (`Int64.max`): an append to it, whatever it expects, and an import continuing it are
    /// conflicts (the stream has no next version), not a trap, and nothing is stored.
    func testAStreamAtTheLastVersionConflictsInsteadOfOverflowing() throws {
        try withTestDatabase(prefix: "pgstore_small_max") { url in
            let store = try PostgresStore.create(url: url)
            try PostgresConnection(url).execute(
                script: """
                    INSERT INTO deploylog.events VALUES (1, 'pipeline-max', 9223372036854775807,
                        '00000000-0000-0000-0000-000000000001', 'X', 1, now(), now(), '{}', '\\x00', 0, 0,
                        decode(repeat('00', 32), 'hex'))
                    """)
            for expected in [ExpectedVersion.any, .exact(Int64.max)] {
                XCTAssertThrowsError(try store.append([event("pipeline-max", 0, expected: expected)])) { e in
                    XCTAssertEqual((e as? StoreError)?.code, .conflict, "\(e)")
                }
            }
            let imported = RecordedEvent(
                position: 2, stream: "pipeline-max", streamVersion: 0, eventId: .random(), type: "X",
                schemaVersion: 1, occurredAt: Timestamp(microsecondsSinceEpoch: 0),
                recordedAt: Timestamp(microsecondsSinceEpoch: 0), metadata: JSONObject(), data: [:])
            XCTAssertThrowsError(try store.importRecorded([imported])) { e in
                XCTAssertEqual((e as? StoreError)?.code, .conflict, "\(e)")
            }
            XCTAssertEqual(try store.head().position, 1)
        }
    }

    /// The log is dropped and made again under a store that had appended to it: its hints name
    /// a head that is gone, and its next append still starts the new log at position 1.
    func testALogMadeAgainStartsAtOneForAStoreThatKnewTheOldOne() throws {
        try withTestDatabase(prefix: "pgstore_small_again") { url in
            let old = try PostgresStore.create(url: url)
            try old.append([event("pipeline-a", 0), event("pipeline-a", 1)])
            let admin = try PostgresConnection(url)
            try admin.execute(script: "DROP SCHEMA deploylog CASCADE")
            _ = try PostgresStore.create(url: url)
            let r = try old.append([event("pipeline-a", 0)])
            XCTAssertEqual(r.positions, [1])
            XCTAssertEqual(r.streamVersions, [0])
            XCTAssertTrue(try old.verify().ok)
        }
    }

    /// Two stores whose hints are both right queue for the writers' lock with one-round-trip
    /// appends: the second to get it must see the first one's row (its statement's snapshot is
    /// taken after the lock is granted), so it finds its guess stale and appends after it,
    /// instead of writing the same position.
    func testAppendsQueuedForTheLockSeeEachOthersRows() throws {
        try withTestDatabase(prefix: "pgstore_small_queue") { url in
            let a = try PostgresStore.create(url: url)
            let b = try PostgresStore.open(url: url)
            let first = event("pipeline-q", 0)
            try a.append([first])
            XCTAssertEqual(try b.append([first]).appendedCount, 0)  // b learns the head too
            let holder = try PostgresConnection(url)
            try holder.execute(script: "BEGIN")
            try holder.query(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("deploylog.events writers")])
            let failures = ErrorSlot()
            let done = DispatchSemaphore(value: 0)
            for (k, store) in [a, b].enumerated() {
                let e = event("pipeline-\(k)", 0)
                Thread.detachNewThread {
                    do { try store.append([e]) } catch { failures.set(error) }
                    done.signal()
                }
            }
            let watcher = try PostgresConnection(url)
            let deadline = Date(timeIntervalSinceNow: 30)
            var waiting: Int64 = 0
            while waiting < 2, Date() < deadline {
                waiting = try watcher.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'"
                )[0].int64(0)
                if waiting < 2 { usleep(5_000) }
            }
            XCTAssertEqual(waiting, 2, "both appends should wait for the lock")
            try holder.execute(script: "COMMIT")
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
            XCTAssertNil(failures.value)
            XCTAssertEqual(try a.readAll().map(\.position), [1, 2, 3])
            XCTAssertTrue(try a.verify().ok)
        }
    }

    /// Crash consistency of the one-round-trip path: the server process of an append waiting
    /// for the writers' lock is ended (`pg_terminate_backend`, as a restart would): the append
    /// fails as `unavailable`, nothing of it is stored, later appends continue the chain without
    /// a gap, and a retry with the same id stores it once.
    func testAnAppendKilledWhileWaitingForTheLockLeavesNothingAndARetryStoresOnce() throws {
        try withTestDatabase(prefix: "pgstore_small_kill") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<3).map { event("pipeline-k", $0) })
            let holder = try PostgresConnection(url)
            try holder.execute(script: "BEGIN")
            try holder.query(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("deploylog.events writers")])
            let doomed = event("pipeline-k", 3)
            let failure = ErrorSlot()
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                do { try store.append([doomed]) } catch { failure.set(error) }
                done.signal()
            }
            let watcher = try PostgresConnection(url)
            var killed = false
            let deadline = Date(timeIntervalSinceNow: 60)
            while !killed, Date() < deadline {
                let rows = try watcher.query(
                    """
                    SELECT pid FROM pg_stat_activity
                    WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1) AND wait_event = 'advisory'
                    """, [.int4(holder.backendPID)])
                if let pid = rows.first.map({ try? $0.int32(0) }) ?? nil {
                    killed = try watcher.query("SELECT pg_terminate_backend($1)", [.int4(pid)])[0].bool(0)
                } else {
                    usleep(5_000)
                }
            }
            XCTAssertTrue(killed, "the append was never seen waiting for the lock")
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
            let error = try XCTUnwrap(failure.value as? StoreError, "\(String(describing: failure.value))")
            XCTAssertEqual(error.code, .unavailable)
            try holder.execute(script: "COMMIT")
            XCTAssertEqual(try store.head().position, 3, "the killed append left nothing")

            let other = event("pipeline-k", 4)
            XCTAssertEqual(try store.append([other]).positions, [4])
            let retry = try store.append([doomed])
            XCTAssertEqual(retry.positions, [5])
            XCTAssertEqual(retry.streamVersions, [4])
            XCTAssertEqual(try store.append([doomed]).appendedCount, 0)
            let counts = try watcher.query(
                "SELECT count(*), count(DISTINCT event_id), max(position) FROM deploylog.events")[0]
            XCTAssertEqual(try counts.int64(0), 5)
            XCTAssertEqual(try counts.int64(1), 5)
            XCTAssertEqual(try counts.int64(2), 5)
            XCTAssertTrue(try store.verify().ok)
        }
    }
}
