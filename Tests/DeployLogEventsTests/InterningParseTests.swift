@testable import DeployLogEvents
import XCTest

/// A parse that shares strings from parse to parse (`_StringInterner`, long store reads) gives
/// the same values as one that does not, whether a string is found in the table or not:
/// short strings are kept by their bytes, long ones by a hash of them.
final class InterningParseTests: XCTestCase {
    private func parseInterning(_ text: String, _ stacks: inout _ParserStacks) throws -> JSONValue {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { b in
            var st = _JSONParserState(b.baseAddress!, count: b.count, stacks: stacks)
            defer { stacks = st.takeStacks() }
            return try st.parseDocument()
        }
    }

    func testInternedStringsAreTheStringsOfTheirBytes() throws {
        // Every length from 0 to 20, strings that differ in their first, middle or last byte
        // only, multi-byte UTF-8, escapes, and lengths around the 8- and 16-byte boundaries.
        var strings: [String] = []
        for n in 0...20 {
            let base = String(repeating: "k", count: n)
            strings.append(base)
            if n > 0 {
                strings.append("x" + base.dropFirst())
                strings.append(base.dropLast() + "y")
                strings.append(String(base.prefix(n / 2)) + "é" + String(base.dropFirst(n / 2 + 1)))
            }
        }
        strings += ["é", "🚀", "a\u{0}b", "line\nbreak", "quote\"d", "ab\u{1F680}cdefghijkl", "\u{E9}", "e\u{301}"]
        var stacks = _ParserStacks(interning: true)
        var rng = SplitMix64(seed: 11)
        for round in 0..<6 {
            // Each round in another order, as keys and as values, so that strings meet strings
            // of other lengths in the table's slots.
            var shuffled = strings
            shuffled.shuffle(using: &rng)
            let array = JSONValue.array(shuffled.map { .string($0) })
            let object = JSONValue.object(JSONObject(shuffled.enumerated().map { ($1, .number(JSONNumber($0))) }))
            for value in [array, object] {
                let text = value.canonicalString
                let plain = try JSONParser.parse(text)
                XCTAssertEqual(plain, value)
                XCTAssertEqual(try parseInterning(text, &stacks), value, "round \(round)")
                // Byte for byte: String's == would take "\u{E9}" for "e\u{301}".
                if case .array(let a) = try parseInterning(text, &stacks) {
                    XCTAssertEqual(a.map { Array($0.stringValue!.utf8) }, shuffled.map { Array($0.utf8) })
                }
            }
        }
    }
}
