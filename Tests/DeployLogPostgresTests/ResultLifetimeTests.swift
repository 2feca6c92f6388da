import DeployLogPostgres
import Foundation
import XCTest

/// A result keeps libpq's `PGresult` and reads its rows where they lie: it must stay readable
/// after its connection is closed and its other copies are gone, by many threads at once, and
/// give the same fields whichever way it came (a query, a prepared statement, a pipeline, a
/// script, single-row mode).
final class ResultLifetimeTests: PostgresTestCase {
    private let sql = """
        SELECT g::int8, repeat(md5(g::text), 1 + g % 5)::text, decode(md5(g::text), 'hex'),
            CASE WHEN g % 7 = 0 THEN NULL ELSE g::int4 END
        FROM generate_series(1, 3000) AS g
        """

    private func check(_ rows: PostgresResult, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(rows.count, 3000, file: file, line: line)
        for (k, row) in rows.enumerated() {
            let g = Int64(k + 1)
            XCTAssertEqual(try row.int64(0), g, file: file, line: line)
            XCTAssertEqual(try row.string(1).count, 32 * (1 + Int(g % 5)), file: file, line: line)
            XCTAssertEqual(try row.bytes(2).count, 16, file: file, line: line)
            XCTAssertEqual(try row.isNull(3), g % 7 == 0, file: file, line: line)
            if g % 7 != 0 { XCTAssertEqual(try row.int32(3), Int32(g), file: file, line: line) }
        }
    }

    func testRowsOutliveTheirConnectionAndAreReadByManyThreadsAtOnce() throws {
        var connection: PostgresConnection? = try connect()
        let statement = PostgresStatement(sql)
        let results = [
            try connection!.query(sql),
            try connection!.query(statement, []),
            try connection!.pipeline { p in try p.query(statement, []) }[0],
        ]
        connection!.close()
        connection = nil
        for r in results { try check(r) }

        // Eight threads read the same result at once; each must see every field right.
        let shared = results[0]
        let wrong = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var sum: Int64 = 0
            for row in t % 2 == 0 ? Array(shared) : shared.reversed() {
                let g = (try? row.int64(0)) ?? -1
                let bytes = (try? row.bytes(2)) ?? []
                if bytes.count != 16 { sum = -1_000_000 }
                sum += g
            }
            if sum != 3000 * 3001 / 2 { wrong.add() }
        }
        XCTAssertEqual(wrong.value, 0)
    }

    func testScriptsAndSingleRowReadsGiveTheSameFields() throws {
        let connection = try connect()
        let script = try connection.execute(script: "SELECT 1; " + sql)
        XCTAssertEqual(script.count, 2)
        XCTAssertEqual(script[1].count, 3000)
        // Text results: the same values through `get`.
        XCTAssertEqual(try script[1][41].int64(0), 42)
        XCTAssertTrue(try script[1][41].isNull(3))
        XCTAssertEqual(try script[1][42].int32(3), 43)

        var seen: [Int64] = []
        try connection.forEachRow(sql, []) { row in seen.append(try row.int64(0)) }
        XCTAssertEqual(seen, Array(1...3000))
        // A failed statement's result is not kept; the connection stays usable.
        XCTAssertNotNil(expectError(try connection.query("SELECT 1/0")))
        try check(try connection.query(sql))
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
