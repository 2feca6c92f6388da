import DeployLogEvents
import Foundation
import XCTest

final class CanonicalJSONTests: XCTestCase {
    // MARK: Numbers

    func testDoubleCanonicalTextMatchesPythonRepr() {
        let cases: [(Double, String)] = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (100.0, "100.0"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (9007199254740992.0, "9007199254740992.0"),
            (1234567890123456.7, "1234567890123456.8"),
            (1e22, "1e+22"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-100, "1e-100"),
            (.leastNonzeroMagnitude, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"),
            (-Double.greatestFiniteMagnitude, "-1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (123456789.0, "123456789.0"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(JSONNumber.canonicalText(for: value), expected, "\(value)")
            XCTAssertEqual(JSONNumber(value).text, expected)
            XCTAssertEqual(JSONNumber(value).isInteger, false)
        }
    }

    func testCanonicalTextReadsBackExactly() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            let text = JSONNumber.canonicalText(for: d)
            XCTAssertEqual(Double(text)?.bitPattern, d.bitPattern, text)
        }
    }

    // MARK: Strings

    func testStringEscaping() {
        var w = CanonicalJSONWriter()
        w.writeString("a\"b\\c/d\u{8}\u{C}\n\r\t\u{0}\u{1}\u{1F}\u{7F}\u{80}\u{2028}\u{2029}é😀")
        XCTAssertEqual(
            String(decoding: w.bytes, as: UTF8.self),
            "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\u{7F}\u{80}\u{2028}\u{2029}é😀\"")
    }

    func testEveryControlCharacterEscape() {
        let short: [UInt8: String] = [0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"]
        for c in UInt8(0)..<0x20 {
            let expected = short[c] ?? "\\u00" + String(format: "%02x", c)
            XCTAssertEqual(JSONValue.string(String(UnicodeScalar(c))).canonicalString, "\"\(expected)\"")
        }
    }

    func testStringEscapingAtEveryPosition() {
        // The writer skips eight bytes at a time; compare with a byte-at-a-time reference.
        var rng = SplitMix64(seed: 11)
        let alphabet: [Unicode.Scalar] = ["a", "\"", "\\", "\n", "\u{1}", "\u{1F}", " ", "é", "😀", "\u{7F}", "\u{2028}"]
        for _ in 0..<3000 {
            let length = Int(rng.next() % 40)
            var s = ""
            for _ in 0..<length {
                s.unicodeScalars.append(rng.next() % 4 == 0 ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : "x")
            }
            var w = CanonicalJSONWriter()
            w.writeString(s)
            XCTAssertEqual(w.bytes, referenceQuoted(s), s.debugDescription)
        }
    }

    private func referenceQuoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for b in s.utf8 {
            switch b {
            case 0x22: out += Array("\\\"".utf8)
            case 0x5C: out += Array("\\\\".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
            default: out.append(b)
            }
        }
        out.append(0x22)
        return out
    }

    // MARK: Writer

    func testObjectsAndArrays() {
        var o = JSONObject()
        o["zeta"] = 1
        o["alpha"] = ["x", nil, true, false, 2.5]
        o["Beta"] = .object(JSONObject([("b", 1), ("a", 2)]))
        o["é"] = "e"
        XCTAssertEqual(o.canonicalString, #"{"Beta":{"a":2,"b":1},"alpha":["x",null,true,false,2.5],"zeta":1,"é":"e"}"#)
        XCTAssertEqual(JSONValue.object(o).canonicalBytes(), o.canonicalBytes())
        XCTAssertEqual(JSONValue.array([]).canonicalString, "[]")
        XCTAssertEqual(JSONValue.object(JSONObject()).canonicalString, "{}")
        XCTAssertEqual(JSONValue.null.canonicalString, "null")
    }

    func testWriteIntAndASCII() {
        var w = CanonicalJSONWriter(reservingCapacity: 8)
        w.writeASCII("[")
        for v: Int64 in [0, 7, -7, 10, -10, 1_234_567_890, .max, .min] {
            w.writeInt(v)
            w.writeASCII(",")
        }
        w.writeString("k")
        w.writeASCII("]")
        XCTAssertEqual(
            String(decoding: w.bytes, as: UTF8.self),
            #"[0,7,-7,10,-10,1234567890,9223372036854775807,-9223372036854775808,"k"]"#)
    }

    func testNumbersWriteTheirText() {
        let big = JSONNumber(literal: "123456789012345678901234567890")!
        XCTAssertEqual(JSONValue.array([.number(big), 1e16, -0.0, 3]).canonicalString, "[123456789012345678901234567890,1e+16,-0.0,3]")
    }

    // MARK: Agreement with Python

    /// Thousands of pseudo-random values, written in a deliberately messy (but valid) form, are
    /// canonicalised by us and by Python's json module; the bytes must be identical.
    func testCanonicalBytesMatchPython() throws {
        var generator = RandomJSON(rng: SplitMix64(seed: 0xDE9_1065))
        var values: [JSONValue] = []
        var messyInput: [UInt8] = []
        for k in 0..<3000 {
            let value = generator.value(depth: 0)
            values.append(value)
            if k > 0 { messyInput.append(0x0A) }
            messyInput += generator.messy(value)
        }

        // Our side: parse the messy text, write canonically.
        var ours: [[UInt8]] = []
        let lines = messyInput.split(separator: 0x0A, omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, values.count)
        for (line, value) in zip(lines, values) {
            let parsed = try JSONParser.parse(line)
            let bytes = parsed.canonicalBytes()
            // The generated value is canonical already, so writing it directly agrees.
            XCTAssertEqual(bytes, value.canonicalBytes(), String(decoding: line, as: UTF8.self))
            ours.append(bytes)
        }

        // Python's side.
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("deploylog-json-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("canon.py")
        let input = directory.appendingPathComponent("in.ndjson")
        let output = directory.appendingPathComponent("out.ndjson")
        try Data(
            """
            import json, sys
            lines = open(sys.argv[1], "rb").read().split(b"\\n")
            out = [json.dumps(json.loads(l.decode("utf-8")), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8") for l in lines]
            open(sys.argv[2], "wb").write(b"\\n".join(out))
            """.utf8
        ).write(to: script)
        try Data(messyInput).write(to: input)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, input.path, output.path]
        let stderr = Pipe()
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw XCTSkip("cannot run python3 through /usr/bin/env: \(error)")
        }
        let errorOutput = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 127 { throw XCTSkip("python3 is not installed") }
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: errorOutput, as: UTF8.self))

        let python = try Data(contentsOf: output).split(separator: 0x0A, omittingEmptySubsequences: false)
        XCTAssertEqual(python.count, ours.count)
        var mismatches = 0
        for (k, (theirs, mine)) in zip(python, ours).enumerated() where Array(theirs) != mine {
            mismatches += 1
            if mismatches <= 5 {
                XCTFail(
                    """
                    value \(k) differs
                    input:  \(String(decoding: lines[k], as: UTF8.self))
                    python: \(String(decoding: theirs, as: UTF8.self))
                    ours:   \(String(decoding: mine, as: UTF8.self))
                    """)
            }
        }
        XCTAssertEqual(mismatches, 0)
    }
}

// MARK: - Random JSON


/// Random JSON values, and a messy but valid text for each: random whitespace, members in
/// random order, random escapes, non-canonical number spellings.
struct RandomJSON {
    var rng: SplitMix64

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func value(depth: Int) -> JSONValue {
        let kinds = depth >= 4 ? 6 : 8
        switch below(kinds) {
        case 0: return .null
        case 1: return .bool(chance(50))
        case 2: return .number(integer())
        case 3: return .number(double())
        case 4, 5: return .string(string(maxLength: 24))
        case 6:
            return .array((0..<below(6)).map { _ in value(depth: depth + 1) })
        default:
            var o = JSONObject()
            for _ in 0..<below(7) { o[string(maxLength: 8)] = value(depth: depth + 1) }
            return .object(o)
        }
    }

    mutating func integer() -> JSONNumber {
        switch below(4) {
        case 0: return JSONNumber(Int64(below(2001)) - 1000)
        case 1: return JSONNumber(Int64(bitPattern: rng.next()))
        case 2:
            // Beyond 64 bits: the digits must survive exactly.
            var digits = String(1 + below(9))
            for _ in 0..<(18 + below(25)) { digits += String(below(10)) }
            return JSONNumber(literal: chance(50) ? "-" + digits : digits)!
        default: return JSONNumber(0)
        }
    }

    mutating func double() -> JSONNumber {
        var d: Double
        switch below(6) {
        case 0:
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
        case 1:
            // Varied magnitudes around every layout threshold.
            d = Double(below(1_000_000) + 1) / 1000 * pow(10, Double(below(60) - 30))
        case 2: d = Double(below(100_000)) / 100
        case 3: d = pow(10, Double(below(44) - 22))
        case 4: d = Double(below(1 << 20)) * pow(2, Double(below(120) - 60))
        default: d = [0.0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e16, 1e15, 1e-4, 1e-5, 0.1, 9007199254740992][below(10)]
        }
        if chance(30) { d = -d }
        return JSONNumber(d)
    }

    static let scalarPools: [[Unicode.Scalar]] = [
        Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-./:".unicodeScalars),
        (0..<0x20).map { Unicode.Scalar(UInt8($0)) } + ["\"", "\\", "\u{7F}", "/"],
        ["é", "ß", "ñ", "\u{301}", "\u{80}", "\u{7FF}", "\u{800}", "日", "本", "語", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "｡"],
        ["\u{2028}", "\u{2029}", "😀", "🚀", "👍", "\u{1F3FD}", "\u{1F1FA}", "\u{10000}", "\u{10FFFF}", "\u{E000}"],
    ]

    mutating func string(maxLength: Int) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<below(maxLength + 1) {
            let pool = Self.scalarPools[chance(55) ? 0 : 1 + below(3)]
            s.append(pool[below(pool.count)])
        }
        return String(s)
    }

    // MARK: Messy text

    mutating func whitespace() -> [UInt8] {
        guard chance(20) else { return [] }
        return (0..<(1 + below(3))).map { _ in [0x20, 0x09, 0x0D][below(3)] }
    }

    mutating func messy(_ value: JSONValue) -> [UInt8] {
        var out = whitespace()
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let n): out += messyNumber(n)
        case .string(let s): out += messyString(s)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (k, e) in a.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out += messy(e)
            }
            out += whitespace()
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var members = o.members
            for k in members.indices.reversed() where k > 0 { members.swapAt(k, below(k + 1)) }
            for (k, m) in members.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out += whitespace() + messyString(m.key) + whitespace()
                out.append(UInt8(ascii: ":"))
                out += messy(m.value)
            }
            out += whitespace()
            out.append(UInt8(ascii: "}"))
        }
        return out + whitespace()
    }

    mutating func messyNumber(_ n: JSONNumber) -> [UInt8] {
        if n.isInteger {
            return Array((n.text == "0" && chance(30) ? "-0" : n.text).utf8)
        }
        let d = Double(n.text)!
        switch below(5) {
        case 0: return Array(n.text.utf8)
        case 1: return Array(d.description.uppercased().utf8)  // Swift's own layout, 'E'
        case 2:
            // All significant digits as an integer mantissa: 1.5 -> 15e-1.
            let parts = d.description.lowercased().split(separator: "e")
            let mantissa = String(parts[0])
            let exponent = parts.count > 1 ? Int(parts[1])! : 0
            let negative = mantissa.hasPrefix("-")
            let unsigned = negative ? String(mantissa.dropFirst()) : mantissa
            let pieces = unsigned.split(separator: ".", omittingEmptySubsequences: false)
            let fraction = pieces.count > 1 ? String(pieces[1]) : ""
            var digits = Substring(pieces[0] + fraction)
            while digits.count > 1 && digits.first == "0" { digits = digits.dropFirst() }
            return Array("\(negative ? "-" : "")\(digits)e\(exponent - fraction.count)".utf8)
        case 3:
            // Trailing zeros in the fraction.
            let t = n.text
            if let e = t.firstIndex(of: "e") { return Array((t[..<e] + (t.contains(".") ? "00" : ".00") + t[e...]).utf8) }
            return Array((t + "000").utf8)
        default:
            // printf's layout; keep it a non-integer literal ("100" -> "100.0").
            let t = String(format: "%.17g", d)
            return Array((t.contains(".") || t.contains("e") ? t : t + ".0").utf8)
        }
    }

    mutating func messyString(_ s: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        func hex(_ v: UInt32) -> [UInt8] { Array(String(format: chance(50) ? "\\u%04x" : "\\u%04X", v).utf8) }
        for scalar in s.unicodeScalars {
            let v = scalar.value
            let mustEscape = v < 0x20 || v == 0x22 || v == 0x5C
            if !mustEscape && chance(85) {
                out += Array(String(scalar).utf8)
                continue
            }
            switch v {
            case 0x22 where chance(70): out += Array("\\\"".utf8)
            case 0x5C where chance(70): out += Array("\\\\".utf8)
            case 0x2F where chance(50): out += Array("\\/".utf8)
            case 0x08 where chance(70): out += Array("\\b".utf8)
            case 0x0C where chance(70): out += Array("\\f".utf8)
            case 0x0A where chance(70): out += Array("\\n".utf8)
            case 0x0D where chance(70): out += Array("\\r".utf8)
            case 0x09 where chance(70): out += Array("\\t".utf8)
            case 0x10000...:
                let u = v - 0x10000
                out += hex(0xD800 + (u >> 10)) + hex(0xDC00 + (u & 0x3FF))
            default: out += hex(v)
            }
        }
        out.append(0x22)
        return out
    }
}
