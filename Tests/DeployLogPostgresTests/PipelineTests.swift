import DeployLogPostgres
import XCTest

final class PipelineTests: PostgresTestCase {
    static let insert = PostgresStatement(
        "INSERT INTO log (position, stream, payload) VALUES ($1, $2, $3) RETURNING position, length(payload)",
        parameterTypes: [.int8, .text, .bytea])

    private func makeTable(_ connection: PostgresConnection) throws {
        try connection.execute(
            script: "CREATE TABLE log (position int8 PRIMARY KEY, stream text NOT NULL, payload bytea)")
    }

    func testThousandInsertsInOneSync() throws {
        let connection = try connect()
        try makeTable(connection)
        let results = try connection.pipeline { pipeline in
            for position in 1...1000 {
                try pipeline.query(
                    Self.insert,
                    [
                        .int8(Int64(position)), .text("stream-\(position % 7)"),
                        .bytea(Array(repeating: 7, count: position % 50)),
                    ])
            }
            XCTAssertEqual(pipeline.count, 1000)
        }
        XCTAssertEqual(results.count, 1000)
        for (index, result) in results.enumerated() {
            XCTAssertEqual(result.affectedRows, 1)
            XCTAssertEqual(try result[0].int64(0), Int64(index + 1))
            XCTAssertEqual(try result[0].int(1), (index + 1) % 50)
        }
        let stored = try connection.query("SELECT count(*), sum(position)::int8, count(DISTINCT stream) FROM log")[0]
        XCTAssertEqual(try stored.int64(0), 1000)
        XCTAssertEqual(try stored.int64(1), 500_500)
        XCTAssertEqual(try stored.int64(2), 7)
        // The statement was prepared once, inside the pipeline, and is reused by the next one.
        XCTAssertEqual(try connection.query("SELECT count(*) FROM pg_prepared_statements")[0].int64(0), 1)
        let next = try connection.pipeline { try $0.query(Self.insert, [1001, "s", .null]) }
        XCTAssertEqual(try next[0][0].int64(0), 1001)
    }

    func testAFailureRollsBackTheWholePipelineAndNamesTheStatement() throws {
        let connection = try connect()
        try makeTable(connection)
        let error = expectError(
            try connection.pipeline { pipeline in
                try pipeline.query(Self.insert, [1, "a", .null])
                try pipeline.query(Self.insert, [2, "a", .null])
                try pipeline.query("INSERT INTO log (position, stream) VALUES ($1, $2)", [1, "duplicate"])
                try pipeline.query(Self.insert, [3, "a", .null])
            })
        XCTAssertEqual(error?.sqlState, PostgresError.SQLState.uniqueViolation)
        XCTAssertEqual(error?.statement, "INSERT INTO log (position, stream) VALUES ($1, $2)")
        XCTAssertEqual(try connection.query("SELECT count(*) FROM log")[0].int64(0), 0)
        // The connection left pipeline mode and works normally.
        XCTAssertEqual(try connection.query(Self.insert, [9, "b", .null])[0].int64(0), 9)
    }

    func testFailedPrepareInsideAPipeline() throws {
        let connection = try connect()
        try makeTable(connection)
        let bad = PostgresStatement("INSERT INTO nowhere VALUES ($1)", parameterTypes: [.int8])
        let error = expectError(try connection.pipeline { try $0.query(bad, [1]) })
        XCTAssertEqual(error?.sqlState, PostgresError.SQLState.undefinedTable)
        XCTAssertEqual(error?.statement, bad.sql)
        // Not remembered as prepared: the next use prepares it again (and fails again).
        XCTAssertEqual(expectError(try connection.query(bad, [1]))?.sqlState, PostgresError.SQLState.undefinedTable)
    }

    /// Two different statements under one name, in the pipeline or prepared before it: found
    /// before anything is sent, so nothing runs and the connection stays open and usable.
    func testAStatementNameClashSendsNothingAndKeepsTheConnection() throws {
        let connection = try connect()
        try makeTable(connection)
        let one = PostgresStatement(name: "clash", "SELECT 1::int8")
        let two = PostgresStatement(name: "clash", "SELECT 2::int8")
        for body in [
            { (p: PostgresPipeline) in
                try p.query(Self.insert, [1, "a", .null])
                try p.query(one, [])
                try p.query(two, [])
            },
            { (p: PostgresPipeline) in
                try p.query(Self.insert, [1, "a", .null])
                try p.query(two, [])
            },
        ] {
            let error = expectError(try connection.pipeline(body))
            XCTAssertEqual(error?.kind, .client)
            XCTAssertTrue(error?.message.contains("clash") == true, error?.message ?? "")
            XCTAssertTrue(connection.isOpen)
            XCTAssertEqual(try connection.query("SELECT count(*) FROM log")[0].int64(0), 0)
            _ = try connection.query(one, [])  // prepared now: the second round clashes with it
        }
        XCTAssertEqual(try connection.query(one, [])[0].int64(0), 1)
    }

    /// `DEALLOCATE ALL` (or `DISCARD ALL`, a pooler's reset) behind the connection's back: the
    /// next pipeline fails, naming the statement the server no longer knows, and stores
    /// nothing; the connection forgot its statements too, so the pipeline after it prepares
    /// them anew and works — also when the first failed inside a transaction (after ROLLBACK),
    /// and with statements prepared in the failed pipeline before the refusal (the server kept
    /// those: it is made to forget them too, so nothing is refused as already prepared).
    func testAPipelineAfterTheServerForgotItsStatementsFailsOnceThenPreparesThemAgain() throws {
        let connection = try connect()
        try makeTable(connection)
        let count = PostgresStatement("SELECT count(*) FROM log")
        let label = PostgresStatement("SELECT $1::text", parameterTypes: [.text])
        func insertAndCount(_ position: Int64) throws -> Int64 {
            let results = try connection.pipeline { p in
                try p.query(Self.insert, [.int8(position), "a", .null])
                try p.query(count, [])
            }
            return try results[1][0].int64(0)
        }
        XCTAssertEqual(try insertAndCount(1), 1)
        for (k, reset) in ["DEALLOCATE ALL", "DISCARD ALL", "BEGIN; DEALLOCATE ALL"].enumerated() {
            try connection.execute(script: reset)
            let error = expectError(
                try connection.pipeline { p in
                    try p.query(label, ["new"])  // prepared in this pipeline, kept by the server
                    try p.query(Self.insert, [.int8(Int64(10 + k)), "b", .null])
                })
            XCTAssertEqual(
                error?.sqlState, PostgresError.SQLState.invalidStatementName, "\(reset): \(String(describing: error))")
            if connection.isInTransaction { try connection.execute(script: "ROLLBACK") }
            XCTAssertEqual(try insertAndCount(Int64(2 + k)), Int64(2 + k), reset)
            XCTAssertEqual(try connection.pipeline { try $0.query(label, ["again"]) }[0][0].string(0), "again")
        }
        // The server holds exactly the statements the connection believes it prepared.
        XCTAssertEqual(try connection.query("SELECT count(*) FROM pg_prepared_statements")[0].int64(0), 3)
    }

    /// Settings made with `setUpSession` come back once the session is found reset (`DISCARD
    /// ALL` resets them along with the prepared statements: a statement gone is how it shows).
    func testSessionSettingsAreMadeAgainAfterDiscardAll() throws {
        let connection = try connect()
        try makeTable(connection)
        try connection.setUpSession("SET statement_timeout = '17s'")
        _ = try connection.pipeline { try $0.query(Self.insert, [1, "a", .null]) }
        try connection.execute(script: "DISCARD ALL")
        XCTAssertEqual(try connection.query("SHOW statement_timeout")[0].string(0), "0")
        _ = expectError(try connection.pipeline { try $0.query(Self.insert, [2, "a", .null]) })
        _ = try connection.pipeline { try $0.query(Self.insert, [2, "a", .null]) }
        XCTAssertEqual(try connection.query("SHOW statement_timeout")[0].string(0), "17s")
    }

    func testThrowingBodySendsNothing() throws {
        let connection = try connect()
        try makeTable(connection)
        struct Stop: Error {}
        XCTAssertThrowsError(
            try connection.pipeline { pipeline in
                try pipeline.query(Self.insert, [1, "a", .null])
                throw Stop()
            })
        XCTAssertEqual(try connection.pipeline { _ in }.count, 0)
        XCTAssertEqual(try connection.query("SELECT count(*) FROM log")[0].int64(0), 0)
    }

    func testPipelineInsideATransactionRunsInIt() throws {
        let connection = try connect()
        try makeTable(connection)
        struct Stop: Error {}
        XCTAssertThrowsError(
            try connection.transaction { tx in
                _ = try tx.pipeline { pipeline in
                    for position in 1...10 { try pipeline.query(Self.insert, [.int8(Int64(position)), "t", .null]) }
                }
                XCTAssertEqual(try tx.query("SELECT count(*) FROM log")[0].int64(0), 10)
                throw Stop()
            })
        XCTAssertEqual(try connection.query("SELECT count(*) FROM log")[0].int64(0), 0)
    }
}
