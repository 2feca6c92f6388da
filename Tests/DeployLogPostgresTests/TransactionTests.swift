import DeployLogPostgres
import XCTest

final class TransactionTests: PostgresTestCase {
    struct Boom: Error {}

    private func makeTable(_ connection: PostgresConnection) throws {
        try connection.execute(script: "CREATE TABLE t (id int8 PRIMARY KEY)")
    }

    private func count(_ connection: PostgresConnection) throws -> Int64 {
        try connection.query("SELECT count(*) FROM t")[0].int64(0)
    }

    func testCommit() throws {
        let connection = try connect()
        try makeTable(connection)
        let returned = try connection.transaction { tx in
            try tx.query("INSERT INTO t VALUES ($1), ($2)", [1, 2])
            XCTAssertTrue(tx.isInTransaction)
            return "done"
        }
        XCTAssertEqual(returned, "done")
        XCTAssertFalse(connection.isInTransaction)
        // Committed: another connection sees the rows.
        XCTAssertEqual(try count(try PostgresConnection(databaseURL)), 2)
    }

    func testSwiftErrorRollsBackAndLeavesNoRows() throws {
        let connection = try connect()
        try makeTable(connection)
        XCTAssertThrowsError(
            try connection.transaction { tx in
                try tx.query("INSERT INTO t VALUES ($1)", [1])
                try tx.query("INSERT INTO t VALUES ($1)", [2])
                throw Boom()
            }
        ) { XCTAssertTrue($0 is Boom) }
        XCTAssertFalse(connection.isInTransaction)
        XCTAssertEqual(try count(connection), 0)
    }

    func testServerErrorRollsBackEvenWhenCaughtInside() throws {
        let connection = try connect()
        try makeTable(connection)
        let error = expectError(
            try connection.transaction { tx in
                try tx.query("INSERT INTO t VALUES ($1)", [1])
                XCTAssertThrowsError(try tx.query("INSERT INTO t VALUES ($1)", [1]))  // 23505, swallowed
            })
        XCTAssertEqual(error?.kind, .client)
        XCTAssertEqual(try count(connection), 0)
        // Uncaught, the server's own error comes out.
        let direct = expectError(
            try connection.transaction { tx in
                try tx.query("INSERT INTO t VALUES ($1)", [5])
                try tx.query("INSERT INTO t VALUES ($1)", [5])
            })
        XCTAssertEqual(direct?.sqlState, PostgresError.SQLState.uniqueViolation)
        XCTAssertEqual(try count(connection), 0)
    }

    func testIsolationLevelReadOnlyAndNoNesting() throws {
        let connection = try connect()
        try makeTable(connection)
        let level = try connection.transaction(isolation: .serializable) { tx in
            try tx.query("SHOW transaction_isolation")[0].string(0)
        }
        XCTAssertEqual(level, "serializable")
        let repeatable = try connection.transaction(isolation: .repeatableRead) { tx in
            try tx.query("SHOW transaction_isolation")[0].string(0)
        }
        XCTAssertEqual(repeatable, "repeatable read")
        let readOnly = expectError(
            try connection.transaction(readOnly: true) { tx in try tx.query("INSERT INTO t VALUES (1)") })
        XCTAssertEqual(readOnly?.sqlState, "25006")
        let nested = expectError(
            try connection.transaction { tx in try tx.transaction { _ in } })
        XCTAssertEqual(nested?.kind, .client)
        XCTAssertEqual(try count(connection), 0)
    }
}
