/// Canonical text of JSON numbers.
///
/// Integer literals (no fraction, no exponent) keep their digits exactly, whatever their length;
/// `-0` becomes `0`. Every other number is read as an IEEE double and written the way Python's
/// `repr(float)` writes it, so that Python's
/// `json.dumps(json.loads(x), sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
/// produces the same bytes as our canonical writer.
extension JSONNumber {
    /// The text Python's `repr(float)` gives for `value`: the shortest digits that read back as
    /// the same double, in fixed notation (`1.0`, `0.0001`, `1000000000000000.0`) when the decimal
    /// point position `decpt` (value = 0.d1…dn × 10^decpt) is in -3…16, otherwise in exponent
    /// notation with a sign and at least two exponent digits (`1e-05`, `1e+16`, `1.5e+300`).
    ///
    /// - Precondition: `value` is finite; JSON has no NaN or infinity.
    public static func canonicalText(for value: Double) -> String {
        precondition(value.isFinite, "JSON numbers must be finite, got \(value)")
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }

        // Swift's `description` gives the shortest round-trip digits (closest to the exact value,
        // as Python's repr does); only its layout differs, so take the digits and the exponent
        // from it and lay them out again.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of digit storage
        return withUnsafeMutableBytes(of: &digits) { raw -> String in
            let d = raw.bindMemory(to: UInt8.self)
            var n = 0  // number of digits stored
            var intDigits = 0  // digits before the '.' of the description
            var sawPoint = false
            var inExponent = false
            var exponentNegative = false
            var exponent = 0
            for c in value.description.utf8 {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if inExponent {
                        exponent = exponent * 10 + Int(c &- 48)
                    } else {
                        // Leading zeros ("0.0001") are stored too and stripped below.
                        d[n] = c &- 48
                        n += 1
                        if !sawPoint { intDigits += 1 }
                    }
                case UInt8(ascii: "."): sawPoint = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
                case UInt8(ascii: "-"): if inExponent { exponentNegative = true }
                default: break  // '+' and the sign of the value
                }
            }
            if exponentNegative { exponent = -exponent }
            var decpt = intDigits + exponent
            var first = 0
            while first < n && d[first] == 0 {
                first += 1
                decpt -= 1
            }
            while n > first && d[n - 1] == 0 { n -= 1 }
            let count = n - first
            let negative = value.sign == .minus

            return String(unsafeUninitializedCapacity: 40) { out in
                var k = 0
                @inline(__always) func put(_ b: UInt8) {
                    out[k] = b
                    k += 1
                }
                if negative { put(UInt8(ascii: "-")) }
                if decpt <= -4 || decpt > 16 {
                    put(d[first] &+ 48)
                    if count > 1 {
                        put(UInt8(ascii: "."))
                        for j in (first + 1)..<n { put(d[j] &+ 48) }
                    }
                    put(UInt8(ascii: "e"))
                    var e = decpt - 1
                    if e < 0 {
                        put(UInt8(ascii: "-"))
                        e = -e
                    } else {
                        put(UInt8(ascii: "+"))
                    }
                    if e >= 100 { put(UInt8(e / 100) &+ 48) }
                    put(UInt8(e / 10 % 10) &+ 48)
                    put(UInt8(e % 10) &+ 48)
                } else if decpt <= 0 {
                    put(UInt8(ascii: "0"))
                    put(UInt8(ascii: "."))
                    for _ in 0..<(-decpt) { put(UInt8(ascii: "0")) }
                    for j in first..<n { put(d[j] &+ 48) }
                } else if decpt < count {
                    for j in first..<(first + decpt) { put(d[j] &+ 48) }
                    put(UInt8(ascii: "."))
                    for j in (first + decpt)..<n { put(d[j] &+ 48) }
                } else {
                    for j in first..<n { put(d[j] &+ 48) }
                    for _ in 0..<(decpt - count) { put(UInt8(ascii: "0")) }
                    put(UInt8(ascii: "."))
                    put(UInt8(ascii: "0"))
                }
                return k
            }
        }
    }

    /// Reads a JSON number literal (RFC 8259 grammar, nothing else around it) and returns it in
    /// canonical form; `nil` when `literal` is not a JSON number or is a non-integer too large
    /// for a double.
    public init?(literal: some StringProtocol) {
        var text = String(literal)
        let result: JSONNumber? = text.withUTF8 { buf in
            guard let base = buf.baseAddress, !buf.isEmpty else { return nil }
            guard case .success(let scan) = JSONNumber.scanLiteral(base, from: 0, end: buf.count),
                scan.end == buf.count
            else { return nil }
            return JSONNumber.fromScannedLiteral(base, count: buf.count, isInteger: scan.isInteger)
        }
        guard let result else { return nil }
        self = result
    }

    /// Where a number literal starting at `start` ends, or what is wrong with it.
    package struct LiteralScan {
        package var end: Int
        package var isInteger: Bool
    }

    package struct LiteralError: Error {
        package var offset: Int
        package var message: String
    }

    /// Scans the longest JSON number literal at `p[start...]`, checking the RFC 8259 grammar:
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    @inline(__always)
    package static func scanLiteral(
        _ p: UnsafePointer<UInt8>, from start: Int, end: Int
    ) -> Result<LiteralScan, LiteralError> {
        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
        var i = start
        var isInteger = true
        if p[i] == UInt8(ascii: "-") {
            i += 1
            guard i < end, isDigit(p[i]) else {
                return .failure(LiteralError(offset: i, message: "expected a digit after '-'"))
            }
        }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < end && isDigit(p[i]) {
                return .failure(LiteralError(offset: start, message: "leading zeros are not allowed in numbers"))
            }
        } else {
            while i < end && isDigit(p[i]) { i += 1 }
        }
        if i < end && p[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < end, isDigit(p[i]) else {
                return .failure(LiteralError(offset: i, message: "expected a digit after '.' in number"))
            }
            while i < end && isDigit(p[i]) { i += 1 }
        }
        if i < end && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            isInteger = false
            i += 1
            if i < end && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < end, isDigit(p[i]) else {
                return .failure(LiteralError(offset: i, message: "expected a digit in the exponent of number"))
            }
            while i < end && isDigit(p[i]) { i += 1 }
        }
        return .success(LiteralScan(end: i, isInteger: isInteger))
    }

    /// Canonicalises a literal that `scanLiteral` accepted: `nil` when a non-integer does not fit
    /// in a double (it would read as infinity).
    @inline(__always)
    package static func fromScannedLiteral(_ p: UnsafePointer<UInt8>, count: Int, isInteger: Bool) -> JSONNumber? {
        let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        if isInteger {
            if count == 2 && p[0] == UInt8(ascii: "-") && p[1] == UInt8(ascii: "0") {
                return JSONNumber(canonicalText: "0", isInteger: true)
            }
            return JSONNumber(canonicalText: text, isInteger: true)
        }
        guard let d = Double(text), d.isFinite else { return nil }
        return JSONNumber(canonicalText: canonicalText(for: d), isInteger: false)
    }
}
