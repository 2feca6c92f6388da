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

    @inline(__always)
    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        default: nil
        }
    }

    /// Appends the packed form of `src` to `out`.
    static func pack(_ src: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let n = src.count
        var i = 0
        var runStart = 0
        func flush(_ upTo: Int, _ out: inout [UInt8]) {
            if upTo > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: src[runStart..<upTo])) }
        }
        while i < n {
            guard src[i] == 34 else { i += 1; continue }
            if i + 37 < n, src[i + 37] == 34, let bytes = uuid(src, i + 1) {
                flush(i, &out)
                out.append(uuidMarker)
                out.append(contentsOf: bytes)
                i += 38
                runStart = i
                continue
            }
            if i + 28 < n, src[i + 28] == 34, let micros = timestamp(src, i + 1) {
                flush(i, &out)
                out.append(timeMarker)
                out.appendBE(UInt64(bitPattern: micros))
                i += 29
                runStart = i
                continue
            }
            var j = i + 1
            while j < n, j - i - 1 < 254, hexValue(src[j]) != nil { j += 1 }
            let digits = j - i - 1
            if digits >= 16, digits % 2 == 0, j < n, src[j] == 34 {
                flush(i, &out)
                out.append(hexMarker)
                out.append(UInt8(digits / 2))
                var k = i + 1
                while k < j {
                    out.append(hexValue(src[k])! << 4 | hexValue(src[k + 1])!)
                    k += 2
                }
                i = j + 1
                runStart = i
                continue
            }
            i += 1
        }
        flush(n, &out)
    }

    private static func uuid(_ p: UnsafeRawBufferPointer, _ at: Int) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(16)
        var k = at
        for group in [8, 4, 4, 4, 12] {
            if k != at {
                guard p[k] == 45 else { return nil }
                k += 1
            }
            for _ in 0..<(group / 2) {
                guard let hi = hexValue(p[k]), let lo = hexValue(p[k + 1]) else { return nil }
                out.append(hi << 4 | lo)
                k += 2
            }
        }
        return out
    }

    private static func timestamp(_ p: UnsafeRawBufferPointer, _ at: Int) -> Int64? {
        // Shape first (cheap), then a full parse and a check that it prints back the same.
        for (off, c) in [(4, 45), (7, 45), (10, 84), (13, 58), (16, 58), (19, 46), (26, 90)] as [(Int, UInt8)] {
            guard p[at + off] == c else { return nil }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[at..<(at + 27)]), as: UTF8.self)
        guard let t = Timestamp(iso8601: text), t.canonicalText == text else { return nil }
        return t.microseconds
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Replaces `out` with the canonical bytes of the packed `src`; nil when `src` is not a
    /// valid packed form.
    static func unpack(_ src: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        out.removeAll(keepingCapacity: true)
        let n = src.count
        var i = 0
        var runStart = 0
        while i < n {
            let c = src[i]
            if c < 0xF8 { i += 1; continue }
            if i > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: src[runStart..<i])) }
            switch c {
            case uuidMarker:
                guard i + 17 <= n else { return false }
                out.append(34)
                for k in 0..<16 {
                    if k == 4 || k == 6 || k == 8 || k == 10 { out.append(45) }
                    let b = src[i + 1 + k]
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 0x0F)])
                }
                out.append(34)
                i += 17
            case timeMarker:
                guard i + 9 <= n else { return false }
                var v: UInt64 = 0
                for k in 1...8 { v = v << 8 | UInt64(src[i + k]) }
                out.append(34)
                Timestamp(microsecondsSinceEpoch: Int64(bitPattern: v)).append(to: &out)
                out.append(34)
                i += 9
            case hexMarker:
                guard i + 2 <= n else { return false }
                let count = Int(src[i + 1])
                guard count >= 8, i + 2 + count <= n else { return false }
                out.append(34)
                for k in 0..<count {
                    let b = src[i + 2 + k]
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 0x0F)])
                }
                out.append(34)
                i += 2 + count
            default:
                return false
            }
            runStart = i
        }
        if n > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: src[runStart..<n])) }
        return true
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
    static func decode(
        _ payload: UnsafeRawBufferPointer, packedLength: Int, dictionaryId: UInt32, decompressor: LZ4Decompressor,
        packed: inout [UInt8], into canonical: inout [UInt8]
    ) throws(LZ4Error) {
        try decompressor.decompress(payload, uncompressedSize: packedLength, dictionaryId: dictionaryId, into: &packed)
        let ok = packed.withUnsafeBytes { unpack($0, into: &canonical) }
        guard ok else { throw LZ4Error("bad packed event bytes") }
    }

}
