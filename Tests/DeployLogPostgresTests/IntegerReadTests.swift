import DeployLogPostgres
import XCTest

/// `int64` and `int32` read a binary field of their own type straight from its bytes; every
/// other field goes through `get`. Both ways must agree, values and errors alike.
final class IntegerReadTests: PostgresTestCase {
    private func outcome<T>(_ body: () throws -> T) -> String {
        do { return "\(try body())" } catch { return "error: \(error)" }
    }

    func testTheDirectReadAgreesWithGetForEveryKindOfField() throws {
        let connection = try connect()
        let sql = """
            SELECT 9223372036854775807::int8, (-9223372036854775807 - 1)::int8, 2147483647::int4, \
            (-2147483647 - 1)::int4, 0::int8, -5::int2, NULL::int8, NULL::int4, 7::oid, 'x'::text, \
            '12'::text, 3000000000::int8, true
            """
        let binary = try connection.query(sql)[0]
        let text = try connection.execute(script: sql)[0][0]
        for row in [binary, text] {
            for column in -1...(row.count) {
                XCTAssertEqual(
                    outcome { try row.int64(column) }, outcome { try row.get(column, as: Int64.self) }, "int64 \(column)")
                XCTAssertEqual(
                    outcome { try row.int32(column) }, outcome { try row.get(column, as: Int32.self) }, "int32 \(column)")
            }
        }
        XCTAssertEqual(try binary.int64(0), Int64.max)
        XCTAssertEqual(try binary.int64(1), Int64.min)
        XCTAssertEqual(try binary.int32(2), Int32.max)
        XCTAssertEqual(try binary.int32(3), Int32.min)
        XCTAssertEqual(try text.int32(3), Int32.min)
    }
}
