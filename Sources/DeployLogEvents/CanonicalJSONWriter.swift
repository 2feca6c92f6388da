/// Writes canonical JSON: the bytes Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")`
/// gives for the same value.
///
/// Object members in canonical key order (ascending UTF-8 bytes; `JSONObject` keeps them so),
/// no whitespace; strings escape only `"`, `\` and U+0000–U+001F (`\b \f \n \r \t` in short
/// form, the others as `\u00XX` with lowercase hex) and write everything else as raw UTF-8;
/// numbers as their canonical text.
public struct CanonicalJSONWriter: Sendable {
    public var bytes: [UInt8]

    public init(reservingCapacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(reservingCapacity)
    }

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: writeASCII("null")
        case .bool(let b): b ? writeASCII("true") : writeASCII("false")
        case .number(let n): writeRaw(n.text)
        case .string(let s): writeString(s)
        case .array(let a): write(a)
        case .object(let o): write(o)
        }
    }

    public mutating func write(_ object: JSONObject) {
        bytes.append(UInt8(ascii: "{"))
        // Through the buffer: members are borrowed in place rather than copied (retained).
        object.members.withUnsafeBufferPointer { members in
            for k in members.indices {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(members[k].key)
                bytes.append(UInt8(ascii: ":"))
                write(members[k].value)
            }
        }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func write(_ array: [JSONValue]) {
        bytes.append(UInt8(ascii: "["))
        array.withUnsafeBufferPointer { elements in
            for k in elements.indices {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                write(elements[k])
            }
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes `s` as a quoted, escaped JSON string.
    public mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        if s.utf8.withContiguousStorageIfAvailable({ appendEscaped($0) }) == nil {
            var copy = s
            _ = copy.withUTF8 { appendEscaped($0) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes `v` in decimal.
    public mutating func writeInt(_ v: Int64) {
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        if m < 10 {
            bytes.append(UInt8(truncatingIfNeeded: m) &+ 48)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var k = 20
            repeat {
                k -= 1
                buf[k] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
            } while m != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[k...]))
        }
    }

    /// Appends the bytes of `s` as they are (no quotes, no escaping): for JSON punctuation and
    /// fixed keys such as `,"stream":`.
    public mutating func writeASCII(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends the UTF-8 of `s` as it is (already valid JSON text, e.g. a number's text).
    mutating func writeRaw(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: s.utf8)
        }
    }

    /// Appends `buf` with JSON string escaping. Returns true (for `withContiguousStorageIfAvailable`).
    @discardableResult
    mutating func appendEscaped(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = buf.baseAddress else { return true }
        let n = buf.count
        var runStart = 0
        var j = 0
        while j < n {
            // Eight bytes at a time to the next byte that needs escaping.
            if j + 8 <= n {
                let mask = _SWAR.escapeMask(UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self))
                if mask == 0 {
                    j += 8
                    continue
                }
                j += mask.trailingZeroBitCount &>> 3
            }
            let c = base[j]
            if c >= 0x20 && c != 0x22 && c != 0x5C {
                j += 1
                continue
            }
            if j > runStart { bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: j - runStart)) }
            bytes.append(UInt8(ascii: "\\"))
            switch c {
            case 0x22: bytes.append(0x22)
            case 0x5C: bytes.append(0x5C)
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                let h = hex.utf8Start
                bytes.append(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(h[Int(c >> 4)])
                bytes.append(h[Int(c & 0xF)])
            }
            j += 1
            runStart = j
        }
        if n > runStart { bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: n - runStart)) }
        return true
    }
}

extension JSONValue {
    /// The canonical JSON bytes of this value.
    public func canonicalBytes() -> [UInt8] {
        var w = CanonicalJSONWriter()
        w.write(self)
        return w.bytes
    }

    /// The canonical JSON text of this value.
    public var canonicalString: String { String(decoding: canonicalBytes(), as: UTF8.self) }
}

extension JSONObject {
    /// The canonical JSON bytes of this object.
    public func canonicalBytes() -> [UInt8] {
        var w = CanonicalJSONWriter()
        w.write(self)
        return w.bytes
    }

    /// The canonical JSON text of this object.
    public var canonicalString: String { String(decoding: canonicalBytes(), as: UTF8.self) }
}
