import DeployLogCompression
import DeployLogEvents

/// A lossless byte transform applied to an event's canonical JSON before LZ4 (and undone after
/// it), because LZ4 has no entropy coding: the identifiers and times that make up much of a
/// deployment event are random to it, and cost one byte per hex digit.
///
/// Three quoted forms are replaced by a marker byte and their binary value:
///
/// | bytes in the canonical JSON                          | packed as                      |
/// | ---------------------------------------------------- | ------------------------------ |
/// | `"` lowercase UUID `8-4-4-4-12` `"` (38 bytes)       | `0xFF` + 16 bytes              |
/// | `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (29 bytes)           | `0xFE` + Int64 µs, big-endian  |
/// | `"` 2n lowercase hex digits `"`, 8 ≤ n ≤ 127         | `0xFD` + n + n bytes           |
///
/// Everything else is copied. The replacement is purely lexical (it does not care whether the
/// quote opens a string), and is unambiguous because bytes 0xF8–0xFF never occur in UTF-8: the
/// canonical bytes — what the hash chain covers — come back exactly.
enum EventPacking {
    static let uuidMarker: UInt8 = 0xFF
    static let timeMarker: UInt8 = 0xFE
    static let hexMarker: UInt8 = 0xFD

    /// The value of a lowercase hex digit. (Comparisons, not a range pattern: `case 48...57`
    /// compiles to a call per byte.)
    @inline(__always)
    private static func hexValue(_ c: UInt8) -> UInt8? {
        let digit = c &- 48
        if digit < 10 { return digit }
        let letter = c &- 97
        if letter < 6 { return letter &+ 10 }
        return nil
    }

    /// Appends the packed form of `src` to `out`.
    static func pack(_ src: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        // Packing never lengthens: make room for all of `src` (a copy of it is the cheapest way
        // to grow an array), pack over it, then trim.
        let start = out.count
        out.append(contentsOf: src)
        let written = out.withUnsafeMutableBytes { o in
            pack(src, to: o.baseAddress!.assumingMemoryBound(to: UInt8.self) + start)
        }
        out.removeLast(src.count - written)
    }

    /// Writes the packed form of `src` to `dst`, which has room for `src.count` bytes (packing
    /// never lengthens); returns the bytes written.
    static func pack(_ src: UnsafeRawBufferPointer, to dst: UnsafeMutablePointer<UInt8>) -> Int {
        guard let raw = src.baseAddress else { return 0 }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let n = src.count
        var i = 0
        var o = 0
        var runStart = 0
        @inline(__always) func flush(_ upTo: Int) {
            if upTo > runStart {
                (dst + o).update(from: base + runStart, count: upTo - runStart)
                o += upTo - runStart
            }
        }
        while i < n {
            // To the next quote, eight bytes at a time (the lowest flagged byte is exact).
            while i + 8 <= n {
                let x = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let y = x ^ 0x2222_2222_2222_2222
                let mask = (y &- 0x0101_0101_0101_0101) & ~y & 0x8080_8080_8080_8080
                if mask != 0 {
                    i += mask.trailingZeroBitCount &>> 3
                    break
                }
                i += 8
            }
            while i < n, base[i] != 34 { i += 1 }
            guard i < n else { break }
            if i + 37 < n, base[i + 37] == 34, isUUID(src, i + 1) {
                flush(i)
                dst[o] = uuidMarker
                o += 1
                var k = i + 1
                while k < i + 37 {
                    if base[k] == 45 { k += 1; continue }
                    dst[o] = hexValue(base[k])! << 4 | hexValue(base[k + 1])!
                    o += 1
                    k += 2
                }
                i += 38
                runStart = i
                continue
            }
            if i + 28 < n, base[i + 28] == 34, let micros = timestamp(src, i + 1) {
                flush(i)
                dst[o] = timeMarker
                var v = UInt64(bitPattern: micros)
                for k in stride(from: 8, through: 1, by: -1) {
                    dst[o + k] = UInt8(truncatingIfNeeded: v)
                    v >>= 8
                }
                o += 9
                i += 29
                runStart = i
                continue
            }
            guard i + 17 < n, hexValue(base[i + 1]) != nil else { i += 1; continue }
            var j = i + 1
            while j < n, j - i - 1 < 254, hexValue(base[j]) != nil { j += 1 }
            let digits = j - i - 1
            if digits >= 16, digits % 2 == 0, j < n, base[j] == 34 {
                flush(i)
                dst[o] = hexMarker
                dst[o + 1] = UInt8(digits / 2)
                o += 2
                var k = i + 1
                while k < j {
                    dst[o] = hexValue(base[k])! << 4 | hexValue(base[k + 1])!
                    o += 1
                    k += 2
                }
                i = j + 1
                runStart = i
                continue
            }
            i += 1
        }
        flush(n)
        return o
    }

    private static func isUUID(_ p: UnsafeRawBufferPointer, _ at: Int) -> Bool {
        for k in 0..<36 {
            let c = p[at + k]
            if k == 8 || k == 13 || k == 18 || k == 23 {
                if c != 45 { return false }
            } else if hexValue(c) == nil {
                return false
            }
        }
        return true
    }

    private static func timestamp(_ p: UnsafeRawBufferPointer, _ at: Int) -> Int64? {
        // Only the canonical form, which a valid date prints back exactly the same.
        Timestamp(canonicalBytes: UnsafeRawBufferPointer(rebasing: p[at..<(at + 27)]))?.microseconds
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Replaces `out` with the canonical bytes of the packed `src`; false when `src` is not a
    /// valid packed form.
    static func unpack(_ src: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard let n = unpack(src, intoScratch: &out) else { return false }
        out.removeLast(out.count - n)
        return true
    }

    /// Writes the canonical bytes of the packed `src` to the start of `scratch`, which is grown
    /// as needed and never shrunk (no allocation once it is large enough); returns their count.
    static func unpack(_ src: UnsafeRawBufferPointer, intoScratch scratch: inout [UInt8]) -> Int? {
        // No marker expands more than 3.3 times (a time: 9 bytes to 29).
        let capacity = src.count * 4 + 16
        if scratch.count < capacity { scratch.append(contentsOf: repeatElement(0, count: capacity - scratch.count)) }
        let written = scratch.withUnsafeMutableBytes { o -> Int in
            unpackRaw(src, into: o.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return written >= 0 ? written : nil
    }

    /// Writes the unpacked bytes to `dst` (large enough); returns their count, or -1.
    private static func unpackRaw(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = src.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let n = src.count
        var i = 0
        var o = 0
        return hexDigits.withUnsafeBufferPointer { hex -> Int in
            @inline(__always) func putHex(_ b: UInt8) {
                dst[o] = hex[Int(b >> 4)]
                dst[o + 1] = hex[Int(b & 0x0F)]
                o += 2
            }
            while i < n {
                // Copy the run up to the next marker.
                var j = i
                while j + 8 <= n, UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    j += 8
                }
                while j < n, base[j] < 0xF8 { j += 1 }
                if j > i {
                    (dst + o).update(from: base + i, count: j - i)
                    o += j - i
                    i = j
                }
                guard i < n else { break }
                switch base[i] {
                case uuidMarker:
                    guard i + 17 <= n else { return -1 }
                    dst[o] = 34
                    o += 1
                    for k in 0..<16 {
                        if k == 4 || k == 6 || k == 8 || k == 10 {
                            dst[o] = 45
                            o += 1
                        }
                        putHex(base[i + 1 + k])
                    }
                    dst[o] = 34
                    o += 1
                    i += 17
                case timeMarker:
                    guard i + 9 <= n else { return -1 }
                    var v: UInt64 = 0
                    for k in 1...8 { v = v << 8 | UInt64(base[i + k]) }
                    dst[o] = 34
                    Timestamp(microsecondsSinceEpoch: Int64(bitPattern: v)).write(to: dst + o + 1)
                    dst[o + 28] = 34
                    o += 29
                    i += 9
                case hexMarker:
                    guard i + 2 <= n else { return -1 }
                    let count = Int(base[i + 1])
                    guard count >= 8, i + 2 + count <= n else { return -1 }
                    dst[o] = 34
                    o += 1
                    for k in 0..<count { putHex(base[i + 2 + k]) }
                    dst[o] = 34
                    o += 1
                    i += 2 + count
                default:
                    return -1
                }
            }
            return o
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBE(_ v: UInt64) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }
}


extension EventPacking {
    /// The canonical bytes of a stored event payload: LZ4 (with its dictionary), then unpack.
    /// `packed` is scratch space kept by the caller between calls.
    /// The canonical bytes are the first `n` (returned) bytes of `canonical`, which is scratch
    /// space like `packed`.
    static func decode(
        _ payload: UnsafeRawBufferPointer, packedLength: Int, dictionaryId: UInt32, decompressor: LZ4Decompressor,
        packed: inout [UInt8], into canonical: inout [UInt8]
    ) throws(LZ4Error) -> Int {
        try decompressor.decompress(payload, uncompressedSize: packedLength, dictionaryId: dictionaryId, into: &packed)
        guard let n = packed.withUnsafeBytes({ unpack($0, intoScratch: &canonical) }) else {
            throw LZ4Error("bad packed event bytes")
        }
        return n
    }

}
