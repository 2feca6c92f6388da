import DeployLogPostgres
import XCTest

final class IdentifierTests: PostgresTestCase {
    func testQuoting() throws {
        XCTAssertEqual(try PostgresIdentifier.quote("events"), #""events""#)
        XCTAssertEqual(try PostgresIdentifier.quote(#"My "odd" Table"#), #""My ""odd"" Table""#)
        XCTAssertEqual(try PostgresIdentifier.quote(schema: "deploylog", "Events"), #""deploylog"."Events""#)
        XCTAssertNotNil(expectError(try PostgresIdentifier.quote("")))
        XCTAssertNotNil(expectError(try PostgresIdentifier.quote("a\u{0}b")))
    }

    func testNamesWithQuotesAndCaseWorkOnTheServer() throws {
        let connection = try connect()
        let schema = #"Deploy "Log""#
        let table = #"Events"; DROP TABLE x; --"#
        let column = #"Stream "Name""#
        let qualified = try PostgresIdentifier.quote(schema: schema, table)
        try connection.execute(
            script: "CREATE SCHEMA \(try PostgresIdentifier.quote(schema)); "
                + "CREATE TABLE \(qualified) (\(try PostgresIdentifier.quote(column)) text, n int8)")
        try connection.query("INSERT INTO \(qualified) VALUES ($1, $2)", ["a", 1])
        try connection.copyIn(schema: schema, table: table, columns: [column, "n"]) { try $0.writeRow(["b", 2]) }
        let names = try connection.query(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY ordinal_position",
            [.text(schema)])
        XCTAssertEqual(try names.map { try $0.string(0) }, [schema, schema])
        XCTAssertEqual(try names.map { try $0.string(1) }, [table, table])
        XCTAssertEqual(try names.map { try $0.string(2) }, [column, "n"])
        XCTAssertEqual(
            try connection.query(
                "SELECT string_agg(\(try PostgresIdentifier.quote(column)), ',' ORDER BY n) FROM \(qualified)")[0]
                .string(0), "a,b")
        // Unquoted, the upper-case name would be folded to lower case and not found.
        XCTAssertEqual(
            expectError(try connection.query("SELECT * FROM Events"))?.sqlState, PostgresError.SQLState.undefinedTable)
    }
}
