import DeployLogEvents
import XCTest

final class JSONParserTests: XCTestCase {
    // MARK: Helpers

    private func parseError(_ bytes: [UInt8]) -> JSONParseError? {
        do throws(JSONParseError) {
            let value = try JSONParser.parse(bytes)
            XCTFail("accepted \(String(decoding: bytes, as: UTF8.self).debugDescription) as \(value)")
            return nil
        } catch {
            return error
        }
    }

    /// Asserts `text` is rejected at byte `offset` with a message containing `fragment`.
    private func assertRejects(
        _ text: String, at offset: Int, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        assertRejects(Array(text.utf8), at: offset, fragment, file: file, line: line)
    }

    private func assertRejects(
        _ bytes: [UInt8], at offset: Int, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let error = parseError(bytes) else { return }
        let shown = String(decoding: bytes, as: UTF8.self).debugDescription
        XCTAssertEqual(error.offset, offset, "\(shown): \(error)", file: file, line: line)
        XCTAssertTrue(error.message.contains(fragment), "\(shown): \(error) lacks \(fragment.debugDescription)", file: file, line: line)
    }

    private func number(_ literal: String, file: StaticString = #filePath, line: UInt = #line) -> JSONNumber? {
        do {
            guard case .number(let n) = try JSONParser.parse(literal) else {
                XCTFail("\(literal) is not a number", file: file, line: line)
                return nil
            }
            return n
        } catch {
            XCTFail("\(literal): \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: Accepting

    func testScalars() throws {
        XCTAssertEqual(try JSONParser.parse("null"), .null)
        XCTAssertEqual(try JSONParser.parse("true"), .bool(true))
        XCTAssertEqual(try JSONParser.parse("false"), .bool(false))
        XCTAssertEqual(try JSONParser.parse("\"hi\""), .string("hi"))
        XCTAssertEqual(try JSONParser.parse("\"\""), .string(""))
        XCTAssertEqual(try JSONParser.parse("42"), .number(JSONNumber(42)))
        XCTAssertEqual(try JSONParser.parse("[]"), .array([]))
        XCTAssertEqual(try JSONParser.parse("{}"), .object(JSONObject()))
    }

    func testWhitespaceAroundTokens() throws {
        let value = try JSONParser.parse(" \t\r\n{ \"a\" :\n[ 1 ,\t2 ] , \"b\" : { } }\r\n ")
        XCTAssertEqual(value, ["a": [1, 2], "b": .object(JSONObject())])
    }

    func testNestedValues() throws {
        let text = #"{"name":"pipeline-7","stages":[{"order":1,"ok":true},{"order":2,"ok":false,"err":null}],"n":-3.25}"#
        let value = try JSONParser.parse(text)
        XCTAssertEqual(value.objectValue?["name"], "pipeline-7")
        XCTAssertEqual(value.objectValue?["stages"]?.arrayValue?.count, 2)
        XCTAssertEqual(value.objectValue?["stages"]?.arrayValue?[1].objectValue?["err"], .null)
        XCTAssertEqual(value.objectValue?["n"]?.numberValue?.text, "-3.25")
    }

    func testObjectsComeOutSortedByUTF8Bytes() throws {
        let value = try JSONParser.parse(#"{"b":1,"a":2,"é":3,"z":4,"Z":5,"😀":6,"｡":7,"":8,"aa":9}"#)
        // U+FF61 sorts before U+1F600 by code point (and UTF-8 bytes), though not by UTF-16.
        XCTAssertEqual(value.objectValue?.keys, ["", "Z", "a", "aa", "b", "z", "é", "｡", "😀"])
        XCTAssertEqual(value.canonicalString, #"{"":8,"Z":5,"a":2,"aa":9,"b":1,"z":4,"é":3,"｡":7,"😀":6}"#)
    }

    func testCanonicallyEquivalentKeysAreDistinct() throws {
        // "é" precomposed (C3 A9) and decomposed (65 CC 81): different JSON keys.
        let value = try JSONParser.parse("{\"\u{E9}\":1,\"e\u{301}\":2}")
        let object = try XCTUnwrap(value.objectValue)
        XCTAssertEqual(object.count, 2)
        XCTAssertEqual(Array(object.members[0].key.utf8), [0x65, 0xCC, 0x81])
        XCTAssertEqual(object["\u{E9}"], 1)
        XCTAssertEqual(object["e\u{301}"], 2)
    }

    func testEscapes() throws {
        let value = try JSONParser.parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u00E9\u2028\ud83d\ude00\u0000x""#)
        XCTAssertEqual(value, .string("\"\\/\u{8}\u{C}\n\r\tAéé\u{2028}😀\u{0}x"))
    }

    func testRawUnicodeInStrings() throws {
        let s = "héllo wörld – 日本語 😀 \u{2028} \u{7F} \u{10FFFF} \u{FEFF}"
        XCTAssertEqual(try JSONParser.parse("\"\(s)\""), .string(s))
    }

    func testLongStringsAcrossWordBoundaries() throws {
        // The scanner reads eight bytes at a time; put the special byte at every position.
        for length in 0..<40 {
            for position in 0...length {
                var chars = Array(repeating: "a", count: length)
                var decoded = chars
                if position < length {
                    chars[position] = "\\n"
                    decoded[position] = "\n"
                }
                let body = chars.joined()
                let expected = decoded.joined()
                XCTAssertEqual(try JSONParser.parse("\"\(body)\""), .string(expected))
            }
        }
        let long = String(repeating: "abcdefghé", count: 1000)
        XCTAssertEqual(try JSONParser.parse("\"\(long)\""), .string(long))
    }

    func testOverloadsAgree() throws {
        let text = #"{"a":[1,"x",null]}"#
        let expected = try JSONParser.parse(text)
        XCTAssertEqual(try JSONParser.parse(Array(text.utf8)), expected)
        let padded = Array("xx".utf8) + Array(text.utf8) + Array("yy".utf8)
        XCTAssertEqual(try JSONParser.parse(padded[2..<(padded.count - 2)]), expected)
        let raw = Array(text.utf8)
        XCTAssertEqual(try raw.withUnsafeBytes { try JSONParser.parse($0) }, expected)
        // Offsets in a slice count from the slice's start.
        let bad = Array("xx[1,]yy".utf8)
        XCTAssertThrowsError(try JSONParser.parse(bad[2..<6])) { error in
            XCTAssertEqual((error as? JSONParseError)?.offset, 3)
        }
    }

    func testLargeContainers() throws {
        // More members and elements than the parser's initial stacks hold, nested.
        let keys = (0..<300).map { "k\($0)" }
        let members = keys.reversed().map { #""\#($0)":[\#(Array(repeating: "1", count: 40).joined(separator: ","))]"# }
        let text = "{" + members.joined(separator: ",") + "}"
        let object = try XCTUnwrap(try JSONParser.parse(text).objectValue)
        XCTAssertEqual(object.keys, keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(object["k7"]?.arrayValue?.count, 40)
        let array = try JSONParser.parse("[" + (0..<5000).map { "[\($0),{\"v\":\($0)}]" }.joined(separator: ",") + "]")
        XCTAssertEqual(array.arrayValue?.count, 5000)
        XCTAssertEqual(array.arrayValue?[4321], [4321, ["v": 4321]])
    }

    // MARK: Numbers

    func testIntegerLiteralsKeepTheirDigits() {
        let big = "123456789012345678901234567890"
        XCTAssertEqual(number(big)?.text, big)
        XCTAssertEqual(number(big)?.isInteger, true)
        XCTAssertEqual(number("-" + big)?.text, "-" + big)
        XCTAssertEqual(number("0")?.text, "0")
        XCTAssertEqual(number("-0")?.text, "0")
        XCTAssertEqual(number("-0")?.isInteger, true)
        XCTAssertEqual(number("9223372036854775808")?.text, "9223372036854775808")
        XCTAssertEqual(number("-17")?.int64Value, -17)
    }

    func testNonIntegerLiteralsAreCanonicalised() {
        let cases: [(String, String)] = [
            ("1.50", "1.5"),
            ("1E5", "100000.0"),
            ("1e5", "100000.0"),
            ("1.0", "1.0"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("1e-5", "1e-05"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("-0.0", "-0.0"),
            ("0.0", "0.0"),
            ("0e10", "0.0"),
            ("-0e0", "-0.0"),
            ("1e-400", "0.0"),
            ("-1e-400", "-0.0"),
            ("10.0e1", "100.0"),
            ("0.1", "0.1"),
            ("12345678901234567890.0", "1.2345678901234567e+19"),
            ("1.5E+300", "1.5e+300"),
            ("123.456e-2", "1.23456"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("9007199254740993.0", "9007199254740992.0"),
            ("1e22", "1e+22"),
            ("-2.5e-7", "-2.5e-07"),
        ]
        for (literal, canonical) in cases {
            let n = number(literal)
            XCTAssertEqual(n?.text, canonical, literal)
            XCTAssertEqual(n?.isInteger, false, literal)
        }
    }

    func testLiteralInitialiser() {
        XCTAssertEqual(JSONNumber(literal: "1.50")?.text, "1.5")
        XCTAssertEqual(JSONNumber(literal: "-0")?.text, "0")
        XCTAssertNil(JSONNumber(literal: "01"))
        XCTAssertNil(JSONNumber(literal: "1 "))
        XCTAssertNil(JSONNumber(literal: ""))
        XCTAssertNil(JSONNumber(literal: "1e999"))
        XCTAssertNil(JSONNumber(literal: "NaN"))
    }

    // MARK: Rejecting

    func testRejectsTrailingData() {
        assertRejects("1 2", at: 2, "unexpected '2' after the JSON value")
        assertRejects("{} x", at: 3, "after the JSON value")
        assertRejects("[1]]", at: 3, "after the JSON value")
        assertRejects("true\u{0}", at: 4, "byte 0x00")
    }

    func testRejectsEmptyInput() {
        assertRejects("", at: 0, "found end of input")
        assertRejects("   ", at: 3, "expected a JSON value, found end of input")
    }

    func testRejectsBadStructure() {
        assertRejects("[1,]", at: 3, "expected a JSON value, found ']'")
        assertRejects(#"{"a":1,}"#, at: 7, "expected a string key in object")
        assertRejects(#"{"a" 1}"#, at: 5, #"expected ':' after object key "a""#)
        assertRejects(#"{"a":1 "b":2}"#, at: 7, "expected ',' or '}' after object member")
        assertRejects("[1 2]", at: 3, "expected ',' or ']' after array element")
        assertRejects(#"{"a":1"#, at: 6, "found end of input")
        assertRejects("[", at: 1, "found end of input")
        assertRejects("{1:2}", at: 1, "expected a string key")
        assertRejects("{'a':1}", at: 1, "expected a string key")
        assertRejects("tru", at: 0, "invalid literal")
        assertRejects("nul", at: 0, "invalid literal")
        assertRejects("True", at: 0, "expected a JSON value, found 'T'")
        assertRejects("\u{FEFF}1", at: 0, "byte 0xEF")
        assertRejects("\u{C}1", at: 0, "byte 0x0C")
        assertRejects(#"{"a":}"#, at: 5, "expected a JSON value, found '}'")
    }

    func testErrorDescription() {
        let text = #"{"type":"x","stream" 1}"#
        guard let error = parseError(Array(text.utf8)) else { return }
        XCTAssertEqual(error.description, #"at byte 21: expected ':' after object key "stream""#)
        XCTAssertEqual(error, JSONParseError(offset: 21, message: #"expected ':' after object key "stream""#))
    }

    func testRejectsDuplicateKeys() {
        assertRejects(#"{"a":1,"a":2}"#, at: 7, #"duplicate key "a""#)
        assertRejects(#"{"b":1,"a":2,"b":3}"#, at: 13, #"duplicate key "b""#)
        assertRejects(#"{"x":{"k":1,"j":2,"k":3}}"#, at: 18, #"duplicate key "k""#)
        // Escaped and raw spellings of the same key are the same key.
        assertRejects(#"{"é":1,"\u00e9":2}"#, at: 8, "duplicate key \"é\"")
        assertRejects(#"{"a\n":1,"a\u000a":2}"#, at: 9, #"duplicate key "a\n""#)
        // The same key in different objects is fine.
        XCTAssertNoThrow(try JSONParser.parse(#"{"a":{"a":1},"b":{"a":2}}"#))
    }

    func testRejectsInvalidUTF8() {
        let q = UInt8(ascii: "\"")
        assertRejects([q, 0x61, 0xC3, 0x28, q], at: 2, "invalid UTF-8")  // bad continuation
        assertRejects([q, 0xC0, 0x80, q], at: 1, "invalid UTF-8")  // overlong NUL
        assertRejects([q, 0xE0, 0x80, 0xAF, q], at: 1, "invalid UTF-8")  // overlong '/'
        assertRejects([q, 0xED, 0xA0, 0x80, q], at: 1, "invalid UTF-8")  // encoded surrogate
        assertRejects([q, 0xF4, 0x90, 0x80, 0x80, q], at: 1, "invalid UTF-8")  // above U+10FFFF
        assertRejects([q, 0xF5, 0x80, 0x80, 0x80, q], at: 1, "invalid UTF-8")
        assertRejects([q, 0x80, q], at: 1, "invalid UTF-8")  // lone continuation
        assertRejects([q, 0xFF, q], at: 1, "invalid UTF-8")
        assertRejects([q, 0x61, 0x62, 0xE2, 0x82], at: 3, "invalid UTF-8")  // truncated at end
        assertRejects([q, 0x5C, 0x6E, 0xC3, q], at: 3, "invalid UTF-8")  // after an escape
        assertRejects(Array("\"abcdefghijklmnop".utf8) + [0xC3, 0x28, q], at: 17, "invalid UTF-8")
        assertRejects([0xC3, 0xA9], at: 0, "expected a JSON value, found byte 0xC3")
    }

    func testRejectsUnescapedControlCharacters() {
        assertRejects("\"a\nb\"", at: 2, "unescaped control character U+000A")
        assertRejects("\"\t\"", at: 1, "U+0009")
        assertRejects("\"\u{0}\"", at: 1, "U+0000")
        assertRejects("\"\u{1F}\"", at: 1, "U+001F")
        assertRejects("\"x\\n\u{1}\"", at: 4, "U+0001")
        assertRejects("\"abcdefghijklmn\u{1B}\"", at: 15, "U+001B")
        XCTAssertEqual(try JSONParser.parse("\"\u{7F}\""), .string("\u{7F}"))
    }

    func testRejectsInvalidEscapes() {
        assertRejects(#""\x""#, at: 1, #"invalid escape '\x'"#)
        assertRejects(#""ab\'""#, at: 3, #"invalid escape '\''"#)
        assertRejects(#""\U0041""#, at: 1, "invalid escape")
        assertRejects(#""\u12G4""#, at: 1, "expected 4 hex digits")
        assertRejects(#""\u12""#, at: 1, "expected 4 hex digits")
        assertRejects(#""\u"#, at: 1, "expected 4 hex digits")
        assertRejects(#""\"#, at: 1, "unterminated string")
        assertRejects(#""abc"#, at: 0, "unterminated string")
        assertRejects(#""ab\n"#, at: 0, "unterminated string")
    }

    func testRejectsUnpairedSurrogates() {
        assertRejects(#""\uD800""#, at: 1, #"unpaired high surrogate \uD800"#)
        assertRejects(#""ab\ud83dx""#, at: 3, "unpaired high surrogate")
        assertRejects(#""\ud83d\u0041""#, at: 1, "unpaired high surrogate")
        assertRejects(#""\ud83d\ud83d""#, at: 1, "unpaired high surrogate")
        assertRejects(#""\uDC00""#, at: 1, #"unpaired low surrogate \uDC00"#)
        assertRejects(#""\ude00\ud83d""#, at: 1, "unpaired low surrogate")
        assertRejects(#""\ud83d"#, at: 1, "unpaired high surrogate")
    }

    func testRejectsBadNumbers() {
        assertRejects("01", at: 0, "leading zeros")
        assertRejects("-01", at: 0, "leading zeros")
        assertRejects("[00]", at: 1, "leading zeros")
        assertRejects("1.", at: 2, "expected a digit after '.'")
        assertRejects("1.e5", at: 2, "expected a digit after '.'")
        assertRejects("1e", at: 2, "expected a digit in the exponent")
        assertRejects("1e+", at: 3, "expected a digit in the exponent")
        assertRejects("-", at: 1, "expected a digit after '-'")
        assertRejects("-a", at: 1, "expected a digit after '-'")
        assertRejects(".5", at: 0, "expected a JSON value, found '.'")
        assertRejects("+1", at: 0, "expected a JSON value, found '+'")
        assertRejects("0x10", at: 1, "after the JSON value")
        assertRejects("1e400", at: 0, "too large")
        assertRejects("[1, -1.5e400]", at: 4, "too large")
    }

    func testRejectsNaNAndInfinity() {
        assertRejects("NaN", at: 0, "NaN is not a valid JSON number")
        assertRejects("Infinity", at: 0, "Infinity is not a valid JSON number")
        assertRejects("-Infinity", at: 0, "-Infinity is not a valid JSON number")
        assertRejects("[1,NaN]", at: 3, "NaN")
        assertRejects(#"{"a":-Infinity}"#, at: 5, "-Infinity")
        assertRejects("nan", at: 0, "invalid literal")
        assertRejects("-Inf", at: 1, "expected a digit after '-'")
    }

    // MARK: Nesting

    func testNestingUpTo512IsAccepted() throws {
        let depth = JSONParser.maxDepth
        XCTAssertEqual(depth, 512)
        var value = try JSONParser.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        var levels = 0
        while case .array(let a) = value {
            levels += 1
            guard let first = a.first else { break }
            value = first
        }
        XCTAssertEqual(levels, depth)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        XCTAssertNoThrow(try JSONParser.parse(objects))
    }

    func testNestingDeeperThan512IsRejected() {
        let arrays = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        assertRejects(arrays, at: 512, "nesting deeper than 512")
        let objects = String(repeating: #"{"a":"#, count: 513) + "1" + String(repeating: "}", count: 513)
        assertRejects(objects, at: 512 * 5, "nesting deeper than 512")
        // A very deep input fails cleanly rather than exhausting the stack.
        assertRejects(String(repeating: "[", count: 100_000), at: 512, "nesting deeper than 512")
    }

    // MARK: Round trips

    func testCanonicalInputRoundTripsByteForByte() throws {
        let texts = [
            #"{"a":[1,2.5,"x",null,true,false,{}],"b":{"c":[]},"d":"\"\\\n\u0001"}"#,
            #"[-1,0,1e+16,1e-05,0.0001,123456789012345678901234567890,-0.0]"#,
            #""é 😀 \u001f""#,
            #"{"":{"":{"":""}}}"#,
        ]
        for text in texts {
            XCTAssertEqual(try JSONParser.parse(text).canonicalString, text)
        }
    }
}
