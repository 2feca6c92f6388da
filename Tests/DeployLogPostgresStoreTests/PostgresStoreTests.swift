import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// What the PostgreSQL store adds to the shared contract: the schema, append-only triggers,
/// large appends, verification, and lost connections.
final class PostgresStoreTests: XCTestCase {
    private func event(_ stream: String, _ i: Int, id: EventID = .random(), expected: ExpectedVersion = .any)
        -> ProposedEvent
    {
        ProposedEvent(
            stream: stream, type: "StageCompleted",
            data: [
                "pipelineId": .string(stream), "stageOrder": .number(JSONNumber(i)),
                "output": .string(String(repeating: "ok ", count: i % 7)),
            ],
            eventId: id, expectedVersion: expected, metadata: JSONObject([("actor", "ci@build-17")]))
    }

    func testOpenNeedsInitAndInitIsIdempotent() throws {
        try withTestDatabase(prefix: "pgstore_init") { url in
            XCTAssertThrowsError(try PostgresStore.open(url: url)) { e in
                XCTAssertEqual((e as? StoreError)?.code, .notFound)
                XCTAssertTrue("\(e)".contains("run `deploylog --store URL init`"), "\(e)")
            }
            let store = try PostgresStore.create(url: url)
            try store.append((0..<5).map { event("pipeline-a", $0) })
            let again = try PostgresStore.create(url: url)
            XCTAssertEqual(try again.head(), try store.head())
            XCTAssertEqual(try PostgresStore.open(url: url).readAll().count, 5)
        }
    }

    /// `create` on a complete store reads and changes nothing: no function, trigger or
    /// dictionary row is rewritten, and it does not wait for an appender's open transaction
    /// (`CREATE OR REPLACE TRIGGER` would lock the table). So a role that may only read and
    /// append (USAGE on the schema, SELECT and INSERT on its two tables) can create it, as
    /// `copy --to` does to resume, and append. A store missing a trigger is repaired by its
    /// owner; that role is told it may not.
    func testCreatingAnExistingStoreChangesNothingAndNeedsOnlyAnAppendersPrivileges() throws {
        try withTestDatabase(prefix: "pgstore_reinit") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<3).map { event("pipeline-a", $0) })
            let owner = try PostgresConnection(url)
            func setUp() throws -> [String] {
                try owner.query(
                    """
                    SELECT 'trigger ' || tgname || ' ' || xmin::text FROM pg_trigger
                    WHERE tgrelid IN ('deploylog.events'::regclass, 'deploylog.dictionaries'::regclass)
                        AND NOT tgisinternal
                    UNION ALL SELECT 'function ' || proname || ' ' || xmin::text FROM pg_proc
                    WHERE pronamespace = 'deploylog'::regnamespace
                    UNION ALL SELECT 'dictionary ' || id || ' ' || xmin::text FROM deploylog.dictionaries
                    ORDER BY 1
                    """
                ).map { try $0.string(0) }
            }
            let before = try setUp()
            XCTAssertEqual(before.count, 4 + 1 + 1, "\(before)")

            // An appender mid-transaction; `create` gives up after 2 s of waiting for a lock.
            let appender = try PostgresConnection(url)
            try appender.execute(script: "BEGIN; LOCK TABLE deploylog.events IN ROW EXCLUSIVE MODE")
            let impatient = url + (url.contains("?") ? "&" : "?") + "options=-c%20lock_timeout%3D2s"
            XCTAssertEqual(try PostgresStore.create(url: impatient).head(), try store.head())
            try appender.execute(script: "COMMIT")
            XCTAssertEqual(try setUp(), before)

            let role = "deploylog_appender_" + UUID().uuidString.lowercased().prefix(8)
            let quoted = try PostgresIdentifier.quote(role)
            try owner.execute(
                script: """
                    CREATE ROLE \(quoted) LOGIN PASSWORD 'appender-Pa55';
                    GRANT USAGE ON SCHEMA deploylog TO \(quoted);
                    GRANT SELECT, INSERT ON deploylog.events, deploylog.dictionaries TO \(quoted)
                    """)
            defer { _ = try? owner.execute(script: "DROP OWNED BY \(quoted); DROP ROLE \(quoted)") }
            var components = try XCTUnwrap(URLComponents(string: url))
            components.user = role
            components.password = "appender-Pa55"
            let roleURL = try XCTUnwrap(components.string)

            let asRole = try PostgresStore.create(url: roleURL)
            try asRole.append((0..<2).map { event("pipeline-b", $0) })  // one INSERT
            try asRole.append((2..<152).map { event("pipeline-b", $0) })  // COPY
            XCTAssertEqual(try store.readAll().count, 3 + 152)
            XCTAssertTrue(try store.verify().ok)
            XCTAssertEqual(try setUp(), before)

            // A trigger dropped: the role may not restore it and is told so; the owner does.
            try owner.execute(script: "DROP TRIGGER events_no_truncate ON deploylog.events")
            XCTAssertThrowsError(try PostgresStore.create(url: roleURL)) { e in
                XCTAssertEqual((e as? StoreError)?.code, .io, "\(e)")
                XCTAssertTrue(
                    "\(e)".contains(
                        "lacks its append-only trigger events.events_no_truncate, and this role may not restore it ("),
                    "\(e)")
                XCTAssertTrue("\(e)".contains("as the owner of deploylog.events"), "\(e)")
            }
            _ = try PostgresStore.create(url: url)
            XCTAssertThrowsError(try owner.query("TRUNCATE deploylog.events")) { e in
                XCTAssertEqual((e as? PostgresError)?.sqlState, "42501", "\(e)")
            }
            XCTAssertEqual(try PostgresStore.create(url: roleURL).head().position, 3 + 152)
        }
    }

    func testAnUnreachableServerIsUnavailableAndThePasswordIsNotShown() throws {
        XCTAssertThrowsError(try PostgresStore.open(url: "postgresql://deployer:hunter2@127.0.0.1:1/none")) { e in
            let error = e as? StoreError
            XCTAssertEqual(error?.code, .unavailable)
            XCTAssertFalse("\(e)".contains("hunter2"), "\(e)")
            XCTAssertTrue("\(e)".contains("postgresql://deployer:***@127.0.0.1:1/none"), "\(e)")
        }
    }

    func testAMalformedURLIsAnInvalidRequest() throws {
        XCTAssertThrowsError(try PostgresStore.open(url: "postgresql://deployer:hunter2@127.0.0.1/db?frobnicate=1")) {
            e in
            XCTAssertEqual((e as? StoreError)?.code, .invalidRequest)
            XCTAssertFalse("\(e)".contains("hunter2"), "\(e)")
        }
    }

    /// The table is append-only whoever asks: UPDATE, DELETE and TRUNCATE fail (SQLSTATE 42501),
    /// and the rows are unchanged.
    func testUpdateDeleteAndTruncateAreRejected() throws {
        try withTestDatabase(prefix: "pgstore_append_only") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<3).map { event("pipeline-a", $0) })
            let before = try store.readAll()
            let connection = try PostgresConnection(url)
            for sql in [
                "UPDATE deploylog.events SET type = 'Forged' WHERE position = 2",
                "UPDATE deploylog.events SET type = 'Forged' WHERE position = 999",
                "DELETE FROM deploylog.events WHERE position = 3",
                "TRUNCATE deploylog.events",
                "DELETE FROM deploylog.dictionaries",
                "TRUNCATE deploylog.dictionaries CASCADE",
            ] {
                XCTAssertThrowsError(try connection.query(sql), sql) { e in
                    let error = e as? PostgresError
                    XCTAssertEqual(error?.sqlState, "42501", sql)
                    XCTAssertTrue(error?.message.contains("is append-only") == true, "\(e)")
                }
            }
            XCTAssertEqual(try store.readAll(), before)
            XCTAssertTrue(try store.verify().ok)
        }
    }

    /// The writers' lock leaves (auto)VACUUM and ANALYZE alone: an append goes through while
    /// another session holds the SHARE UPDATE EXCLUSIVE lock they take; and it waits for a
    /// writer holding the writers' lock until that one commits.
    func testAppendsDoNotWaitForVacuumButForEachOther() throws {
        try withTestDatabase(prefix: "pgstore_locks") { url in
            let store = try PostgresStore.create(url: url)
            let vacuum = try PostgresConnection(url)
            try vacuum.execute(script: "BEGIN; LOCK TABLE deploylog.events IN SHARE UPDATE EXCLUSIVE MODE")
            let (first, next) = (event("pipeline-a", 0), event("pipeline-a", 1))
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                _ = try? store.append([first])
                done.signal()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 20), .success, "an append waited for a VACUUM's lock")
            try vacuum.execute(script: "COMMIT")
            XCTAssertEqual(try store.head().position, 1)

            let writer = try PostgresConnection(url)
            try writer.execute(script: "BEGIN")
            try writer.query(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("deploylog.events writers")])
            let second = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                _ = try? store.append([next])
                second.signal()
            }
            XCTAssertEqual(second.wait(timeout: .now() + 1), .timedOut, "an append did not wait for the writers' lock")
            try writer.execute(script: "COMMIT")
            XCTAssertEqual(second.wait(timeout: .now() + 20), .success)
            XCTAssertEqual(try store.readAll().map(\.position), [1, 2])
        }
    }

    /// Appends past the COPY threshold round-trip, read back in small pages with filters, and
    /// carry exactly the file store's hashes for the same events.
    func testLargeAppendsByCopyReadInPagesWithTheFileStoresHashes() throws {
        try withTestDatabase(prefix: "pgstore_large") { url in
            var options = PostgresStore.Options()
            options.readPageSize = 97
            let fixed = Timestamp(iso8601: "2026-11-20T10:00:00Z")!
            options.clock = { fixed }
            let store = try PostgresStore.create(url: url, options: options)
            let events = (0..<3000).map { event($0 % 2 == 0 ? "pipeline-even" : "environment-odd", $0) }
            let result = try store.append(events)
            XCTAssertEqual(result.positions, Array(1...3000))
            XCTAssertEqual(result.appendedCount, 3000)
            let all = try store.readAll()
            XCTAssertEqual(all.map(\.position), Array(1...3000))
            XCTAssertEqual(all.map(\.eventId), events.map(\.eventId))
            XCTAssertEqual(try store.readAll(from: 2001, filter: EventFilter(categories: ["environment"])).count, 500)
            XCTAssertEqual(try store.readAll(from: 10, limit: 250).map(\.position), Array(10...259))
            XCTAssertEqual(try store.readStream("pipeline-even").map(\.streamVersion), Array(0..<1500))
            // A retry of the whole batch is a no-op by COPY's size too.
            XCTAssertEqual(try store.append(events).appendedCount, 0)

            // The same events in a file store, with the same clock: the same chain.
            try withTemporaryDirectory { dir in
                var fileOptions = FileStore.Options()
                fileOptions.clock = { fixed }
                let file = try FileStore.create(at: dir + "/store", options: fileOptions)
                try file.append(events)
                XCTAssertEqual(try file.head(), try store.head())
                XCTAssertEqual(try file.readAll(), all)
            }
            let report = try store.verify()
            XCTAssertTrue(report.ok, "\(String(describing: report.problem))")
            XCTAssertEqual(report.events, 3000)
        }
    }

    /// A row changed behind the triggers' back (a superuser disabling them) is found by
    /// `verify`, which names its position; so is a checkpoint the log no longer extends.
    func testVerifyNamesTheFirstTamperedPosition() throws {
        try withTestDatabase(prefix: "pgstore_tamper") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<20).map { event("pipeline-a", $0) })
            let checkpoint = try store.checkpoint(at: 15)
            XCTAssertTrue(try store.verify(checkpoint: checkpoint).ok)
            let connection = try PostgresConnection(url)
            try connection.execute(script: "ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only")
            let other = try store.readAll(from: 3, limit: 1)[0]
            try connection.query(
                "UPDATE deploylog.events SET payload = (SELECT payload FROM deploylog.events WHERE position = 3) WHERE position = 12"
            )
            try connection.execute(script: "ALTER TABLE deploylog.events ENABLE TRIGGER events_append_only")
            let report = try store.verify()
            XCTAssertEqual(report.problem?.position, 12, "\(String(describing: report.problem))")
            XCTAssertEqual(report.head.position, 11)
            XCTAssertNotEqual(other.position, 12)
            XCTAssertThrowsError(try store.readAll(from: 12, limit: 1)) { e in
                XCTAssertEqual((e as? StoreError)?.code, .corruption)
            }
        }
    }

    /// Every column that repeats a field of the event serves SQL (time ranges, reports on
    /// `metadata`), so `verify` checks each against the payload: one changed behind the
    /// triggers' back — by a microsecond, or the metadata only rewritten with a space — is
    /// named with its position, and the log verifies again once it is put back.
    func testVerifyChecksEveryColumnThatRepeatsTheEvent() throws {
        try withTestDatabase(prefix: "pgstore_columns") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<10).map { event("pipeline-a", $0) })
            let c = try PostgresConnection(url)
            try c.execute(
                script: """
                    ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only;
                    CREATE TABLE kept AS SELECT * FROM deploylog.events WHERE position = 7
                    """)
            let changes = [
                ("stream", "'pipeline-b'"), ("stream_version", "stream_version + 100"),
                ("event_id", "gen_random_uuid()"), ("type", "'StageFailed'"),
                ("schema_version", "schema_version + 1"),
                ("occurred_at", "occurred_at + interval '1 microsecond'"),
                ("recorded_at", "recorded_at - interval '1 day'"),
                ("metadata", #"'{"actor":"someone-else"}'"#), ("metadata", #"'{ "actor":"ci@build-17"}'"#),
            ]
            for (column, value) in changes {
                try c.query("UPDATE deploylog.events SET \(column) = \(value) WHERE position = 7")
                let report = try store.verify()
                XCTAssertEqual(report.problem?.position, 7, "\(column) = \(value)")
                XCTAssertEqual(
                    report.problem?.message, "the row's \(column) differs from its event's", "\(column) = \(value)")
                XCTAssertEqual(report.head.position, 6)
                try c.query(
                    "UPDATE deploylog.events e SET \(column) = k.\(column) FROM kept k WHERE e.position = k.position")
                XCTAssertTrue(try store.verify().ok, "\(column) put back")
            }
        }
    }

    /// A large append (COPY) looks up only its first and last ids before writing: stored ids
    /// anywhere in the batch — first, last, or only in the middle, which the unique index
    /// finds — still get their original positions, and the new events are stored once, after
    /// the head, in order.
    func testLargeAppendsRecogniseStoredIdsAnywhereInTheBatch() throws {
        try withTestDatabase(prefix: "pgstore_large_retry") { url in
            let store = try PostgresStore.create(url: url)
            let stored = (0..<300).map { event("pipeline-a", $0) }
            try store.append(stored)
            var head: Int64 = 300
            for (k, at) in [150, 0, 199].enumerated() {
                var batch = (0..<199).map { event("pipeline-b\(k)", $0) }
                batch.insert(stored[at], at: at)
                let r = try store.append(batch)
                XCTAssertEqual(r.appendedCount, 199, "stored id at \(at)")
                var expected = Array((head + 1)...(head + 199))
                expected.insert(Int64(at + 1), at: at)
                XCTAssertEqual(r.positions, expected, "stored id at \(at)")
                XCTAssertEqual(r.streamVersions[at], Int64(at))
                head += 199
            }
            XCTAssertEqual(try store.append(stored).appendedCount, 0)
            // A stored event in the middle whose expected version no longer holds is a repeat,
            // not a conflict; the event after it expects the version it was stored at.
            let repeated = event("pipeline-a", 300, expected: .exact(299))
            try store.append([repeated])
            head += 1
            var batch = (0..<150).map { event("pipeline-c", $0) }
            batch += [repeated, event("pipeline-a", 301, expected: .exact(300))]
            batch += (150..<300).map { event("pipeline-c", $0) }
            let r = try store.append(batch)
            XCTAssertEqual(r.appendedCount, 301)
            XCTAssertEqual(r.positions[150], head)
            XCTAssertEqual(r.positions[151], head + 151)
            XCTAssertEqual(r.streamVersions[150...151], [300, 301])
            head += 301
            XCTAssertEqual(try store.head().position, head)
            let counts = try PostgresConnection(url).query(
                "SELECT count(*), count(DISTINCT event_id), max(position) FROM deploylog.events")[0]
            XCTAssertEqual(try counts.int64(0), head)
            XCTAssertEqual(try counts.int64(1), head)
            XCTAssertEqual(try counts.int64(2), head)
            XCTAssertTrue(try store.verify().ok)
        }
    }

    /// Fields the table cannot hold as the payload has them are refused as invalid requests
    /// before anything is stored, alike whether the rows would go by INSERT or by COPY (a batch
    /// of `copyThreshold`), appended or imported: a time too far before 2000-01-01 for a
    /// `timestamptz` counted from it (COPY used to trap on it), and a `schemaVersion` beyond
    /// `integer` (it used to be clamped, and `verify` then reported the row as corrupt).
    func testFieldsTheTableCannotHoldAreRefusedBeforeAnythingIsStored() throws {
        try withTestDatabase(prefix: "pgstore_out_of_range") { url in
            let store = try PostgresStore.create(url: url)
            try store.append([event("pipeline-a", 0)])
            let large = PostgresStore.Options().copyThreshold
            let early = Timestamp(microsecondsSinceEpoch: Int64.min + 1)
            let wide = [Int(Int32.max) + 1, Int(Int32.min) - 1]
            for size in [1, 3, large] {
                var bad = [event("pipeline-b", 0), event("pipeline-b", 0), event("pipeline-b", 0)]
                bad[0].occurredAt = early
                bad[1].schemaVersion = wide[0]
                bad[2].schemaVersion = wide[1]
                for e in bad {
                    var batch = (1..<size).map { event("pipeline-c", $0) }
                    batch.insert(e, at: batch.count / 2)
                    XCTAssertThrowsError(try store.append(batch), "\(size)") { error in
                        XCTAssertEqual((error as? StoreError)?.code, .invalidRequest, "\(error)")
                    }
                    let recorded = batch.enumerated().map { i, p in
                        RecordedEvent(
                            position: Int64(2 + i), stream: "import-\(i)", streamVersion: 0, eventId: p.eventId,
                            type: p.type, schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? .now(),
                            recordedAt: .now(), metadata: p.metadata, data: p.data)
                    }
                    XCTAssertThrowsError(try store.importRecorded(recorded), "\(size)") { error in
                        XCTAssertEqual((error as? StoreError)?.code, .invalidRequest, "\(error)")
                    }
                }
            }
            var one = event("pipeline-b", 0)
            one.schemaVersion = wide[0]
            XCTAssertThrowsError(try store.append([one])) { error in
                XCTAssertEqual(
                    (error as? StoreError)?.message,
                    "cannot store event \(one.eventId) (Stream: pipeline-b): schemaVersion 2147483648 "
                        + "(-2147483648…2147483647) is out of PostgreSQL's range")
            }
            XCTAssertEqual(try PostgresConnection(url).query("SELECT count(*) FROM deploylog.events")[0].int64(0), 1)
            XCTAssertEqual(try store.append([event("pipeline-b", 0)]).positions, [2])
            XCTAssertTrue(try store.verify().ok)
        }
    }

    /// After the server ends every session (a restart, a failover; here
    /// `pg_terminate_backend`), the store's pooled connections are all dead: the next
    /// operations notice it when they take one and open a new one, and none fails.
    func testPooledConnectionsTheServerEndedAreReplacedNotFailed() throws {
        try withTestDatabase(prefix: "pgstore_pool") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<3).map { event("pipeline-a", $0) })
            // Several connections in the pool: reads at once, each on its own.
            DispatchQueue.concurrentPerform(iterations: 4) { _ in _ = try? store.readAll() }
            let admin = try PostgresConnection(url)
            let others =
                "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            XCTAssertGreaterThan(try admin.query("SELECT count(pg_terminate_backend(pid)) \(others)")[0].int64(0), 0)
            for _ in 0..<100 where try admin.query("SELECT count(*) \(others)")[0].int64(0) > 0 { usleep(50_000) }
            for k in 3..<8 {
                XCTAssertEqual(try store.append([event("pipeline-a", k)]).positions, [Int64(k + 1)])
                XCTAssertEqual(try store.head().position, Int64(k + 1))
            }
            XCTAssertEqual(try store.readAll().count, 8)
        }
    }

    /// A large append decides each event while its COPY is under way: an event whose expected
    /// version does not hold, after thousands of rows were already sent (or as the very last
    /// event), fails the whole append with the conflict, naming the stream and both versions;
    /// nothing of the batch is stored, and the store's next append takes the right head.
    func testALargeAppendWithAConflictLateInTheBatchStoresNothing() throws {
        try withTestDatabase(prefix: "pgstore_large_conflict") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<5).map { event("pipeline-x", $0) })
            for at in [3_000, 4_999] {
                var batch = (0..<4_999).map { event("pipeline-y", $0) }
                batch.insert(event("pipeline-x", 5, expected: .exact(2)), at: at)
                XCTAssertThrowsError(try store.append(batch), "conflict at \(at)") { error in
                    let e = error as? StoreError
                    XCTAssertEqual(e?.code, .conflict, "\(error)")
                    XCTAssertEqual(e?.stream, "pipeline-x")
                    XCTAssertTrue(e?.message.contains("Stream Version: 4") == true, "\(error)")
                }
                XCTAssertEqual(try store.head().position, 5)
                let count = try PostgresConnection(url).query("SELECT count(*) FROM deploylog.events")[0]
                XCTAssertEqual(try count.int64(0), 5)
            }
            // A third event of a stream that does not exist yet expects "no stream": a conflict
            // found from the batch's own events, the stream having been created earlier in it.
            var batch = (0..<3_000).map { event("pipeline-z", $0) }
            batch.append(event("pipeline-z", 3_000, expected: .noStream))
            XCTAssertThrowsError(try store.append(batch)) { error in
                XCTAssertEqual((error as? StoreError)?.code, .conflict, "\(error)")
            }
            let r = try store.append((0..<2_000).map { event("pipeline-y", $0) })
            XCTAssertEqual(r.positions.first, 6)
            XCTAssertEqual(r.positions.last, 2_005)
            XCTAssertEqual(try store.readStream("pipeline-x").count, 5)
            XCTAssertEqual(try store.readStream("pipeline-z").count, 0)
            XCTAssertTrue(try store.verify().ok)
        }
    }

    /// The connection of an append is killed (`pg_terminate_backend`, as a server restart
    /// would) while its COPY is running: the append fails with a clear `unavailable` error,
    /// nothing of it is stored, and a retry with the same event ids stores each once.
    func testAConnectionLostMidAppendFailsClearlyAndARetryLeavesNoDuplicates() throws {
        try withTestDatabase(prefix: "pgstore_restart") { url in
            let store = try PostgresStore.create(url: url)
            let first = (0..<1000).map { event("pipeline-a", $0) }
            try store.append(first)
            let second = (0..<60_000).map { event("pipeline-b", $0) }
            let failure = ErrorSlot()
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                do { try store.append(first + second) } catch { failure.set(error) }
                done.signal()
            }
            // Wait for the COPY to be under way, then end its server process.
            let watcher = try PostgresConnection(url)
            var killed = false
            let deadline = Date(timeIntervalSinceNow: 120)
            while !killed, Date() < deadline {
                let rows = try watcher.query(
                    """
                    SELECT pid FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'COPY deploylog.events%'
                    """)
                if let pid = rows.first.map({ try? $0.int32(0) }) ?? nil {
                    killed = try watcher.query("SELECT pg_terminate_backend($1)", [.int4(pid)])[0].bool(0)
                } else {
                    usleep(5_000)
                }
            }
            XCTAssertTrue(killed, "the COPY was never seen")
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
            let error = try XCTUnwrap(failure.value as? StoreError, "\(String(describing: failure.value))")
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.message.contains("is unavailable while appending"), error.message)
            XCTAssertEqual(try store.head().position, 1000, "the interrupted transaction left nothing")

            let retry = try store.append(first + second)
            XCTAssertEqual(retry.appendedCount, second.count)
            XCTAssertEqual(Array(retry.positions.prefix(1000)), Array(1...1000))
            XCTAssertEqual(try store.append(first + second).appendedCount, 0)
            let counts = try watcher.query(
                "SELECT count(*), count(DISTINCT event_id), max(position) FROM deploylog.events")[0]
            XCTAssertEqual(try counts.int64(0), 61_000)
            XCTAssertEqual(try counts.int64(1), 61_000)
            XCTAssertEqual(try counts.int64(2), 61_000)
            XCTAssertTrue(try store.verify().ok)
        }
    }
}

/// One error, set from another thread.
final class ErrorSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) {
        lock.lock()
        error = e
        lock.unlock()
    }
    var value: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}
