import DeployLogPostgres
import XCTest

/// An error names what failed, its SQLSTATE and the statement, and keeps a long statement short.
final class PostgresErrorDescriptionTests: XCTestCase {
    func testDescriptionNamesSQLStateAndStatement() {
        let e = PostgresError(
            .server, "duplicate key value violates unique constraint \"events_pkey\"", sqlState: "23505",
            statement: "INSERT INTO deploylog.events VALUES ($1)")
        XCTAssertEqual(
            e.description,
            "duplicate key value violates unique constraint \"events_pkey\" (SQLSTATE 23505) in: INSERT INTO deploylog.events VALUES ($1)"
        )
    }

    func testLongStatementIsCutAt200Characters() {
        let statement = "SELECT " + String(repeating: "x", count: 500)
        let e = PostgresError(.client, "bad", statement: statement)
        XCTAssertEqual(e.description, "bad in: " + String(statement.prefix(200)) + "…")
        XCTAssertEqual(PostgresError(.connection, "connection refused").description, "connection refused")
    }
}
