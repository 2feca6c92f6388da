import DeployLogCompression

/// The on-disk format of a segment file. Little-endian throughout.
///
/// ```
/// segment  := header record*
/// header   := "DLOGSEG\0" u32 formatVersion(=1) u32 0 u64 basePosition u32 0 u32 crc32c(previous 28 bytes)
/// record   := u32 bodyLength u32 crc32c(body) body
/// body     := 0x01 varint position varint dictionaryId varint packedLength lz4Bytes  (event)
///           | 0x02 varint dictionaryId varint length lz4Bytes                    (dictionary, LZ4 without a dictionary)
///           | 0x03 varint lastPosition hash[32]                                    (commit)
/// ```
///
/// An event's LZ4 input is its canonical JSON (see `events/README.md`) packed by `EventPacking`;
/// `packedLength` is the length of that input. A commit record closes
/// each atomic batch and carries the chain hash of its last event: records after the last
/// commit record of the last segment are an interrupted write and are cut on open.
enum SegmentFormat {
    static let magic: [UInt8] = Array("DLOGSEG\0".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 32
    static let frameSize = 8
    /// Largest body accepted when reading; anything larger is corruption.
    static let maxBodySize = 64 << 20

    enum Kind: UInt8 {
        case event = 1
        case dictionary = 2
        case commit = 3
    }

    static func fileName(basePosition: Int64) -> String {
        let digits = String(basePosition)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    static func basePosition(fileName: String) -> Int64? {
        guard fileName.hasSuffix(".seg"), fileName.utf8.count == 24 else { return nil }
        return Int64(fileName.prefix(20))
    }

    static func header(basePosition: Int64) -> [UInt8] {
        var h = magic
        h.appendLE(formatVersion)
        h.appendLE(UInt32(0))
        h.appendLE(UInt64(bitPattern: basePosition))
        h.appendLE(UInt32(0))
        h.appendLE(CRC32C.checksum(h))
        return h
    }

    /// The base position in a header, or nil when the header is not valid.
    static func parseHeader(_ p: UnsafeRawBufferPointer) -> Int64? {
        guard p.count >= headerSize, Array(p[0..<8]) == magic else { return nil }
        guard p.loadLE(UInt32.self, at: 8) == formatVersion else { return nil }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<28])) == p.loadLE(UInt32.self, at: 28) else { return nil }
        return Int64(bitPattern: p.loadLE(UInt64.self, at: 16))
    }

    /// Appends a framed record whose body is built by `body`.
    static func appendRecord(to out: inout [UInt8], body: (inout [UInt8]) -> Void) {
        let start = out.count
        out.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        body(&out)
        let length = out.count - start - frameSize
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + frameSize)...])) }
        out.storeLE(UInt32(length), at: start)
        out.storeLE(crc, at: start + 4)
    }
}

extension SegmentFormat {
    /// The most bytes `writeEventRecord` writes for `packedCount` bytes of packed event.
    static func eventRecordBound(packedCount: Int) -> Int {
        frameSize + 1 + 3 * 10 + LZ4Compressor.bound(packedCount)
    }

    /// Writes an event record (frame and body) for the packed event `packed` to `out`, which has
    /// room for `eventRecordBound`; returns the bytes written. The same bytes as `appendRecord`
    /// with an event body, without growing an array per field.
    static func writeEventRecord(
        position: Int64, dictionaryId: UInt64, packed: UnsafeRawBufferPointer, compressor: LZ4Compressor,
        to out: UnsafeMutableRawPointer
    ) -> Int {
        var o = frameSize
        out.storeBytes(of: Kind.event.rawValue, toByteOffset: o, as: UInt8.self)
        o += 1
        o += writeVarint(UInt64(position), to: out + o)
        o += writeVarint(dictionaryId, to: out + o)
        o += writeVarint(UInt64(packed.count), to: out + o)
        o += compressor.compress(packed, to: out + o, capacity: LZ4Compressor.bound(packed.count))
        let body = UnsafeRawBufferPointer(start: out + frameSize, count: o - frameSize)
        out.storeBytes(of: UInt32(o - frameSize).littleEndian, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: CRC32C.checksum(body).littleEndian, toByteOffset: 4, as: UInt32.self)
        return o
    }

    /// Writes `v` as a varint (at most 10 bytes) to `out`; returns the bytes written.
    @inline(__always)
    static func writeVarint(_ v: UInt64, to out: UnsafeMutableRawPointer) -> Int {
        var v = v
        var n = 0
        while v >= 0x80 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self)
            v >>= 7
            n += 1
        }
        out.storeBytes(of: UInt8(v), toByteOffset: n, as: UInt8.self)
        return n + 1
    }
}

/// A record read from a segment.
enum SegmentRecord {
    case event(position: Int64, dictionaryId: UInt32, packedLength: Int, payload: UnsafeRawBufferPointer)
    case dictionary(id: UInt32, length: Int, compressed: UnsafeRawBufferPointer)
    case commit(lastPosition: Int64, hash: UnsafeRawBufferPointer)
}

/// Why bytes at an offset are not a valid record.
enum FramingProblem: Equatable, CustomStringConvertible {
    /// Fewer bytes than the frame says: the file ends inside the record.
    case truncated
    case badLength(Int)
    case checksumMismatch
    case badBody(String)

    var description: String {
        switch self {
        case .truncated: "record cut short by the end of the file"
        case .badLength(let n): "impossible record length \(n)"
        case .checksumMismatch: "checksum mismatch"
        case .badBody(let s): s
        }
    }
}

extension SegmentFormat {
    /// Parses the record at `offset` of `buf`; returns it and the offset after it.
    static func parseRecord(_ buf: UnsafeRawBufferPointer, at offset: Int) -> Result<(SegmentRecord, Int), FramingProblemBox> {
        let remaining = buf.count - offset
        guard remaining >= frameSize else { return .failure(.init(.truncated)) }
        let length = Int(buf.loadLE(UInt32.self, at: offset))
        guard length >= 2, length <= maxBodySize else { return .failure(.init(.badLength(length))) }
        guard remaining >= frameSize + length else { return .failure(.init(.truncated)) }
        let body = UnsafeRawBufferPointer(rebasing: buf[(offset + frameSize)..<(offset + frameSize + length)])
        guard CRC32C.checksum(body) == buf.loadLE(UInt32.self, at: offset + 4) else {
            return .failure(.init(.checksumMismatch))
        }
        var r = ByteReader(body, at: 1)
        let next = offset + frameSize + length
        switch Kind(rawValue: body[0]) {
        case .event?:
            guard let pos = r.varint(), let dict = r.varint(), let raw = r.varint(), pos >= 1, raw <= UInt64(maxBodySize) * 255,
                dict <= UInt64(UInt32.max)
            else { return .failure(.init(.badBody("malformed event header"))) }
            return .success(
                (.event(position: Int64(pos), dictionaryId: UInt32(dict), packedLength: Int(raw), payload: r.rest), next))
        case .dictionary?:
            guard let id = r.varint(), id >= 1, id <= UInt64(UInt32.max), let length = r.varint(), length <= 65_536 else {
                return .failure(.init(.badBody("malformed dictionary record")))
            }
            return .success((.dictionary(id: UInt32(id), length: Int(length), compressed: r.rest), next))
        case .commit?:
            guard let pos = r.varint(), r.rest.count == 32 else { return .failure(.init(.badBody("malformed commit record"))) }
            return .success((.commit(lastPosition: Int64(pos), hash: r.rest), next))
        case nil:
            return .failure(.init(.badBody("unknown record kind \(body[0])")))
        }
    }
}

extension SegmentFormat {
    /// Appends a dictionary record.
    static func appendDictionaryRecord(_ dict: LZ4Dictionary, to bytes: inout [UInt8]) {
        appendRecord(to: &bytes) { b in
            b.append(Kind.dictionary.rawValue)
            b.appendVarint(UInt64(dict.id))
            b.appendVarint(UInt64(dict.bytes.count))
            _ = LZ4Compressor(dictionary: nil).compress(dict.bytes, appendingTo: &b)
        }
    }

    /// The dictionary held by a dictionary record.
    static func dictionary(id: UInt32, length: Int, compressed: UnsafeRawBufferPointer) throws(LZ4Error) -> LZ4Dictionary {
        var bytes = [UInt8]()
        try LZ4Decompressor(dictionaries: []).decompress(compressed, uncompressedSize: length, dictionaryId: 0, into: &bytes)
        return LZ4Dictionary(id: id, bytes: bytes)
    }
}

/// `Result` needs an `Error`; this wraps a framing problem.
struct FramingProblemBox: Error {
    var problem: FramingProblem
    init(_ p: FramingProblem) { problem = p }
}

struct ByteReader {
    let buf: UnsafeRawBufferPointer
    var offset: Int

    init(_ buf: UnsafeRawBufferPointer, at offset: Int = 0) {
        self.buf = buf
        self.offset = offset
    }

    mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < buf.count, shift < 64 {
            let b = buf[offset]
            offset += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buf[offset...]) }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }

    mutating func storeLE<T: FixedWidthInteger>(_ v: T, at i: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: i, as: T.self) }
    }

    mutating func appendVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
