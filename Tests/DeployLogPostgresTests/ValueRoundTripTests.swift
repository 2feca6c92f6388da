import DeployLogPostgres
import Foundation
import XCTest

final class ValueRoundTripTests: PostgresTestCase {
    func testEveryTypeThroughParametersAndBack() throws {
        let connection = try connect()
        let uuid = UUID()
        let row = try connection.query(
            "SELECT $1::int8, $2::int4, $3::text, $4::bytea, $5::bool, $6::timestamptz, $7::jsonb, $8::json, $9::float8, $10::uuid, $11::int2",
            [
                .int8(-9_007_199_254_740_993), .int4(Int32.min), .text("déploiement 🚀 \"quoted\"\n\t"),
                .bytea([0, 1, 2, 255, 0]), .bool(true), .timestamptz(1_764_000_000_123_456),
                .jsonb(#"{"b": [1, 2], "a": "é"}"#), .json(#"{"z":1,  "a":2}"#), .float8(-0.1), .uuid(uuid),
                .int2(-32768),
            ])[0]
        XCTAssertEqual(
            row.columns.map(\.type),
            [.int8, .int4, .text, .bytea, .bool, .timestamptz, .jsonb, .json, .float8, .uuid, .int2])
        XCTAssertTrue(row.columns.allSatisfy(\.isBinary))
        XCTAssertEqual(try row.int64(0), -9_007_199_254_740_993)
        XCTAssertEqual(try row.int32(1), Int32.min)
        XCTAssertEqual(try row.string(2), "déploiement 🚀 \"quoted\"\n\t")
        XCTAssertEqual(try row.bytes(3), [0, 1, 2, 255, 0])
        XCTAssertEqual(try row.bool(4), true)
        XCTAssertEqual(try row.timestamp(5), 1_764_000_000_123_456)
        XCTAssertEqual(try row.string(6), #"{"a": "é", "b": [1, 2]}"#)  // jsonb normalises
        XCTAssertEqual(try row.string(7), #"{"z":1,  "a":2}"#)  // json keeps the text
        XCTAssertEqual(try row.double(8), -0.1)
        XCTAssertEqual(try row.get(9, as: UUID.self), uuid)
        XCTAssertEqual(try row.int64(10), -32768)
        XCTAssertEqual(
            try (0..<11).map { try row.value($0) },
            [
                .int8(-9_007_199_254_740_993), .int4(Int32.min), .text("déploiement 🚀 \"quoted\"\n\t"),
                .bytea([0, 1, 2, 255, 0]), .bool(true), .timestamptz(1_764_000_000_123_456),
                .jsonb(#"{"a": "é", "b": [1, 2]}"#), .json(#"{"z":1,  "a":2}"#), .float8(-0.1), .uuid(uuid),
                .int2(-32768),
            ])
    }

    func testNullsOfEveryType() throws {
        let connection = try connect()
        let row = try connection.query(
            "SELECT $1::int8, $2::int4, $3::text, $4::bytea, $5::bool, $6::timestamptz, $7::jsonb, $8::json",
            Array(repeating: .null, count: 8))[0]
        for column in 0..<8 {
            XCTAssertTrue(try row.isNull(column))
            XCTAssertEqual(try row.value(column), .null)
        }
        XCTAssertNil(try row.get(0, as: Int64?.self))
        XCTAssertNil(try row.get(2, as: String?.self))
        XCTAssertNil(try row.get(3, as: [UInt8]?.self))
        XCTAssertNil(try row.get(4, as: Bool?.self))
        XCTAssertNil(try row.get(5, as: Int64?.self))
        // A NULL read as a non-optional is an error naming the column.
        let error = expectError(try row.int64(0))
        XCTAssertEqual(error?.kind, .client)
        XCTAssertTrue(error?.message.contains("column 0") == true, error?.message ?? "")
        // Optional reads of non-NULL values.
        let values = try connection.query("SELECT 5::int8, 'x'::text")[0]
        XCTAssertEqual(try values.get(0, as: Int64?.self), 5)
        XCTAssertEqual(try values.get(1, as: String?.self), "x")
    }

    func testIntegerExtremesThroughATable() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE n (i8 int8, i4 int4)")
        let extremes: [Int64] = [Int64.min, Int64.min + 1, -1, 0, 1, Int64.max - 1, Int64.max]
        for value in extremes {
            try connection.query(
                "INSERT INTO n (i8, i4) VALUES ($1, $2)", [.int8(value), .int4(Int32(truncatingIfNeeded: value))])
        }
        let result = try connection.query("SELECT i8, i4 FROM n ORDER BY i8")
        XCTAssertEqual(try result.map { try $0.int64(0) }, extremes)
        XCTAssertEqual(try result.map { try $0.int32(1) }, extremes.map { Int32(truncatingIfNeeded: $0) })
        XCTAssertEqual(try connection.query("SELECT $1::int8 - 1", [.int8(Int64.min + 1)])[0].int64(0), Int64.min)
        // Reading a value too large for the Swift type is an error, not a wrap.
        XCTAssertNotNil(expectError(try connection.query("SELECT $1::int8", [.int8(Int64.max)])[0].int32(0)))
    }

    func testUnicodeAndEmptyText() throws {
        let connection = try connect()
        let samples = [
            "", "a", "ñandú", "日本語のテキスト", "emoji 👩‍👩‍👧‍👦 and 🇻🇳", "lỗi \"quoted\" \\ backslash",
            String(repeating: "ß", count: 100_000),
        ]
        try connection.execute(script: "CREATE TABLE s (id int4, v text)")
        for (index, sample) in samples.enumerated() {
            try connection.query("INSERT INTO s VALUES ($1, $2)", [.int4(Int32(index)), .text(sample)])
        }
        let back = try connection.query("SELECT v, length(v) FROM s ORDER BY id")
        XCTAssertEqual(try back.map { try $0.string(0) }, samples)
        XCTAssertEqual(try back.map { try $0.int(1) }, samples.map(\.unicodeScalars.count))
        // The empty string is not NULL.
        XCTAssertEqual(try connection.query("SELECT $1::text IS NULL", [""])[0].bool(0), false)
    }

    func testEmptyAndLargeBytea() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE b (id int4, v bytea)")
        var generator = SystemRandomNumberGenerator()
        let large = (0..<1_048_576).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try connection.query("INSERT INTO b VALUES (1, $1), (2, $2), (3, $3)", [.bytea([]), .bytea(large), .null])
        let back = try connection.query("SELECT v, length(v) FROM b ORDER BY id")
        XCTAssertEqual(try back[0].bytes(0), [])
        XCTAssertFalse(try back[0].isNull(0))
        XCTAssertEqual(try back[1].int(1), 1_048_576)
        XCTAssertEqual(try back[1].bytes(0), large)
        XCTAssertTrue(try back[2].isNull(0))
        // The same through a text-format result (hex).
        let text = try connection.execute(script: "SELECT v FROM b WHERE id = 1; SELECT '\\xdeadBEEF'::bytea")
        XCTAssertEqual(try text[0][0].bytes(0), [])
        XCTAssertEqual(try text[1][0].bytes(0), [0xDE, 0xAD, 0xBE, 0xEF])
        // withBytes reads in place.
        let sum = try back[1].withBytes(0) { $0!.reduce(0) { $0 + Int($1) } }
        XCTAssertEqual(sum, large.reduce(0) { $0 + Int($1) })
    }

    func testTimestamptzKeepsMicroseconds() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE ts (id int4, at timestamptz, plain timestamp)")
        let instants: [Int64] = [
            0, 1, -1, 946_684_800_000_000, 946_684_799_999_999, 1_764_000_000_000_001, 1_764_000_000_999_999,
            -2_208_988_800_000_000, 253_402_300_799_999_999, Int64.max, Int64.min,
        ]
        for (index, instant) in instants.enumerated() {
            try connection.query(
                "INSERT INTO ts VALUES ($1, $2, $3)",
                [.int4(Int32(index)), .timestamptz(instant), .timestamptz(instant)])
        }
        let back = try connection.query("SELECT at, plain FROM ts ORDER BY id")
        XCTAssertEqual(try back.map { try $0.timestamp(0) }, instants)
        XCTAssertEqual(try back.map { try $0.timestamp(1) }, instants)
        // The server agrees on what the numbers mean.
        let server = try connection.query(
            "SELECT '2025-11-24 16:00:00.123456+00'::timestamptz, $1::timestamptz = '1970-01-01 00:00:00.000001+00', "
                + "extract(epoch FROM $2::timestamptz)::float8, 'infinity'::timestamptz",
            [.timestamptz(1), .timestamptz(1_764_000_000_123_456)])[0]
        XCTAssertEqual(try server.timestamp(0), 1_764_000_000_123_456)
        XCTAssertEqual(try server.bool(1), true)
        XCTAssertEqual(try server.double(2), 1_764_000_000.123456, accuracy: 1e-6)
        XCTAssertEqual(try server.timestamp(3), Int64.max)
        // Not a timestamp column.
        XCTAssertNotNil(expectError(try connection.query("SELECT 1::int8")[0].timestamp(0)))
    }

    func testDeclaredTypesConvertValues() throws {
        let connection = try connect()
        try connection.execute(script: "CREATE TABLE c (small int4, doc jsonb, at timestamp, f float8)")
        let insert = PostgresStatement(
            "INSERT INTO c VALUES ($1, $2, $3, $4)", parameterTypes: [.int4, .jsonb, .timestamp, .float8])
        try connection.query(insert, [42, .text(#"{"k": true}"#), .timestamptz(1_000_000), 3])
        let row = try connection.query("SELECT small, doc, at, f FROM c")[0]
        XCTAssertEqual(try row.int64(0), 42)
        XCTAssertEqual(try row.string(1), #"{"k": true}"#)
        XCTAssertEqual(try row.timestamp(2), 1_000_000)
        XCTAssertEqual(try row.double(3), 3)
        // A value that does not fit, or cannot be sent as the declared type, is refused before sending.
        let overflow = expectError(try connection.query(insert, [.int8(1 << 40), .null, .null, .null]))
        XCTAssertEqual(overflow?.kind, .client)
        XCTAssertTrue(overflow?.message.contains("$1") == true, overflow?.message ?? "")
        XCTAssertEqual(overflow?.statement, insert.sql)
        XCTAssertEqual(expectError(try connection.query(insert, [.bytea([1]), .null, .null, .null]))?.kind, .client)
        XCTAssertEqual(expectError(try connection.query(insert, [1]))?.kind, .client)  // wrong count
    }

    func testNumericKeepsEveryDigit() throws {
        let connection = try connect()
        let samples = [
            "0", "0.00", "7", "-12.3400", "10000", "0.0001", "-0.000001", ".5", "99999999.9999",
            "123456789012345678901234567890.000000001", "NaN", "Infinity", "-Infinity",
        ]
        for sample in samples {
            let row = try connection.query("SELECT $1::numeric, $1::numeric::text", [.numeric(sample)])[0]
            XCTAssertEqual(try row.string(0), try row.string(1), sample)  // our decoding = the server's text
            XCTAssertEqual(try row.value(0), .numeric(try row.string(1)))
        }
        // Into a DECIMAL(5,4) column (the seed's change failure rate), from text and integers.
        try connection.execute(script: "CREATE TABLE rates (rate DECIMAL(5,4), count numeric)")
        let insert = PostgresStatement("INSERT INTO rates VALUES ($1, $2)", parameterTypes: [.numeric, .numeric])
        try connection.query(insert, [.text("0.25"), .int8(Int64.max)])
        let row = try connection.query("SELECT rate, count FROM rates")[0]
        XCTAssertEqual(try row.string(0), "0.2500")
        XCTAssertEqual(try row.double(0), 0.25)
        XCTAssertEqual(try row.string(1), String(Int64.max))
        XCTAssertEqual(expectError(try connection.query("SELECT $1::numeric", [.numeric("1.2.3")]))?.kind, .client)
    }

    func testIntervalAndArrays() throws {
        let connection = try connect()
        let interval = PostgresInterval(months: 14, days: -3, microseconds: 3_723_000_001)
        let row = try connection.query(
            "SELECT $1::interval, $1::interval::text, $2::text[], $3::int8[], '{}'::text[], ARRAY['a', NULL]::text[]",
            [
                .interval(interval), .array(["x", "é \"q\"", .null, ""], of: .text),
                .array([.int8(Int64.min), .int8(0)], of: .int8),
            ])[0]
        XCTAssertEqual(try row.get(0, as: PostgresInterval.self), interval)
        XCTAssertEqual(try row.string(1), "1 year 2 mons -3 days +01:02:03.000001")
        XCTAssertEqual(try row.array(2, of: String?.self), ["x", "é \"q\"", nil, ""])
        XCTAssertEqual(try row.array(3, of: Int64.self), [Int64.min, 0])
        XCTAssertEqual(try row.array(4, of: String.self), [])
        XCTAssertEqual(try row.value(5), .array(["a", .null], of: .text))
        XCTAssertNotNil(expectError(try row.array(5, of: String.self)))  // a NULL element needs String?
        XCTAssertNotNil(expectError(try row.array(0, of: String.self)))  // not an array
    }
}
