import DeployLogEngine
import DeployLogEvents
import Testing

@Suite struct MigrationFileTests {
    @Test func parsesHeadersUpAndDown() throws {
        let text = """
            -- deploylog:type index
            -- deploylog:depends create_counting_results_table, add_camera_metadata
            -- deploylog:up transaction=false
            CREATE INDEX CONCURRENTLY idx ON counting_results(camera_id, created_at DESC);
            -- deploylog:down transaction=false
            DROP INDEX CONCURRENTLY idx;
            """
        let m = try MigrationFile.parse(fileName: "0004__add_indexes.sql", contents: text)
        #expect(m.version == "0004")
        #expect(m.name == "add_indexes")
        #expect(m.type == .index)
        #expect(m.dependencies == ["create_counting_results_table", "add_camera_metadata"])
        #expect(m.upSQL == "CREATE INDEX CONCURRENTLY idx ON counting_results(camera_id, created_at DESC);")
        #expect(m.downSQL == "DROP INDEX CONCURRENTLY idx;")
        #expect(!m.upTransactional)
        #expect(!m.downTransactional)
        // The file text written back parses to the same migration.
        #expect(try MigrationFile.parse(fileName: m.fileName, contents: m.fileText) == m)
    }

    @Test func withoutMarkersTheFileIsUpSQLOfTypeSchema() throws {
        let m = try MigrationFile.parse(fileName: "1__t.sql", contents: "-- a comment\nCREATE TABLE t (id int);\n")
        #expect(m.type == .schema)
        #expect(m.upSQL.hasSuffix("CREATE TABLE t (id int);"))
        #expect(m.downSQL == nil)
        #expect(m.upTransactional)
    }

    @Test func checksumCoversUpDownTypeAndDependencies() throws {
        let base = try MigrationFile.parse(
            fileName: "1__t.sql", contents: migrationText(up: "CREATE TABLE t ();", down: "DROP TABLE t;"))
        let variants = [
            migrationText(up: "CREATE TABLE t (x int);", down: "DROP TABLE t;"),
            migrationText(up: "CREATE TABLE t ();", down: "DROP TABLE IF EXISTS t;"),
            migrationText(up: "CREATE TABLE t ();", down: "DROP TABLE t;", type: "data"),
            migrationText(up: "CREATE TABLE t ();", down: "DROP TABLE t;", depends: ["other"]),
            migrationText(up: "CREATE TABLE t ();", down: nil),
        ]
        var sums: Set<String> = [base.checksum]
        for v in variants { sums.insert(try MigrationFile.parse(fileName: "1__t.sql", contents: v).checksum) }
        #expect(sums.count == variants.count + 1)
        #expect(base.checksum.count == 64)
    }

    /// The checksum's definition, pinned: the catalog's MigrationRegistered example carries it.
    @Test func checksumMatchesTheCatalogExample() throws {
        let m = MigrationFile(
            fileName: "1.3.0__add_performance_indexes.sql", version: "1.3.0", name: "add_performance_indexes",
            type: .index,
            dependencies: ["create_counting_results_table"],
            upSQL:
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_counting_results_camera_time\n  ON counting_results(camera_id, created_at DESC);",
            downSQL: "DROP INDEX IF EXISTS idx_counting_results_camera_time;", upTransactional: false,
            downTransactional: true)
        #expect(m.checksum == "c2da07905889914dcccf1cd960eb28c3cbae958fe839cee83b6eb2569a517872")
    }

    @Test func badFilesAreNamedWithTheirLine() {
        let cases: [(String, String, String)] = [
            ("1__t.sql", "-- deploylog:type table\nSELECT 1;", "1__t.sql:1: unknown migration type 'table'"),
            ("1__t.sql", "-- deploylog:up transaction=maybe\nSELECT 1;", "1__t.sql:1: expected"),
            ("1__t.sql", "-- deploylog:frobnicate\nSELECT 1;", "1__t.sql:1: unknown header"),
            ("1__t.sql", "-- deploylog:up\n-- deploylog:down\nSELECT 1;", "1__t.sql: no up SQL"),
            (
                "1__t.sql", "-- deploylog:up\nSELECT 1;\n-- deploylog:down\n",
                "1__t.sql: -- deploylog:down is followed by no SQL"
            ),
            ("t.sql", "SELECT 1;", "t.sql: a migration file must be named"),
            ("1__t.sql", "-- deploylog:depends t\nSELECT 1;", "depends on itself"),
        ]
        for (name, text, expected) in cases {
            do {
                _ = try MigrationFile.parse(fileName: name, contents: text)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.code == .badInput)
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }

    @Test func statementsSplitLikePsql() {
        let sql = """
            CREATE FUNCTION f() RETURNS text AS $body$ SELECT 'a;b'; $body$ LANGUAGE sql;
            -- a comment; with a semicolon
            INSERT INTO "we;ird" VALUES ('it''s; fine', E'back\\'slash;');
            /* block; /* nested; */ still */ SELECT $1;
            """
        let statements = SQLScript.statements(in: sql)
        #expect(statements.count == 3)
        #expect(statements[0].hasPrefix("CREATE FUNCTION"))
        #expect(statements[1].hasSuffix("E'back\\'slash;')"))
        #expect(statements[2].hasSuffix("SELECT $1"))
        #expect(SQLScript.statements(in: "-- only\n/* comments */ ;").isEmpty)
    }

    @Test func aStandardSQLFunctionBodyIsOneStatement() {
        let sql = """
            CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql
            BEGIN ATOMIC
              SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;
              SELECT x;
            END;
            SELECT g(1);
            """
        let statements = SQLScript.statements(in: sql)
        #expect(statements.count == 2)
        #expect(statements[0].hasSuffix("END"))
        #expect(statements[1] == "SELECT g(1)")
    }

    @Test func transactionControlIsFoundOnlyAsAStatement() {
        for sql in [
            "CREATE TABLE t ();\nROLLBACK;", "INSERT INTO t VALUES (1); commit;", "BEGIN;\nCREATE TABLE t ();",
            "-- note\n/* c */ END", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SAVEPOINT s",
            "RELEASE SAVEPOINT s", "ABORT", "PREPARE TRANSACTION 'x'", "COMMIT PREPARED 'x'",
        ] {
            #expect(SQLScript.transactionControl(in: sql) != nil, "\(sql)")
        }
        #expect(SQLScript.transactionControl(in: "SELECT 1;\nrollback;") == "ROLLBACK")
        #expect(SQLScript.transactionControl(in: "COMMIT PREPARED 'x'") == "COMMIT PREPARED")
        for sql in [
            "SELECT 'commit'; SELECT \"rollback\" FROM t", "-- COMMIT;\nSELECT 1; /* ROLLBACK; */",
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;",
            "DO $body$ BEGIN ROLLBACK; END $body$", "PREPARE q AS SELECT 1", "CREATE TABLE commits (ended bool)",
            "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
        ] {
            #expect(SQLScript.transactionControl(in: sql) == nil, "\(sql)")
        }
    }

    @Test func dependencyOrderVersionOrderBreaksTies() throws {
        func file(_ v: String, _ n: String, _ deps: [String] = []) throws -> MigrationFile {
            try MigrationFile.parse(
                fileName: "\(v)__\(n).sql", contents: migrationText(up: "SELECT 1;", down: nil, depends: deps))
        }
        let files = [try file("1", "a", ["c"]), try file("2", "b"), try file("10", "c"), try file("3", "d", ["a"])]
        let order = try MigrationOrder.sort(files, satisfied: [])
        #expect(order.map(\.name) == ["b", "c", "a", "d"])

        #expect(throws: EngineError.self) { try MigrationOrder.sort([try file("1", "a", ["zzz"])], satisfied: []) }
        do {
            _ = try MigrationOrder.sort([try file("1", "a", ["b"]), try file("2", "b", ["a"])], satisfied: [])
            Issue.record("a cycle was accepted")
        } catch let error as EngineError {
            #expect(
                error.message.contains("dependency cycle: a (1__a.sql) -> b (2__b.sql) -> a (1__a.sql)"),
                "\(error.message)")
        }
    }
}
