import DeployLogPostgres
import DeployLogTestSupport
import Foundation
import XCTest

final class ConnectionTests: PostgresTestCase {
    func testConnectQueryAndClose() throws {
        let connection = try connect()
        XCTAssertTrue(connection.isOpen)
        XCTAssertGreaterThanOrEqual(connection.serverVersion, 150_000)
        XCTAssertEqual(connection.parameterStatus("server_encoding"), "UTF8")
        let pid = try connection.query("SELECT pg_backend_pid()")[0].int32(0)
        XCTAssertEqual(pid, connection.backendPID)
        connection.close()
        XCTAssertFalse(connection.isOpen)
        connection.close()  // twice is harmless
        let error = expectError(try connection.query("SELECT 1"))
        XCTAssertEqual(error?.kind, .connection)
    }

    func testConninfoStringAndPassThroughParameters() throws {
        let url = try makeDatabase(prefix: "conninfo")
        let components = try XCTUnwrap(URLComponents(string: url))
        let database = String(components.path.dropFirst())
        // conninfo form, with libpq parameters passed through.
        let connection = try PostgresConnection(
            "host=\(components.host ?? "") port=\(components.port ?? 5432) dbname=\(database) "
                + "user=\(components.user ?? "postgres") application_name=deploylog_test sslmode=disable")
        XCTAssertEqual(try connection.query("SELECT current_database()")[0].string(0), database)
        XCTAssertEqual(connection.parameterStatus("application_name"), "deploylog_test")
        // URL form with query parameters.
        let withOptions = try PostgresConnection(url + "?application_name=from_url&sslmode=prefer")
        XCTAssertEqual(try withOptions.query("SHOW application_name")[0].string(0), "from_url")
    }

    /// Defaults fill in only the parameters the string does not set, in either form.
    func testDefaultsApplyOnlyWhereTheStringIsSilent() throws {
        let url = try makeDatabase(prefix: "defaults")
        let components = try XCTUnwrap(URLComponents(string: url))
        let conninfo =
            "host=\(components.host ?? "") port=\(components.port ?? 5432) dbname=\(components.path.dropFirst()) "
            + "user=\(components.user ?? "postgres")"
        let defaults: KeyValuePairs<String, String> = ["keepalives_idle": "30", "connect_timeout": "10"]
        for (string, idle) in [
            (url, "30"), (url + "?keepalives_idle=7", "7"), (url + "?sslmode=disable", "30"), (conninfo, "30"),
            (conninfo + " keepalives_idle=7", "7"),
        ] {
            let c = try PostgresConnection(string, defaults: defaults)
            XCTAssertEqual(c.connectionParameter("keepalives_idle"), idle, string)
            XCTAssertEqual(c.connectionParameter("connect_timeout"), "10", string)
            XCTAssertEqual(try c.query("SELECT 1")[0].int32(0), 1)
        }
        XCTAssertNil(try PostgresConnection(url).connectionParameter("keepalives_idle"))
    }

    func testUnreachableServerIsAConnectionErrorWithoutThePassword() throws {
        let url = "postgresql://someone:S3cret-Pa55@127.0.0.1:1/db?connect_timeout=5"
        let error = expectError(try PostgresConnection(url))
        XCTAssertEqual(error?.kind, .connection)
        let text = String(describing: error)
        XCTAssertFalse(text.contains("S3cret-Pa55"), text)
        XCTAssertTrue(text.contains("127.0.0.1"), text)
        XCTAssertTrue(text.contains("***"), text)
    }

    /// A URL's scheme in upper case is a URL to libpq too: it connects, and its errors do not
    /// quote the password (libpq would read it as conninfo and echo the whole string).
    func testAnUpperCaseSchemeConnectsAndKeepsThePasswordOut() throws {
        let error = expectError(try PostgresConnection("POSTGRES://someone:S3cret-Pa55@127.0.0.1:1/db?connect_timeout=5"))
        XCTAssertEqual(error?.kind, .connection)
        XCTAssertFalse(String(describing: error).contains("S3cret-Pa55"), String(describing: error))
        XCTAssertTrue(String(describing: error).contains("127.0.0.1"), String(describing: error))
        guard PostgresURL.isURL(databaseURL) else { return }  // a conninfo DEPLOYLOG_TEST_DATABASE_URL
        let upper = databaseURL.replacingOccurrences(of: "postgresql://", with: "POSTGRESQL://")
            .replacingOccurrences(of: "postgres://", with: "POSTGRES://")
        XCTAssertNotEqual(upper, databaseURL)
        XCTAssertEqual(try PostgresConnection(upper).query("SELECT 1")[0].int(0), 1)
    }

    func testMalformedURLDoesNotEchoThePassword() throws {
        // libpq's own message would quote the badly percent-encoded password.
        let error = expectError(try PostgresConnection("postgresql://u:sec%zzret@127.0.0.1:1/db"))
        XCTAssertEqual(error?.kind, .connection)
        XCTAssertFalse(String(describing: error).contains("sec%zzret"), String(describing: error))
        let conninfo = expectError(try PostgresConnection("host=127.0.0.1 password=hunter2 nonsense_option=1"))
        XCTAssertEqual(conninfo?.kind, .connection)
        XCTAssertFalse(String(describing: conninfo).contains("hunter2"), String(describing: conninfo))
    }

    func testWrongPasswordIsAConnectionErrorWithoutThePassword() throws {
        let server = try PostgresServer.shared()
        let admin = try connect()
        let role = PostgresServer.passwordRole
        let quoted = try PostgresIdentifier.quote(role)
        let exists = try admin.query("SELECT count(*) FROM pg_roles WHERE rolname = $1", [.text(role)])[0].int64(0)
        if exists == 0 { try admin.execute(script: "CREATE ROLE \(quoted) LOGIN") }
        // The password reaches the server as a parameter; ALTER ROLE cannot take one, so the
        // server formats the statement itself.
        try admin.query("SELECT set_config('deploylog.pw', $1, false)", ["right-Pa55word"])
        try admin.execute(
            script:
                "DO $$ BEGIN EXECUTE format('ALTER ROLE %I PASSWORD %L', '\(role)', current_setting('deploylog.pw')); END $$"
        )

        var components = try XCTUnwrap(URLComponents(string: databaseURL))
        components.user = role
        components.password = "wrong-Pa55word"
        do {
            _ = try PostgresConnection(components.string!)
            // Only an external server whose pg_hba.conf trusts every login accepts it.
            XCTAssertTrue(server.isExternal, "a wrong password was accepted")
        } catch let error as PostgresError {
            XCTAssertEqual(error.kind, .connection)
            XCTAssertFalse(error.description.contains("wrong-Pa55word"), error.description)
            XCTAssertTrue(error.description.contains("password authentication failed"), error.description)
        }

        // The right password, in the URL, in conninfo, and from PGPASSWORD.
        components.password = "right-Pa55word"
        XCTAssertEqual(try PostgresConnection(components.string!).query("SELECT current_user")[0].string(0), role)
        let conninfo =
            "host=\(components.host!) port=\(components.port!) dbname=\(components.path.dropFirst()) user=\(role)"
        XCTAssertTrue(try PostgresConnection(conninfo + " password='right-Pa55word'").isOpen)
        setenv("PGPASSWORD", "right-Pa55word", 1)
        defer { unsetenv("PGPASSWORD") }
        XCTAssertEqual(try PostgresConnection(conninfo).query("SELECT current_user")[0].string(0), role)
    }

    func testScriptRunsSeveralStatementsWithTextResults() throws {
        let connection = try connect()
        let results = try connection.execute(
            script: """
                CREATE TABLE t (id int8 PRIMARY KEY, name text);
                INSERT INTO t VALUES (1, 'one'), (2, 'two');
                SELECT id, name, id * 2 AS twice, now() IS NOT NULL AS ok, 1.5::numeric AS n FROM t ORDER BY id;
                """)
        XCTAssertEqual(results.count, 3)
        XCTAssertEqual(results[1].affectedRows, 2)
        let rows = results[2]
        XCTAssertEqual(rows.count, 2)
        XCTAssertFalse(rows.columns[0].isBinary)
        XCTAssertEqual(rows.columns.map(\.name), ["id", "name", "twice", "ok", "n"])
        XCTAssertEqual(try rows[1].int64(0), 2)
        XCTAssertEqual(try rows[1].string(1), "two")
        XCTAssertEqual(try rows[1].int(2), 4)
        XCTAssertEqual(try rows[0].bool(3), true)
        XCTAssertEqual(try rows[0].string(4), "1.5")
        XCTAssertEqual(try rows[0].double(4), 1.5)
        // A failing script stops at its error, and the connection stays usable.
        let error = expectError(try connection.execute(script: "INSERT INTO t VALUES (3, 'x'); SELECT * FROM missing"))
        XCTAssertEqual(error?.sqlState, PostgresError.SQLState.undefinedTable)
        XCTAssertEqual(try connection.query("SELECT count(*) FROM t")[0].int64(0), 2)
    }

    func testForEachRowStreamsRows() throws {
        let connection = try connect()
        var seen: [Int64] = []
        try connection.forEachRow("SELECT g, g::text FROM generate_series(1, $1::int8) g", [.int8(2500)]) { row in
            seen.append(try row.int64(0))
            XCTAssertEqual(try row.string(1), String(try row.int64(0)))
        }
        XCTAssertEqual(seen, Array(1...2500))
        // A throwing body stops delivery; the rest is drained and the connection is usable.
        struct Stop: Error {}
        var delivered = 0
        XCTAssertThrowsError(
            try connection.forEachRow("SELECT g FROM generate_series(1, 1000) g") { _ in
                delivered += 1
                if delivered == 10 { throw Stop() }
            }
        ) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(delivered, 10)
        XCTAssertEqual(try connection.query("SELECT 7")[0].int64(0), 7)
    }
}
