import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogStore
import Foundation
import Synchronization
import Testing

@Suite struct MigratorTests {
    @Test func seedMigrationsApplyIncludingTheConcurrentIndex() throws {
        let f = try EngineFixture()
        let run = try f.migrator().up(.seed, targetURL: f.databaseURL)
        #expect(
            run.applied.map(\.name) == [
                "create_initial_schema", "add_camera_metadata", "create_counting_results_table",
                "add_performance_indexes",
            ])
        let index = try f.query(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_counting_results_camera_time'"
        )
        #expect(index.count == 1)
        #expect(try index[0].bool(0))
        #expect(try f.events(type: "MigrationRegistered").count == 4)
        #expect(try f.events(type: "MigrationStarted").count == 4)
        let applied = try f.events(type: "MigrationApplied")
        #expect(applied.count == 4)
        #expect(applied.allSatisfy { $0.data.objectValue?["appliedBy"]?.stringValue?.hasPrefix("tester") == true })
        #expect(applied.allSatisfy { $0.data.objectValue?["executionTimeMs"]?.numberValue?.int64Value != nil })
        let registered = try f.events(type: "MigrationRegistered").first {
            $0.data.objectValue?["name"] == "add_performance_indexes"
        }
        #expect(registered?.data.objectValue?["transactional"] == .bool(false))
        #expect(registered?.data.objectValue?["sql"]?.stringValue?.contains("CONCURRENTLY") == true)

        // A second run has nothing to do and records nothing.
        let head = try f.head()
        let again = try f.migrator().up(.seed, targetURL: f.databaseURL)
        #expect(again.applied.isEmpty && again.registered.isEmpty)
        #expect(try f.head() == head)
        #expect(try f.migrator().plan(.seed).isEmpty)
    }

    @Test func aChangedAppliedFileIsRefusedBeforeAnythingRuns() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "0001__create_t.sql": migrationText(up: "CREATE TABLE t (id int);", down: "DROP TABLE t;"),
                "0002__add_u.sql": migrationText(up: "CREATE TABLE u (id int);", down: "DROP TABLE u;"),
            ])
        try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        let old = try MigrationFile.parse(
            fileName: "0001__create_t.sql",
            contents: try String(contentsOfFile: dir + "/0001__create_t.sql", encoding: .utf8))
        try migrationText(up: "CREATE TABLE t (id bigint);", down: "DROP TABLE t;").write(
            toFile: dir + "/0001__create_t.sql", atomically: true, encoding: .utf8)
        try migrationText(up: "CREATE TABLE v (id int);", down: "DROP TABLE v;").write(
            toFile: dir + "/0003__add_v.sql", atomically: true, encoding: .utf8)
        let head = try f.head()
        for error in refusalsOfUpAndPlan(f, dir, "the changed file") {
            #expect(error.code == .checksumMismatch)
            #expect(error.message.contains("0001__create_t.sql"))
            #expect(error.message.contains(old.checksum))
            let new = try MigrationFile.parse(
                fileName: "0001__create_t.sql",
                contents: try String(contentsOfFile: dir + "/0001__create_t.sql", encoding: .utf8))
            #expect(error.message.contains(new.checksum))
            #expect(error.message.contains("applied by tester"))
        }
        #expect(try f.head() == head)
        #expect(try f.query("SELECT 1 FROM pg_class WHERE relname = 'v'").count == 0)
    }

    @Test func missingDependencyAndCycleAreRefusedBeforeAnythingRuns() throws {
        let f = try EngineFixture()
        let missing = try f.directory(
            "missing",
            [
                "0001__a.sql": migrationText(up: "CREATE TABLE a ();", down: nil),
                "0002__b.sql": migrationText(up: "CREATE TABLE b ();", down: nil, depends: ["nowhere"]),
            ])
        let cycle = try f.directory(
            "cycle",
            [
                "0001__a.sql": migrationText(up: "CREATE TABLE a ();", down: nil, depends: ["b"]),
                "0002__b.sql": migrationText(up: "CREATE TABLE b ();", down: nil, depends: ["a"]),
            ])
        for (dir, expected) in [
            (missing, "0002__b.sql: migration 'b' depends on 'nowhere'"), (cycle, "dependency cycle"),
        ] {
            do {
                try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
                Issue.record("accepted \(dir)")
            } catch {
                #expect(error.code == .badInput)
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        #expect(try f.head() == 0)
        #expect(try f.query("SELECT 1 FROM pg_class WHERE relname IN ('a', 'b')").count == 0)
    }

    @Test func transactionControlInAMigrationIsRefusedBeforeAnythingRuns() throws {
        let f = try EngineFixture()
        for (name, file, statement) in [
            ("rollback", "0002__undo.sql", "ROLLBACK"), ("commit", "0002__early_commit.sql", "COMMIT"),
            ("begin", "0002__open.sql", "BEGIN"),
        ] {
            let up =
                statement == "BEGIN"
                ? "BEGIN;\nCREATE TABLE two ();" : "CREATE TABLE two ();\n\(statement);\nCREATE TABLE three ();"
            let dir = try f.directory(
                name,
                [
                    "0001__one.sql": migrationText(up: "CREATE TABLE one ();", down: "DROP TABLE one;"),
                    file: migrationText(up: up, down: "DROP TABLE two;", upTransaction: statement != "BEGIN"),
                ])
            for error in refusalsOfUpAndPlan(f, dir, "\(statement) in a migration") {
                #expect(error.code == .badInput)
                #expect(error.message.contains("\(file): migration '\(file.dropFirst(6).dropLast(4))'"), "\(error)")
                #expect(error.message.contains("has \(statement) in its up SQL"), "\(error)")
            }
        }
        #expect(try f.head() == 0)
        #expect(try f.query("SELECT 1 FROM pg_class WHERE relname IN ('one', 'two', 'three')").count == 0)

        // The words in strings and function bodies are not statements.
        let fine = try f.directory(
            "fine",
            [
                "0001__words.sql": migrationText(
                    up: """
                        CREATE TABLE notes (body text);
                        INSERT INTO notes VALUES ('commit'), ('rollback; begin');
                        CREATE PROCEDURE batch() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;
                        """, down: "DROP PROCEDURE batch(); DROP TABLE notes;")
            ])
        let run = try f.migrator().up(.directory(fine), targetURL: f.databaseURL)
        #expect(run.applied.map(\.name) == ["words"])
        #expect(try f.query("SELECT count(*)::int FROM notes")[0].int(0) == 2)
    }

    /// SQL recorded before migrations were checked for transaction control (a rollback's
    /// re-apply runs it again) is caught when it runs.
    @Test func sqlThatEndsOrLeavesOpenATransactionFailsWhenItRuns() throws {
        let f = try EngineFixture()
        let target = try TargetDatabase(url: f.databaseURL)
        #expect(throws: PostgresError.self) {
            try target.run(sql: "CREATE TABLE undone ();\nROLLBACK;", transactional: true)
        }
        #expect(!target.connection.isInTransaction)
        #expect(throws: PostgresError.self) {
            try target.run(sql: "CREATE TABLE kept ();\nBEGIN;\nCREATE TABLE lost ();", transactional: false)
        }
        #expect(!target.connection.isInTransaction)
        #expect(
            try f.query("SELECT relname::text FROM pg_class WHERE relname IN ('undone', 'kept', 'lost')").map {
                try $0.string(0)
            } == ["kept"])
        try target.run(sql: "CREATE TABLE fine ();", transactional: true)
        try target.run(sql: "CREATE TABLE also_fine ();", transactional: false)
        #expect(try f.query("SELECT 1 FROM pg_class WHERE relname IN ('fine', 'also_fine')").count == 2)
    }

    @Test func targetConnectionsAreBoundedUnlessTheURLSaysOtherwise() throws {
        let f = try EngineFixture()
        let expected = [
            "connect_timeout": "10", "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
            "keepalives_count": "3", "tcp_user_timeout": "60000",
        ]
        let target = try TargetDatabase(url: f.databaseURL)
        let check = try HealthChecker.connect(f.databaseURL)
        for (name, value) in expected {
            #expect(target.connection.connectionParameter(name) == value, "\(name)")
            #expect(check.connectionParameter(name) == value, "\(name)")
        }
        let own = f.databaseURL + (f.databaseURL.contains("?") ? "&" : "?") + "connect_timeout=3&keepalives_idle=5"
        for connection in [try TargetDatabase(url: own).connection, try HealthChecker.connect(own)] {
            #expect(connection.connectionParameter("connect_timeout") == "3")
            #expect(connection.connectionParameter("keepalives_idle") == "5")
            #expect(connection.connectionParameter("keepalives_count") == "3")
        }
    }

    @Test func aMigrationHoldingAPasswordIsRefusedBeforeAnythingIsStored() throws {
        let f = try EngineFixture()
        let secret = try f.directory(
            "secret",
            [
                "0001__one.sql": migrationText(up: "CREATE TABLE one ();", down: "DROP TABLE one;"),
                "0002__link.sql": migrationText(
                    up: "SELECT dblink_connect('postgres://u:s3cretpw@h/db');", down: "SELECT 1;"),
            ])
        for error in refusalsOfUpAndPlan(f, secret, "a migration holding a password") {
            #expect(error.code == .badInput)
            #expect(
                error.message.contains("0002__link.sql: migration 'link' has a password in its up SQL"), "\(error)")
            #expect(error.message.contains(".pgpass"))
            #expect(!error.message.contains("s3cretpw"))
        }
        #expect(try f.head() == 0)
        #expect(try f.query("SELECT 1 FROM pg_class WHERE relname = 'one'").count == 0)
    }

    @Test func ordinarySQLAboutPasswordsIsStoredAsWritten() throws {
        let f = try EngineFixture()
        let up = "CREATE TABLE users (id int, password text);\nUPDATE users SET password = NULL;"
        let down = "UPDATE users SET password = 'x' WHERE password IS NULL;\nDROP TABLE users;"
        let dir = try f.directory("m", ["0001__users.sql": migrationText(up: up, down: down)])
        try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        let registered = try #require(try f.events(type: "MigrationRegistered").first?.data.objectValue)
        #expect(registered["sql"]?.stringValue == up)
        #expect(registered["rollbackSql"]?.stringValue == down)
    }

    @Test func aFailedStatementStopsTheRunWithItsSQLState() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "0001__ok.sql": migrationText(up: "CREATE TABLE ok (id int);", down: "DROP TABLE ok;"),
                "0002__broken.sql": migrationText(
                    up: "CREATE TABLE half (id int);\nINSERT INTO nowhere VALUES (1);", down: nil),
                "0003__later.sql": migrationText(up: "CREATE TABLE later (id int);", down: nil),
            ])
        do {
            try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
            Issue.record("the broken migration passed")
        } catch {
            #expect(error.code == .stepFailed)
            #expect(error.sqlState == "42P01")
            #expect(error.message.contains("0002__broken.sql"))
            #expect(error.message.contains("SQLSTATE 42P01"))
            #expect(error.message.contains("nowhere"))
        }
        let failed = try f.events(type: "MigrationFailed")
        #expect(failed.count == 1)
        #expect(failed.first?.data.objectValue?["error"]?.stringValue?.contains("42P01") == true)
        #expect(try f.events(type: "MigrationApplied").count == 1)
        #expect(try f.events(type: "MigrationStarted").count == 2)
        // The failed migration's transaction left nothing behind; the later one never ran.
        #expect(
            try f.query("SELECT relname FROM pg_class WHERE relname IN ('ok', 'half', 'later')").map {
                try $0.string(0)
            } == ["ok"])
        let status = try f.migrator().status(.directory(dir))
        #expect(status.map(\.state) == [.applied, .failed, .pending])
    }

    @Test func aMigrationLeftRunningByADeadRunIsRecordedFailedAndRunAgain() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m", ["0001__t.sql": migrationText(up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")])
        // A run that registered and started the migration, then died before its outcome.
        let file = try MigrationSource.directory(dir).load()[0]
        let metadata = EventMetadata(actor: "dead", source: "test")
        try f.store.append([
            try ProposedEvent(
                MigrationRegistered(
                    environment: "staging", name: "t", version: "0001", migrationType: .schema, sql: file.upSQL,
                    rollbackSql: file.downSQL, dependencies: [], checksum: file.checksum, transactional: true),
                metadata: metadata),
            try ProposedEvent(
                MigrationStarted(environment: "staging", name: "t", deploymentId: "dead-run"), metadata: metadata),
        ])
        #expect(try f.migrator().status(.directory(dir)).map(\.state) == [.running])
        let run = try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        #expect(run.recoveredInterrupted == ["t"])
        #expect(run.applied.map(\.name) == ["t"])
        let failed = try f.events(type: "MigrationFailed")
        #expect(failed.first?.data.objectValue?["deploymentId"] == "dead-run")
        #expect(failed.first?.data.objectValue?["error"]?.stringValue?.hasPrefix("interrupted") == true)
        #expect(try f.migrator().status(.directory(dir)).map(\.state) == [.applied])
    }

    /// A writer without the target's lock appends to the stream while a migration runs: the
    /// outcome is still recorded (folded again, retried at the new version), never lost.
    @Test func anOutcomeIsRecordedEvenWhenTheStreamMovedDuringTheSQL() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "0001__slow.sql": migrationText(
                    up: "SELECT pg_sleep(1);\nCREATE TABLE s (id int);", down: "DROP TABLE s;")
            ])
        let store: any EventStore = f.store
        let done = DispatchSemaphore(value: 0)
        // A thread of its own: tests run in parallel, and on Dispatch's shared pool (a thread per
        // core) this could start only after the migration had ended.
        Thread {
            // Once MigrationStarted is in the stream (the SQL sleeps a second after it).
            let deadline = Date().addingTimeInterval(30)
            while ((try? store.streamVersion(of: "migrations-staging")) ?? -1) < 1, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            let foreign = ProposedEvent(
                stream: "migrations-staging", type: "MigrationRegistered",
                data: [
                    "environment": "staging", "name": "elsewhere", "version": "9", "migrationType": "schema",
                    "sql": "SELECT 1;", "dependencies": [], "checksum": "x", "transactional": true,
                ])
            _ = try? store.append([foreign])
            done.signal()
        }.start()
        let run = try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        done.wait()
        #expect(run.applied.map(\.name) == ["slow"])
        let events = try f.store.readStream("migrations-staging").map(\.type)
        #expect(events == ["MigrationRegistered", "MigrationStarted", "MigrationRegistered", "MigrationApplied"])
    }

    @Test func aConcurrentIndexInsideATransactionFailsWithAHint() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "1__t.sql": migrationText(up: "CREATE TABLE t (id int);", down: "DROP TABLE t;"),
                "2__i.sql": migrationText(up: "CREATE INDEX CONCURRENTLY t_id ON t (id);", down: "DROP INDEX t_id;"),
            ])
        do {
            try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
            Issue.record("CREATE INDEX CONCURRENTLY ran inside a transaction")
        } catch {
            #expect(error.sqlState == "25001")
            #expect(error.message.contains("2__i.sql"))
            #expect(error.message.contains("-- deploylog:up transaction=false"))
        }
    }

    @Test func twoConcurrentRunsApplyASlowMigrationOnce() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "m",
            [
                "0001__runs.sql": migrationText(
                    up: "CREATE TABLE runs (id serial PRIMARY KEY);", down: "DROP TABLE runs;"),
                "0002__slow.sql": migrationText(
                    up: "SELECT pg_sleep(1);\nINSERT INTO runs DEFAULT VALUES;", down: "DELETE FROM runs;"),
                "0003__index.sql": migrationText(
                    up: "CREATE INDEX CONCURRENTLY runs_id ON runs (id);", down: "DROP INDEX CONCURRENTLY runs_id;",
                    type: "index", upTransaction: false, downTransaction: false),
            ])
        // Two stores opened on one directory, as two processes would.
        let second = try FileStore.open(at: f.directory + "/store")
        let results = Results()
        let url = f.databaseURL
        let group = DispatchGroup()
        for store in [f.store as any EventStore, second] {
            DispatchQueue.global().async(group: group) {
                do {
                    let run = try Migrator(store: store, environment: "staging", actor: "tester").up(
                        .directory(dir), targetURL: url)
                    results.add(.success(run.applied.map(\.name)))
                } catch let error as EngineError {
                    results.add(.failure(error))
                } catch {
                    results.add(.failure(EngineError(.internalError, "\(error)")))
                }
            }
        }
        group.wait()
        let all = results.all
        #expect(all.count == 2)
        let applied = all.compactMap { try? $0.get() }
        #expect(applied.count == 2, "\(all)")
        #expect(applied.flatMap { $0 }.sorted() == ["index", "runs", "slow"])
        #expect(try f.query("SELECT count(*) FROM runs")[0].int64(0) == 1)
        #expect(try f.events(type: "MigrationApplied").count == 3)
        #expect(try f.events(type: "MigrationStarted").count == 3)
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Result<[String], EngineError>] = []
        func add(_ r: Result<[String], EngineError>) {
            lock.lock()
            items.append(r)
            lock.unlock()
        }
        var all: [Result<[String], EngineError>] {
            lock.lock()
            defer { lock.unlock() }
            return items
        }
    }

    /// A migration that drops every advisory lock of its session does not drop the run's: the
    /// lock is held on a connection that runs no migration. Observed from another session
    /// before each later migration starts, while the run is in progress.
    @Test func aMigrationCannotReleaseTheRunsLock() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "unlock",
            [
                "0001__discard.sql": migrationText(up: "DISCARD ALL;", down: "SELECT 1;", upTransaction: false),
                "0002__unlock_all.sql": migrationText(up: "SELECT pg_advisory_unlock_all();", down: "SELECT 1;"),
                "0003__last.sql": migrationText(up: "CREATE TABLE last ();", down: "DROP TABLE last;"),
            ])
        let url = f.databaseURL
        let takenByOthers = Mutex<[Int: Bool]>([:])
        let run = try f.migrator().up(.directory(dir), targetURL: url) { progress in
            guard case .starting(_, let index, _) = progress, index > 1 else { return }
            // Another session: if it gets the lock, a waiting run would have too. Closing the
            // connection releases what it took.
            let other = try? PostgresConnection(url)
            let got = try? other?.query("SELECT pg_try_advisory_lock($1)", [.int8(TargetDatabase.lockKey)])[0].bool(0)
            other?.close()
            takenByOthers.withLock { $0[index] = got }
        }
        #expect(run.applied.map(\.name) == ["discard", "unlock_all", "last"])
        #expect(takenByOthers.withLock { $0 } == [2: false, 3: false])
    }

    /// Session settings a migration makes end with it: the next one of the same run gets the
    /// session the URL describes, so results do not depend on how migrations are grouped into
    /// runs.
    @Test func sessionSettingsDoNotCarryIntoTheNextMigration() throws {
        let f = try EngineFixture()
        let dir = try f.directory(
            "settings",
            [
                "0001__elsewhere.sql": migrationText(
                    up: "SET search_path TO nowhere;\nSET session_replication_role = replica;", down: "SELECT 1;",
                    upTransaction: false),
                "0002__plain.sql": migrationText(
                    up: """
                        CREATE TABLE plain (id int);
                        DO $$ BEGIN
                            IF current_setting('session_replication_role') <> 'origin' THEN
                                RAISE 'session_replication_role carried over';
                            END IF;
                        END $$;
                        """, down: "DROP TABLE plain;"),
            ])
        let run = try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
        #expect(run.applied.map(\.name) == ["elsewhere", "plain"])
        let rows = try f.query("SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = 'plain'")
        #expect(try rows.map { try $0.string(0) } == ["public"])
        let applied = try f.events(type: "MigrationApplied")
        #expect(applied.allSatisfy { $0.data.objectValue?["appliedBy"]?.stringValue?.hasPrefix("tester") == true })
    }
}

/// What `up` and then `plan` of the migrations in `dir` each threw; an issue is recorded for
/// each that accepted them (`what` names the migrations' fault).
private func refusalsOfUpAndPlan(_ f: EngineFixture, _ dir: String, _ what: String) -> [EngineError] {
    var errors: [EngineError] = []
    for attempt in 0..<2 {
        do {
            if attempt == 0 {
                try f.migrator().up(.directory(dir), targetURL: f.databaseURL)
            } else {
                _ = try f.migrator().plan(.directory(dir))
            }
            Issue.record("\(what) was accepted")
        } catch {
            errors.append(error)
        }
    }
    return errors
}
