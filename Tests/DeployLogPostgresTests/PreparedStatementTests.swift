import DeployLogPostgres
import XCTest

final class PreparedStatementTests: PostgresTestCase {
    static let insert = PostgresStatement(
        "INSERT INTO items (id, label) VALUES ($1, $2) RETURNING id * 10", parameterTypes: [.int8, .text])

    func testPreparedOnceAndReused() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE items (id int8 PRIMARY KEY, label text)")
        for id in 1...50 {
            let result = try connection.query(Self.insert, [.int8(Int64(id)), .text("item \(id)")])
            XCTAssertEqual(try result[0].int64(0), Int64(id) * 10)
            XCTAssertEqual(result.affectedRows, 1)
        }
        let prepared = try connection.query("SELECT name, statement FROM pg_prepared_statements")
        XCTAssertEqual(prepared.count, 1)
        XCTAssertEqual(try prepared[0].string(0), Self.insert.name)
        XCTAssertEqual(try connection.query("SELECT count(*) FROM items")[0].int64(0), 50)
        // The default name depends on the SQL and types only.
        XCTAssertEqual(Self.insert.name, PostgresStatement(Self.insert.sql, parameterTypes: [.int8, .text]).name)
        XCTAssertNotEqual(Self.insert.name, PostgresStatement(Self.insert.sql, parameterTypes: [.int8, .varchar]).name)
    }

    func testNameClashIsRefused() throws {
        let connection = try connect()
        try connection.query(PostgresStatement(name: "one", "SELECT $1::int8 + 1", parameterTypes: [.int8]), [1])
        let error = expectError(try connection.prepare(PostgresStatement(name: "one", "SELECT 2")))
        XCTAssertEqual(error?.kind, .client)
    }

    func testPreparedAgainAfterTheServerForgetsIt() throws {
        let connection = try connect()
        let statement = PostgresStatement("SELECT $1::text || '!'", parameterTypes: [.text])
        XCTAssertEqual(try connection.query(statement, ["hi"])[0].string(0), "hi!")
        try connection.execute(script: "DEALLOCATE ALL")  // behind the connection's back
        XCTAssertEqual(try connection.query(statement, ["again"])[0].string(0), "again!")
        // Inside a transaction the failure aborted it: the error says the statement is gone
        // (not "current transaction is aborted"), and it is prepared again after ROLLBACK.
        try connection.execute(script: "BEGIN; DEALLOCATE ALL")
        let error = expectError(try connection.query(statement, ["inside"]))
        XCTAssertEqual(error?.sqlState, PostgresError.SQLState.invalidStatementName, "\(String(describing: error))")
        try connection.execute(script: "ROLLBACK")
        XCTAssertEqual(try connection.query(statement, ["after"])[0].string(0), "after!")
    }

    func testForEachRowWithAPreparedStatement() throws {
        let connection = try connect()
        let statement = PostgresStatement("SELECT g, g % 2 = 0 FROM generate_series(1, $1) g", parameterTypes: [.int4])
        var evens = 0
        var total = 0
        try connection.forEachRow(statement, [.int4(300)]) { row in
            total += 1
            if try row.bool(1) { evens += 1 }
        }
        XCTAssertEqual(total, 300)
        XCTAssertEqual(evens, 150)
    }
}
