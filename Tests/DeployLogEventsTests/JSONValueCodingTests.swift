import DeployLogEvents
import Foundation
import XCTest

private struct Check: Codable, Equatable {
    enum Status: String, Codable { case pass = "PASS", warning = "WARNING", fail = "FAIL" }
    var name: String
    var status: Status
    var detail: String?
    var durationMs: Int
}

private struct Health: Codable, Equatable {
    var environment: String
    var checks: [Check]
    var stageOrder: [Int]
    var ratio: Double
    var weight: Float
    var active: Bool
    var config: [String: String]
    var extra: JSONValue
    var tags: Set<String>
    var note: String?
    var counts: [Int64]
    var small: UInt8
}

private struct Numbers: Codable, Equatable {
    var i: Int
    var i8: Int8
    var i16: Int16
    var i32: Int32
    var i64: Int64
    var u: UInt
    var u8: UInt8
    var u16: UInt16
    var u32: UInt32
    var u64: UInt64
    var d: Double
    var f: Float
}

/// Hand-written coding with nested and super containers.
private class Base: Codable {
    var id: Int
    init(id: Int) { self.id = id }
}

private final class Derived: Base {
    var name: String
    var point: (x: Int, y: Int)
    var matrix: [[Int]]

    init(id: Int, name: String, point: (Int, Int), matrix: [[Int]]) {
        self.name = name
        self.point = point
        self.matrix = matrix
        super.init(id: id)
    }

    enum Keys: String, CodingKey { case name, point, matrix, x, y }

    required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        name = try c.decode(String.self, forKey: .name)
        let p = try c.nestedContainer(keyedBy: Keys.self, forKey: .point)
        point = (try p.decode(Int.self, forKey: .x), try p.decode(Int.self, forKey: .y))
        var rows = try c.nestedUnkeyedContainer(forKey: .matrix)
        var matrix: [[Int]] = []
        while !rows.isAtEnd {
            var row = try rows.nestedUnkeyedContainer()
            var values: [Int] = []
            while !row.isAtEnd { values.append(try row.decode(Int.self)) }
            matrix.append(values)
        }
        self.matrix = matrix
        try super.init(from: c.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(name, forKey: .name)
        var p = c.nestedContainer(keyedBy: Keys.self, forKey: .point)
        try p.encode(point.x, forKey: .x)
        try p.encode(point.y, forKey: .y)
        var rows = c.nestedUnkeyedContainer(forKey: .matrix)
        for r in matrix {
            var row = rows.nestedUnkeyedContainer()
            for v in r { try row.encode(v) }
        }
        try super.encode(to: c.superEncoder())
    }
}

final class JSONValueCodingTests: XCTestCase {
    private let encoder = JSONValueEncoder()
    private let decoder = JSONValueDecoder()

    private func sample() -> Health {
        Health(
            environment: "staging",
            checks: [
                Check(name: "db", status: .pass, detail: nil, durationMs: 12),
                Check(name: "api", status: .warning, detail: "slow", durationMs: 840),
            ],
            stageOrder: [3, 1, 2],
            ratio: 0.25,
            weight: 0.1,
            active: true,
            config: ["b": "2", "a": "1"],
            extra: ["big": .number(JSONNumber(literal: "123456789012345678901234567890")!), "list": [1, "x", nil]],
            tags: ["blue"],
            note: nil,
            counts: [.min, .max],
            small: 255)
    }

    func testRoundTrip() throws {
        let value = try encoder.encode(sample())
        XCTAssertEqual(
            value.canonicalString,
            #"{"active":true,"checks":[{"durationMs":12,"name":"db","status":"PASS"},"#
                + #"{"detail":"slow","durationMs":840,"name":"api","status":"WARNING"}],"#
                + #""config":{"a":"1","b":"2"},"counts":[-9223372036854775808,9223372036854775807],"#
                + #""environment":"staging","extra":{"big":123456789012345678901234567890,"list":[1,"x",null]},"#
                + #""ratio":0.25,"small":255,"stageOrder":[3,1,2],"tags":["blue"],"weight":0.1}"#)
        XCTAssertEqual(try decoder.decode(Health.self, from: value), sample())
        // And through text.
        let reparsed = try JSONParser.parse(value.canonicalBytes())
        XCTAssertEqual(try decoder.decode(Health.self, from: reparsed), sample())
    }

    func testAllNumberTypes() throws {
        let n = Numbers(
            i: -1, i8: .min, i16: .max, i32: .min, i64: .max, u: .max, u8: .max, u16: 7, u32: .max, u64: .max,
            d: 1e-5, f: 1.5)
        let value = try encoder.encode(n)
        XCTAssertEqual(
            value.canonicalString,
            #"{"d":1e-05,"f":1.5,"i":-1,"i16":32767,"i32":-2147483648,"i64":9223372036854775807,"i8":-128,"#
                + #""u":18446744073709551615,"u16":7,"u32":4294967295,"u64":18446744073709551615,"u8":255}"#)
        XCTAssertEqual(try decoder.decode(Numbers.self, from: value), n)
    }

    func testIntegersOnlyFromIntegersThatFit() throws {
        XCTAssertEqual(try decoder.decode(Int.self, from: 42), 42)
        XCTAssertEqual(try decoder.decode(Double.self, from: 42), 42.0)
        XCTAssertEqual(try decoder.decode(Float.self, from: 2.5), 2.5)
        XCTAssertThrowsError(try decoder.decode(Int.self, from: 1.0)) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data: expected integer, found number")
        }
        XCTAssertThrowsError(try decoder.decode(UInt8.self, from: 256)) { error in
            guard case .dataCorrupted = error as? DecodingError else { return XCTFail("\(error)") }
            XCTAssertEqual(JSONValueDecoder.describe(error), "data: integer 256 does not fit in UInt8")
        }
        XCTAssertThrowsError(try decoder.decode(UInt.self, from: -1))
        XCTAssertThrowsError(try decoder.decode(Int64.self, from: .number(JSONNumber(literal: "9223372036854775808")!)))
        XCTAssertThrowsError(try decoder.decode(Double.self, from: .number(JSONNumber(literal: "1" + String(repeating: "0", count: 400))!)))
        XCTAssertThrowsError(try decoder.decode(Int.self, from: "1")) { error in
            guard case .typeMismatch = error as? DecodingError else { return XCTFail("\(error)") }
        }
    }

    func testFloatKeepsItsShortestDigits() throws {
        XCTAssertEqual(try encoder.encode(Float(0.1)).canonicalString, "0.1")
        XCTAssertEqual(try encoder.encode(0.1).canonicalString, "0.1")
        XCTAssertEqual(try encoder.encode([Float(1e-7)]).canonicalString, "[1e-07]")
    }

    func testNonFiniteDoublesDoNotEncode() {
        XCTAssertThrowsError(try encoder.encode(["x": Double.nan])) { error in
            guard case .invalidValue(_, let context) = error as? EncodingError else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["x"])
        }
        XCTAssertThrowsError(try encoder.encode([Double.infinity]))
        XCTAssertThrowsError(try encoder.encode(Float.infinity))
    }

    func testOptionals() throws {
        struct Opt: Codable, Equatable {
            var a: String?
            var b: Int?
        }
        XCTAssertEqual(try encoder.encode(Opt(a: nil, b: 1)).canonicalString, #"{"b":1}"#)
        XCTAssertEqual(try decoder.decode(Opt.self, from: ["b": 1]), Opt(a: nil, b: 1))
        XCTAssertEqual(try decoder.decode(Opt.self, from: ["a": nil, "b": nil]), Opt(a: nil, b: nil))
        XCTAssertEqual(try decoder.decode(Opt.self, from: [:]), Opt(a: nil, b: nil))
        XCTAssertThrowsError(try decoder.decode(Opt.self, from: ["a": 1])) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data.a: expected string, found integer")
        }
        XCTAssertEqual(try decoder.decode([Int?].self, from: [1, nil]), [1, nil])
        XCTAssertEqual(try encoder.encode([Int?]([1, nil])).canonicalString, "[1,null]")
        XCTAssertEqual(try decoder.decode(String?.self, from: nil), nil)
    }

    func testErrorMessagesNameTheField() throws {
        var value = try encoder.encode(sample()).objectValue!
        var checks = value["checks"]!.arrayValue!
        var second = checks[1].objectValue!
        second["status"] = 3
        checks[1] = .object(second)
        value["checks"] = .array(checks)
        XCTAssertThrowsError(try decoder.decode(Health.self, from: .object(value))) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data.checks[1].status: expected string, found integer")
            guard case .typeMismatch(_, let context) = error as? DecodingError else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["checks", "Index 1", "status"])
            XCTAssertEqual(context.codingPath.map(\.intValue), [nil, 1, nil])
        }

        var missing = try encoder.encode(sample()).objectValue!
        missing.removeValue(forKey: "stageOrder")
        XCTAssertThrowsError(try decoder.decode(Health.self, from: .object(missing))) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data.stageOrder: missing required field")
            guard case .keyNotFound(let key, _) = error as? DecodingError else { return XCTFail("\(error)") }
            XCTAssertEqual(key.stringValue, "stageOrder")
        }

        var null = try encoder.encode(sample()).objectValue!
        null["environment"] = .null
        XCTAssertThrowsError(try decoder.decode(Health.self, from: .object(null))) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data.environment: expected string, found null")
            guard case .valueNotFound = error as? DecodingError else { return XCTFail("\(error)") }
        }

        var badEnum = try encoder.encode(sample()).objectValue!
        badEnum["checks"] = [["name": "x", "status": "PASSED", "durationMs": 1]]
        XCTAssertThrowsError(try decoder.decode(Health.self, from: .object(badEnum))) { error in
            XCTAssertTrue(JSONValueDecoder.describe(error).hasPrefix("data.checks[0].status: "), "\(error)")
        }

        var badOrder = try encoder.encode(sample()).objectValue!
        badOrder["stageOrder"] = [1, 2.5]
        XCTAssertThrowsError(try decoder.decode(Health.self, from: .object(badOrder))) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error, root: "event"), "event.stageOrder[1]: expected integer, found number")
        }

        XCTAssertThrowsError(try decoder.decode(Health.self, from: [1])) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data: expected object, found array")
        }
        XCTAssertThrowsError(try decoder.decode([Int].self, from: ["a": 1])) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error, root: ""), ": expected array, found object")
        }
        struct Other: Error {}
        XCTAssertEqual(JSONValueDecoder.describe(Other()), "data: Other()")
    }

    func testNestedAndSuperContainers() throws {
        let d = Derived(id: 9, name: "n", point: (1, -2), matrix: [[1, 2], [], [3]])
        let value = try encoder.encode(d)
        XCTAssertEqual(value.canonicalString, #"{"matrix":[[1,2],[],[3]],"name":"n","point":{"x":1,"y":-2},"super":{"id":9}}"#)
        let back = try decoder.decode(Derived.self, from: value)
        XCTAssertEqual(back.id, 9)
        XCTAssertEqual(back.name, "n")
        XCTAssertEqual(back.point.x, 1)
        XCTAssertEqual(back.point.y, -2)
        XCTAssertEqual(back.matrix, [[1, 2], [], [3]])
    }

    func testUnkeyedContainerAtEnd() {
        struct Pair: Decodable {
            var a: Int
            var b: Int
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                a = try c.decode(Int.self)
                b = try c.decode(Int.self)
            }
        }
        XCTAssertThrowsError(try decoder.decode(Pair.self, from: [1])) { error in
            guard case .valueNotFound = error as? DecodingError else { return XCTFail("\(error)") }
            XCTAssertEqual(JSONValueDecoder.describe(error), "data[1]: array has only 1 elements")
        }
    }

    func testDictionaries() throws {
        let dict: [String: [Int]] = ["z": [1], "a": [], "é": [2]]
        let value = try encoder.encode(dict)
        XCTAssertEqual(value.canonicalString, #"{"a":[],"z":[1],"é":[2]}"#)
        XCTAssertEqual(try decoder.decode([String: [Int]].self, from: value), dict)
        let intKeys: [Int: String] = [2: "b", 10: "a"]
        XCTAssertEqual(try encoder.encode(intKeys).canonicalString, #"{"10":"a","2":"b"}"#)
        XCTAssertEqual(try decoder.decode([Int: String].self, from: try encoder.encode(intKeys)), intKeys)
    }

    func testJSONValuePassesThrough() throws {
        let value: JSONValue = ["n": .number(JSONNumber(literal: "1.50")!), "big": .number(JSONNumber(literal: "99999999999999999999")!)]
        XCTAssertEqual(try encoder.encode(value), value)
        XCTAssertEqual(try decoder.decode(JSONValue.self, from: value), value)
        let object = value.objectValue!
        XCTAssertEqual(try encoder.encode(object), value)
        XCTAssertEqual(try decoder.decode(JSONObject.self, from: value), object)
        XCTAssertThrowsError(try decoder.decode(JSONObject.self, from: [1]))
        struct Wrapper: Codable, Equatable {
            var payload: JSONValue
            var meta: JSONObject
            var maybe: JSONValue?
        }
        let w = Wrapper(payload: value, meta: object, maybe: nil)
        let encoded = try encoder.encode(w)
        XCTAssertEqual(encoded.canonicalString, #"{"meta":{"big":99999999999999999999,"n":1.5},"payload":{"big":99999999999999999999,"n":1.5}}"#)
        XCTAssertEqual(try decoder.decode(Wrapper.self, from: encoded), w)
    }

    func testJSONValueWithFoundationCoders() throws {
        let text = #"{"a":[1,-2,2.5,"x",null,true,false,{"b":{}}],"c":"é😀","d":18446744073709551615}"#
        let expected = try JSONParser.parse(text)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        XCTAssertEqual(decoded, expected)
        XCTAssertEqual(try JSONDecoder().decode(JSONObject.self, from: Data(text.utf8)), expected.objectValue)

        let foundationEncoder = JSONEncoder()
        foundationEncoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try foundationEncoder.encode(expected)
        XCTAssertEqual(try JSONParser.parse(Array(data)), expected)
    }

    func testMissingKeyIsNotNull() throws {
        // JSONValue is ExpressibleByNilLiteral: a missing key must still read as nil, not .null.
        let object = try XCTUnwrap(try JSONParser.parse(#"{"a":null}"#).objectValue)
        XCTAssertNil(object["missing"])
        XCTAssertEqual(object["a"], .some(.null))
        struct Required: Decodable { var missing: [Int] }
        XCTAssertThrowsError(try decoder.decode(Required.self, from: .object(object))) { error in
            XCTAssertEqual(JSONValueDecoder.describe(error), "data.missing: missing required field")
        }
    }

    func testEncodeNothingThrows() {
        struct Empty: Encodable {
            func encode(to encoder: any Encoder) throws {}
        }
        XCTAssertThrowsError(try encoder.encode(Empty()))
        // Nested, an empty encoding is an empty object (as Foundation does).
        XCTAssertEqual(try encoder.encode(["e": Empty()]).canonicalString, #"{"e":{}}"#)
    }
}
