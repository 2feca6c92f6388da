import DeployLogPostgres
import Foundation
import XCTest

final class CopyTests: PostgresTestCase {
    static let columns = ["position", "small", "stream", "payload", "flag", "recorded_at", "data", "event_id"]
    static let types: [PostgresType] = [.int8, .int4, .text, .bytea, .bool, .timestamptz, .jsonb, .uuid]

    private func makeTable(_ connection: PostgresConnection) throws {
        try connection.execute(
            script: """
                CREATE TABLE copied (position int8 PRIMARY KEY, small int4, stream text, payload bytea, flag bool,
                                     recorded_at timestamptz, data jsonb, event_id uuid)
                """)
    }

    /// Row `i` of the test data: every type, NULLs in turn, unicode, empty and larger byteas
    /// (the JSON in the form jsonb gives back).
    static func row(_ i: Int) -> [PostgresValue] {
        let i64 = Int64(i)
        var row: [PostgresValue] = [
            .int8(i64 * 1_000_003 - 5_000_000_000), .int4(Int32(i % 1000) - 500), .text("stream-\(i % 13) ✓ ñ"),
            .bytea((0..<(i % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }), .bool(i % 2 == 0),
            .timestamptz(1_764_000_000_000_000 + i64 * 1_234_567), .jsonb(#"{"i": \#(i), "s": "é"}"#),
            .uuid(
                UUID(uuid: (UInt8(i & 0xFF), UInt8((i >> 8) & 0xFF), 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1))),
        ]
        if i % 17 == 3 { row[1 + i % 7] = .null }
        return row
    }

    /// Rows the caller encodes itself go in as written; a row that throws while being
    /// encoded leaves nothing behind, and a malformed one is refused by the server.
    func testRowsEncodedByTheCallerReadBackEqual() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE encoded (position int8 PRIMARY KEY, stream text, payload bytea)")
        struct Refused: Error {}
        func be<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
            withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) }
        }
        let stored = try connection.copyIn("COPY encoded (position, stream, payload) FROM STDIN (FORMAT binary)") { w in
            for i in 0..<1000 {
                try w.writeEncodedRow { row in
                    be(Int16(3), &row)
                    be(Int32(8), &row)
                    be(Int64(i), &row)
                    let stream = Array("stream-\(i % 7) ✓".utf8)
                    be(Int32(stream.count), &row)
                    row.append(contentsOf: stream)
                    if i % 10 == 0 {
                        be(Int32(-1), &row)
                    } else {
                        be(Int32(i % 50), &row)
                        row.append(contentsOf: (0..<(i % 50)).map { UInt8(truncatingIfNeeded: $0 + i) })
                    }
                }
                XCTAssertThrowsError(
                    try w.writeEncodedRow { row in
                        be(Int16(3), &row)
                        throw Refused()
                    })
            }
            XCTAssertEqual(w.rowCount, 1000)
        }
        XCTAssertEqual(stored, 1000)
        let back = try connection.query("SELECT position, stream, payload FROM encoded ORDER BY position")
        XCTAssertEqual(back.count, 1000)
        for (i, row) in back.enumerated() {
            XCTAssertEqual(try row.int64(0), Int64(i))
            XCTAssertEqual(try row.string(1), "stream-\(i % 7) ✓")
            XCTAssertEqual(
                try row.get(2, as: [UInt8]?.self),
                i % 10 == 0 ? nil : (0..<(i % 50)).map { UInt8(truncatingIfNeeded: $0 + i) })
        }
        XCTAssertThrowsError(
            try connection.copyIn("COPY encoded (position, stream, payload) FROM STDIN (FORMAT binary)") { w in
                try w.writeEncodedRow { row in be(Int16(2), &row) }
            })
    }

    func testBinaryCopyOfTenThousandRowsReadsBackEqual() throws {
        let connection = try connect()
        try makeTable(connection)
        let stored = try connection.copyIn(table: "copied", columns: Self.columns, columnTypes: Self.types) { writer in
            for i in 0..<10_000 { try writer.writeRow(Self.row(i)) }
            XCTAssertEqual(writer.rowCount, 10_000)
        }
        XCTAssertEqual(stored, 10_000)
        let back = try connection.query("SELECT \(Self.columns.joined(separator: ", ")) FROM copied ORDER BY position")
        XCTAssertEqual(back.count, 10_000)
        for (i, row) in back.enumerated() {
            let values = try (0..<Self.columns.count).map { try row.value($0) }
            XCTAssertEqual(values, Self.row(i), "row \(i)")
            if values != Self.row(i) { break }
        }
        // Read back by binary COPY TO STDOUT as well.
        var index = 0
        let count = try connection.copyOut(
            "COPY (SELECT \(Self.columns.joined(separator: ", ")) FROM copied ORDER BY position) TO STDOUT (FORMAT binary)",
            columnTypes: Self.types
        ) { row in
            let values = try (0..<Self.columns.count).map { try row.value($0) }
            XCTAssertEqual(values, Self.row(index), "row \(index)")
            index += 1
        }
        XCTAssertEqual(count, 10_000)
        XCTAssertEqual(index, 10_000)
    }

    func testValuesOfTheColumnTypesNeedNoDeclaredTypes() throws {
        let connection = try connect()
        try connection.execute(script: #"CREATE TABLE "Plain" (a int8, b text)"#)
        let stored = try connection.copyIn(#"COPY "Plain" (a, b) FROM STDIN (FORMAT binary)"#) { writer in
            try writer.writeRow([1, "one"])
            try writer.writeRow([2, .null])
        }
        XCTAssertEqual(stored, 2)
        XCTAssertEqual(try connection.query(#"SELECT count(b) FROM "Plain""#)[0].int64(0), 1)
    }

    func testThrowingWriterAbortsTheCopy() throws {
        let connection = try connect()
        try makeTable(connection)
        struct Stop: Error {}
        XCTAssertThrowsError(
            try connection.copyIn(table: "copied", columns: Self.columns, columnTypes: Self.types) { writer in
                for i in 0..<5000 { try writer.writeRow(Self.row(i)) }  // some already sent
                throw Stop()
            }
        ) { XCTAssertTrue($0 is Stop) }
        XCTAssertEqual(try connection.query("SELECT count(*) FROM copied")[0].int64(0), 0)
    }

    func testBadRowsAreErrors() throws {
        let connection = try connect()
        try makeTable(connection)
        // A value that cannot be sent as its column's type: refused before sending.
        let local = expectError(
            try connection.copyIn(table: "copied", columns: ["position", "small"], columnTypes: [.int8, .int4]) {
                try $0.writeRow([1, .bytea([1])])
            })
        XCTAssertEqual(local?.kind, .client)
        XCTAssertTrue(local?.message.contains("field 2") == true, local?.message ?? "")
        // The wrong binary type (int8 into int4), found by the server.
        let server = expectError(
            try connection.copyIn(table: "copied", columns: ["position", "small"]) { try $0.writeRow([1, 2]) })
        XCTAssertEqual(server?.kind, .server)
        XCTAssertEqual(server?.sqlState, "22P03")  // invalid_binary_representation
        XCTAssertTrue(server?.statement?.hasPrefix("COPY") == true)
        // A duplicate key, found at the end.
        let duplicate = expectError(
            try connection.copyIn(table: "copied", columns: ["position"]) { writer in
                try writer.writeRow([7])
                try writer.writeRow([7])
            })
        XCTAssertEqual(duplicate?.sqlState, PostgresError.SQLState.uniqueViolation)
        // Not a COPY at all.
        XCTAssertEqual(expectError(try connection.copyIn("SELECT 1") { _ in })?.kind, .client)
        // Nothing at all, or only a comment (an empty query): an error, and the connection goes on.
        for sql in ["", "  -- nothing"] {
            XCTAssertEqual(expectError(try connection.copyIn(sql) { _ in })?.kind, .client, "copyIn \(sql)")
            XCTAssertEqual(expectError(try connection.copyOut(sql, columnTypes: [.int8]) { _ in })?.kind, .client)
        }
        XCTAssertEqual(expectError(try connection.copyOut("SELECT 1", columnTypes: [.int4]) { _ in })?.kind, .client)
        XCTAssertEqual(try connection.query("SELECT count(*) FROM copied")[0].int64(0), 0)
    }

    func testCopyIntoTheSeedsColumnTypes() throws {
        let connection = try connect()
        try connection.execute(
            script: """
                CREATE TABLE stages (id SERIAL PRIMARY KEY, name VARCHAR(100), started TIMESTAMP, took INTERVAL,
                                     rate DECIMAL(5,4), tags TEXT[], config JSONB, ok BOOLEAN, n INTEGER)
                """)
        let types: [PostgresType] = [
            .varchar, .timestamp, .interval, .numeric, PostgresType.text.arrayType!, .jsonb, .bool, .int4,
        ]
        let stored = try connection.copyIn(
            table: "stages", columns: ["name", "started", "took", "rate", "tags", "config", "ok", "n"],
            columnTypes: types
        ) { writer in
            for i in 0..<100 {
                try writer.writeRow([
                    .text("stage \(i)"), .timestamptz(1_764_000_000_000_000 + Int64(i)),
                    .interval(PostgresInterval(microseconds: Int64(i) * 1_000_000)), .text("0.\(i % 10)"),
                    .array([.text("t\(i)"), .null], of: .text), .text(#"{"i": \#(i)}"#), .bool(i % 3 == 0),
                    .int8(Int64(i)),
                ])
            }
        }
        XCTAssertEqual(stored, 100)
        let row = try connection.query(
            "SELECT name, started, took, rate, tags, config, ok, n, id FROM stages WHERE n = 42")[0]
        XCTAssertEqual(try row.string(0), "stage 42")
        XCTAssertEqual(try row.timestamp(1), 1_764_000_000_000_042)
        XCTAssertEqual(try row.get(2, as: PostgresInterval.self), PostgresInterval(microseconds: 42_000_000))
        XCTAssertEqual(try row.string(3), "0.2000")
        XCTAssertEqual(try row.array(4, of: String?.self), ["t42", nil])
        XCTAssertEqual(try row.string(5), #"{"i": 42}"#)
        XCTAssertEqual(try row.bool(6), true)
        XCTAssertEqual(try row.int(7), 42)
        XCTAssertEqual(try row.int(8), 43)  // SERIAL filled in
    }
}
