/// A JSON text that is not valid: where (byte offset from the start, 0-based) and what.
public struct JSONParseError: Error, CustomStringConvertible, Equatable, Sendable {
    public let offset: Int
    public let message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "at byte \(offset): \(message)" }
}

/// A strict RFC 8259 parser producing `JSONValue`s with objects already in canonical order.
///
/// Rejects: anything but whitespace after the value, duplicate keys in one object, invalid
/// UTF-8, unescaped control characters in strings, invalid escapes, unpaired surrogate escapes,
/// leading zeros, NaN and Infinity, non-integers too large for a double, and nesting deeper
/// than `maxDepth`. Numbers are canonicalised as `JSONNumber` describes.
public enum JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maxDepth = 512

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            throw JSONParseError(offset: 0, message: "expected a JSON value, found end of input")
        }
        var parser = _JSONParserState(base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSONValue in try parse(raw) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSONValue in try parse(raw) }
        }
        return try result.get()
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buf in
            Result { () throws(JSONParseError) -> JSONValue in try parse(UnsafeRawBufferPointer(buf)) }
        }
        return try result.get()
    }
}

// MARK: - The parser

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

/// One parse: a cursor over the input plus stacks of pending values shared by every object and
/// array, so that a container costs one allocation (its own storage, exactly sized) however
/// many members it has.
struct _JSONParserState: ~Copyable {
    let p: UnsafePointer<UInt8>
    let end: Int
    var i = 0
    var depth = 0
    /// Members of the objects being parsed, innermost last.
    var members: _PendingValues<JSONObject.Member>
    /// Elements of the arrays being parsed, innermost last.
    var elements: _PendingValues<JSONValue>
    /// Decoded bytes of a string with escapes.
    var scratch: [UInt8] = []
    /// Strings of earlier parses to share (see `_StringInterner`).
    let strings: _StringInterner?
    /// Whether a string value may also come as a marker of the store's packed form
    /// (`_PackedForm`): only the store-layout decoder of packed bytes sets it.
    let packed: Bool

    init(_ p: UnsafePointer<UInt8>, count: Int) {
        self.init(p, count: count, stacks: _ParserStacks())
    }

    /// A parse that uses `stacks` (empty, and used by no other parse) for its pending values;
    /// `packed`: of the store's packed form rather than JSON text (see `_PackedForm`).
    init(_ p: UnsafePointer<UInt8>, count: Int, stacks: _ParserStacks, packed: Bool = false) {
        self.p = p
        self.end = count
        members = stacks.members
        elements = stacks.elements
        strings = stacks.strings
        self.packed = packed
    }

    /// The stacks, emptied, for another parse (this one is over).
    func takeStacks() -> _ParserStacks {
        members.removeAll()
        elements.removeAll()
        return _ParserStacks(members: members, elements: elements, strings: strings)
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if i != end {
            throw JSONParseError(offset: i, message: "unexpected \(describeByte(at: i)) after the JSON value")
        }
        return value
    }

    // MARK: Helpers

    @inline(__always)
    mutating func skipWhitespace() {
        while i < end {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    func describeByte(at offset: Int) -> String {
        guard offset < end else { return "end of input" }
        let c = p[offset]
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x\(hex2(c))"
    }

    func error(_ message: String, at offset: Int) -> JSONParseError {
        JSONParseError(offset: offset, message: message)
    }

    /// "expected X", with ", found end of input" when the input ran out.
    func expected(_ what: String) -> JSONParseError {
        if i >= end { return JSONParseError(offset: i, message: "expected \(what), found end of input") }
        return JSONParseError(offset: i, message: "expected \(what)")
    }

    // MARK: Values

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard i < end else { throw error("expected a JSON value, found end of input", at: i) }
        switch p[i] {
        case quote:
            return .string(try parseString())
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "N"):
            if matches("NaN") { throw error("NaN is not a valid JSON number", at: i) }
        case UInt8(ascii: "I"):
            if matches("Infinity") { throw error("Infinity is not a valid JSON number", at: i) }
        case _PackedForm.hexMarker...0xFF where packed:
            return .string(try parsePackedString())
        default:
            break
        }
        throw error("expected a JSON value, found \(describeByte(at: i))", at: i)
    }

    /// Inlined: the store-layout decoders call it for each envelope key, with a literal whose
    /// length is then known.
    @inline(__always)
    func matches(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard end - i >= n else { return false }
        return Self.equalBytes(UnsafeRawPointer(p + i), UnsafeRawPointer(word.utf8Start), n)
    }

    /// Whether the `n` bytes at `a` and at `b` are the same: eight at a time, inlined (the
    /// envelope's keys are literals of 8 to 17 bytes, a reused metadata object some 100).
    @inline(__always)
    static func equalBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        var k = 0
        while k + 8 <= n {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
                return false
            }
            k += 8
        }
        while k < n {
            if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
            k += 1
        }
        return true
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        guard matches(word) else {
            throw error("invalid literal: expected '\(word)'", at: i)
        }
        i += word.utf8CodeUnitCount
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = i
        if p[i] == UInt8(ascii: "-") && i + 1 < end && p[i + 1] == UInt8(ascii: "I") {
            i += 1
            if matches("Infinity") { throw error("-Infinity is not a valid JSON number", at: start) }
            i = start
        }
        switch JSONNumber.scanLiteral(p, from: start, end: end) {
        case .failure(let e):
            throw error(e.message, at: e.offset)
        case .success(let scan):
            i = scan.end
            guard let n = JSONNumber.fromScannedLiteral(p + start, count: scan.end - start, isInteger: scan.isInteger)
            else { throw error("number is too large for a double", at: start) }
            return n
        }
    }

    // MARK: Strings

    /// Parses the string at `p[i]` (a quote). The common case, no escapes, builds the `String`
    /// straight from the input bytes.
    mutating func parseString() throws(JSONParseError) -> String {
        let start = i + 1
        let (j, escaped) = try scanString(from: start)
        if escaped { return try parseEscapedString(start: start, escapeAt: j) }
        i = j + 1
        let n = j - start
        if let strings, n <= _StringInterner.maxLength {
            return n >= 16 ? strings.string(p + start, count: n) : strings.shortString(p + start, count: n)
        }
        return String(decoding: UnsafeBufferPointer(start: p + start, count: n), as: UTF8.self)
    }

    /// Checks the string whose first byte is at `start` (after its quote) up to its closing
    /// quote: (the quote's offset, false), or (the first backslash's offset, true) when an escape
    /// comes first (the caller then takes the slow path, which checks the rest).
    @inline(__always)
    func scanString(from start: Int) throws(JSONParseError) -> (offset: Int, escaped: Bool) {
        var j = start
        while true {
            // Eight bytes at a time to the next special byte: '"', '\\', a control character,
            // or the lead of a multi-byte sequence (which we validate byte by byte).
            if j + 8 <= end {
                let mask = _SWAR.stringSpecialMask(UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self))
                if mask == 0 {
                    j += 8
                    continue
                }
                j += mask.trailingZeroBitCount &>> 3
            } else if j >= end {
                throw error("unterminated string", at: start - 1)
            }
            let c = p[j]
            if c == quote { return (j, false) }
            if c == backslash { return (j, true) }
            if c < 0x20 { throw controlCharacter(c, at: j) }
            if c < 0x80 {
                j += 1
            } else {
                j = try validateUTF8Sequence(at: j)
            }
        }
    }

    func controlCharacter(_ c: UInt8, at offset: Int) -> JSONParseError {
        error("unescaped control character U+00\(hex2(c)) in string", at: offset)
    }

    /// Checks the UTF-8 sequence whose lead byte (>= 0x80) is at `j`; returns the offset after it.
    @inline(__always)
    func validateUTF8Sequence(at j: Int) throws(JSONParseError) -> Int {
        let c = p[j]
        let need: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0:
            need = 2
            lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED:
            need = 2
            hi = 0x9F
        case 0xF0:
            need = 3
            lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4:
            need = 3
            hi = 0x8F
        default: throw error("invalid UTF-8 in string", at: j)
        }
        guard j + need < end else { throw error("invalid UTF-8 in string", at: j) }
        let c1 = p[j + 1]
        guard c1 >= lo && c1 <= hi else { throw error("invalid UTF-8 in string", at: j) }
        if need >= 2 {
            guard p[j + 2] & 0xC0 == 0x80 else { throw error("invalid UTF-8 in string", at: j) }
            if need == 3 {
                guard p[j + 3] & 0xC0 == 0x80 else { throw error("invalid UTF-8 in string", at: j) }
            }
        }
        return j + need + 1
    }

    /// The slow path: the string at `start` has an escape at `escapeAt`; decode into `scratch`.
    mutating func parseEscapedString(start: Int, escapeAt: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: p + start, count: escapeAt - start))
        var j = escapeAt
        while true {
            guard j < end else { throw error("unterminated string", at: start - 1) }
            let c = p[j]
            if c == quote { break }
            if c == backslash {
                j = try decodeEscape(at: j)
                continue
            }
            if c < 0x20 { throw controlCharacter(c, at: j) }
            if c < 0x80 {
                scratch.append(c)
                j += 1
            } else {
                let next = try validateUTF8Sequence(at: j)
                scratch.append(contentsOf: UnsafeBufferPointer(start: p + j, count: next - j))
                j = next
            }
        }
        i = j + 1
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Decodes the escape at `p[j]` (a backslash) into `scratch`; returns the offset after it.
    mutating func decodeEscape(at j: Int) throws(JSONParseError) -> Int {
        guard j + 1 < end else { throw error("unterminated string", at: j) }
        let e = p[j + 1]
        switch e {
        case quote, backslash, UInt8(ascii: "/"): scratch.append(e)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hex4(at: j)
            var scalar = UInt32(unit)
            var next = j + 6
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard next + 1 < end && p[next] == backslash && p[next + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired high surrogate \\u\(hex4Text(unit)) in string", at: j)
                }
                let low = try hex4(at: next)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw error("unpaired high surrogate \\u\(hex4Text(unit)) in string", at: j)
                }
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                next += 6
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw error("unpaired low surrogate \\u\(hex4Text(unit)) in string", at: j)
            }
            appendUTF8(scalar)
            return next
        default:
            if e < 0x20 || e >= 0x7F {
                throw error("invalid escape in string: backslash followed by byte 0x\(hex2(e))", at: j)
            }
            throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))' in string", at: j)
        }
        return j + 2
    }

    /// The four hex digits of the `\u` escape whose backslash is at `j`.
    func hex4(at j: Int) throws(JSONParseError) -> UInt16 {
        guard j + 6 <= end else { throw error("invalid \\u escape: expected 4 hex digits", at: j) }
        var v: UInt16 = 0
        for k in (j + 2)..<(j + 6) {
            let c = p[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c &- UInt8(ascii: "A") &+ 10
            default: throw error("invalid \\u escape: expected 4 hex digits", at: j)
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }

    mutating func appendUTF8(_ s: UInt32) {
        if s < 0x80 {
            scratch.append(UInt8(s))
        } else if s < 0x800 {
            scratch.append(UInt8(0xC0 | s >> 6))
            scratch.append(UInt8(0x80 | s & 0x3F))
        } else if s < 0x10000 {
            scratch.append(UInt8(0xE0 | s >> 12))
            scratch.append(UInt8(0x80 | s >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | s >> 18))
            scratch.append(UInt8(0x80 | s >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | s >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        }
    }

    // MARK: Containers

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > JSONParser.maxDepth {
            throw error("nesting deeper than \(JSONParser.maxDepth) levels", at: i)
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        i += 1
        skipWhitespace()
        if i < end && p[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array([])
        }
        let base = elements.count
        while true {
            let value = try parseValue()
            if elements.isFull { elements = elements.grown() }
            elements.push(value)
            skipWhitespace()
            guard i < end else { throw expected("',' or ']' after array element") }
            let c = p[i]
            i += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "]") { break }
            i -= 1
            throw expected("',' or ']' after array element")
        }
        let array = elements.pop(from: base)
        depth -= 1
        return .array(array)
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        let objectStart = i
        try enter()
        i += 1
        skipWhitespace()
        if i < end && p[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(JSONObject())
        }
        let base = members.count
        // Canonical input has its keys in order already. While every key so far was written
        // without escapes and in strictly ascending order, that is checked on the input bytes
        // (cheaper than comparing the Strings), and no sort is needed.
        var inOrder = true
        var previousKey = 0  // offset of the previous key's first byte (after the quote)
        var previousLength = -1  // its length in bytes; -1 before the first key
        while true {
            guard i < end && p[i] == quote else { throw expected("a string key in object") }
            let keyOffset = i
            let key = try parseString()
            if inOrder {
                let length = i - keyOffset - 2
                // An escape always decodes to fewer bytes than it takes in the input.
                if length != key.utf8.count {
                    inOrder = false
                } else {
                    if previousLength >= 0 {
                        let order = compareInput(previousKey, previousLength, keyOffset + 1, length)
                        if order == 0 { throw error("duplicate key \(_quoted(key)) in object", at: keyOffset) }
                        if order > 0 { inOrder = false }
                    }
                    previousKey = keyOffset + 1
                    previousLength = length
                }
            }
            skipWhitespace()
            guard i < end && p[i] == UInt8(ascii: ":") else {
                throw expected("':' after object key \(_quoted(key))")
            }
            i += 1
            skipWhitespace()
            let value = try parseValue()
            if members.isFull { members = members.grown() }
            members.push(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard i < end else { throw expected("',' or '}' after object member") }
            let c = p[i]
            i += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "}") { break }
            i -= 1
            throw expected("',' or '}' after object member")
        }
        var sorted = members.pop(from: base)
        if !inOrder, let duplicate = JSONObject.sortCanonically(&sorted) {
            throw duplicateKey(duplicate, objectStart: objectStart)
        }
        depth -= 1
        return .object(JSONObject(sortedMembers: sorted))
    }

    /// Three-way comparison of two byte ranges of the input.
    @inline(__always)
    func compareInput(_ a: Int, _ aLength: Int, _ b: Int, _ bLength: Int) -> Int {
        let n = min(aLength, bLength)
        var k = 0
        while k < n {
            let x = p[a + k]
            let y = p[b + k]
            if x != y { return x < y ? -1 : 1 }
            k += 1
        }
        return aLength == bLength ? 0 : (aLength < bLength ? -1 : 1)
    }

    /// The error for `key` appearing twice in the object that starts at `objectStart`: it
    /// points at the second occurrence. Rare, so it re-reads the object's keys to find it.
    func duplicateKey(_ key: String, objectStart: Int) -> JSONParseError {
        let message = "duplicate key \(_quoted(key)) in object"
        var again = _JSONParserState(p, count: end)
        again.i = objectStart + 1
        var seen = false
        // The object parsed without other errors, so this walk cannot fail.
        while true {
            again.skipWhitespace()
            let keyOffset = again.i
            guard let k = try? again.parseString() else { break }
            if _utf8Equal(k, key) {
                if seen { return error(message, at: keyOffset) }
                seen = true
            }
            again.skipWhitespace()
            again.i += 1  // ':'
            again.skipWhitespace()
            guard (try? again.parseValue()) != nil else { break }
            again.skipWhitespace()
            guard again.i < end && again.p[again.i] == UInt8(ascii: ",") else { break }
            again.i += 1
        }
        return error(message, at: objectStart)
    }
}
