import DeployLogPostgres
import XCTest

final class ErrorTests: PostgresTestCase {
    func testUniqueViolationCarriesSQLStateConstraintAndStatement() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE events (id int8 CONSTRAINT events_pk PRIMARY KEY, secret text)")
        let insert = "INSERT INTO events (id, secret) VALUES ($1, $2)"
        try connection.query(insert, [1, "first-secret-value"])
        let error = expectError(try connection.query(insert, [1, "second-secret-value"]))
        XCTAssertEqual(error?.kind, .server)
        XCTAssertEqual(error?.sqlState, PostgresError.SQLState.uniqueViolation)
        XCTAssertEqual(error?.constraint, "events_pk")
        XCTAssertEqual(error?.statement, insert)
        XCTAssertTrue(error?.message.contains("duplicate key") == true, error?.message ?? "")
        let text = String(describing: error!)
        XCTAssertTrue(text.contains("23505") && text.contains(insert), text)
        XCTAssertFalse(text.contains("secret-value"), text)  // never the bind values
        // The connection is still usable.
        XCTAssertEqual(try connection.query("SELECT count(*) FROM events")[0].int64(0), 1)
    }

    func testSyntaxErrorCarriesSQLStateAndStatement() throws {
        let connection = try connect()
        let sql = "SELEC 1 FROM nowhere"
        let error = expectError(try connection.query(sql))
        XCTAssertEqual(error?.kind, .server)
        XCTAssertEqual(error?.sqlState, "42601")
        XCTAssertEqual(error?.statement, sql)
        XCTAssertTrue(String(describing: error!).contains(sql))
        // In a prepared statement too.
        let prepared = expectError(try connection.prepare(PostgresStatement("SELECT FROM WHERE")))
        XCTAssertEqual(prepared?.sqlState, "42601")
        XCTAssertEqual(prepared?.statement, "SELECT FROM WHERE")
        // And from a raised exception, with its own SQLSTATE and message.
        let raised = expectError(
            try connection.execute(script: "DO $$ BEGIN RAISE EXCEPTION 'append-only' USING ERRCODE = 'P0001'; END $$"))
        XCTAssertEqual(raised?.sqlState, PostgresError.SQLState.raiseException)
        XCTAssertEqual(raised?.message, "append-only")
    }

    func testTerminatedBackendIsAConnectionError() throws {
        let victim = try connect()
        let killer = try connect()
        try killer.query("SELECT pg_terminate_backend($1)", [.int4(victim.backendPID)])
        let error = expectError(try victim.query("SELECT 1"))
        XCTAssertEqual(error?.kind, .connection)
        XCTAssertEqual(error?.isTransient, true)
        XCTAssertFalse(victim.isOpen)
    }

    func testReadingTheWrongTypeNamesTheColumn() throws {
        let connection = try connect()
        let row = try connection.query("SELECT 'text'::text AS label, 1::int8 AS n")[0]
        let error = expectError(try row.int64(0))
        XCTAssertEqual(error?.kind, .client)
        XCTAssertTrue(error?.message.contains("label") == true, error?.message ?? "")
        XCTAssertNotNil(expectError(try row.bool(1)))
        XCTAssertNotNil(expectError(try row.string(5)))  // out of range
    }
}
