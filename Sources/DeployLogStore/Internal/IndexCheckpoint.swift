#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
import DeployLogEvents

#if _endian(big)
#error("index checkpoints store their columns in the host's byte order, which must be little-endian")
#endif

/// The index checkpoint: a file store's `LogIndex` as of a committed head, kept beside the
/// segments (`<store>/index/index.bin`) so that an open reads it and scans only the records after
/// it instead of decoding every event. It is derived data: any checkpoint may be deleted, one that
/// does not check against the log is ignored (the open then scans everything), and `verify`
/// never reads it.
///
/// Little-endian throughout:
/// ```
/// file     := "DLOGIDX\0" u32 formatVersion(=1) u32 0 u64 bodyLength u32 crc32c(body) u32 0 body
/// body     := varint head, hash[32] headHash,
///             varint segmentCount, (varint base, varint committedEnd)*
///             varint dictionaryCount, (varint id, varint length, byte*)*, varint currentDictionary (0: none)
///             names(streams), names(types)                       names := varint count (varint length, utf8*)*
///             columns (each `head` entries, position order):
///               hash[32]*  (i32 segment, u32 offset, u32 length)*  u32 stream*  u32 type*  i64 occurredAt µs*
///               (u64 high, u64 low) eventId*
///             event-id table: u64 seed, u64 seed, u32 bits, u32 occupied, u64 slot * 2^bits
/// ```
/// The segments are those the index covers, in order: the last holds the head's record, and its
/// `committedEnd` is the end of the commit record after it; the others were complete. The
/// columns are fixed-width so that loading is copying, not decoding (about 90 bytes an event).
enum IndexCheckpoint {
    static let magic: [UInt8] = Array("DLOGIDX\0".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 32
    static let directoryName = "index"
    static let fileName = "index.bin"

    /// A segment the checkpoint covers and how many of its bytes.
    struct Extent: Equatable, Sendable {
        var base: Int64
        var committedEnd: Int64
    }

    /// What a checkpoint holds.
    struct Contents: Sendable {
        var index: LogIndex
        var segments: [Extent]
        var dictionaries: [LZ4Dictionary]
        /// 0: none.
        var currentDictionary: UInt32
    }

    /// Why a checkpoint was not used.
    struct Rejection: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func path(store: String) -> String { store + "/" + directoryName + "/" + fileName }

    // MARK: Encoding

    static func encode(_ c: Contents) -> [UInt8] {
        let cols = c.index.columns
        let n = cols.locations.count
        var body = [UInt8]()
        body.reserveCapacity(4096 + n * 92 + cols.eventIds.slots.count * 8)
        body.appendVarint(UInt64(n))
        Swift.withUnsafeBytes(of: c.index.headHash.value) { body.append(contentsOf: $0) }
        body.appendVarint(UInt64(c.segments.count))
        for s in c.segments {
            body.appendVarint(UInt64(s.base))
            body.appendVarint(UInt64(s.committedEnd))
        }
        body.appendVarint(UInt64(c.dictionaries.count))
        for d in c.dictionaries {
            body.appendVarint(UInt64(d.id))
            body.appendVarint(UInt64(d.bytes.count))
            body.append(contentsOf: d.bytes)
        }
        body.appendVarint(UInt64(c.currentDictionary))
        for names in [cols.streamNames, cols.typeNames] {
            body.appendVarint(UInt64(names.count))
            for name in names {
                body.appendVarint(UInt64(name.utf8.count))
                body.append(contentsOf: name.utf8)
            }
        }
        body.append(contentsOf: cols.hashes)
        appendRaw(&body, count: n * 12) { p in
            for (i, l) in cols.locations.enumerated() {
                p.storeBytes(of: l.segment, toByteOffset: i * 12, as: Int32.self)
                p.storeBytes(of: l.offset, toByteOffset: i * 12 + 4, as: UInt32.self)
                p.storeBytes(of: l.length, toByteOffset: i * 12 + 8, as: UInt32.self)
            }
        }
        cols.streamOf.withUnsafeBytes { body.append(contentsOf: $0) }
        cols.typeOf.withUnsafeBytes { body.append(contentsOf: $0) }
        cols.occurredAt.withUnsafeBytes { body.append(contentsOf: $0) }
        appendRaw(&body, count: n * 16) { p in
            for (i, id) in cols.eventIds.ids.enumerated() {
                p.storeBytes(of: id.high, toByteOffset: i * 16, as: UInt64.self)
                p.storeBytes(of: id.low, toByteOffset: i * 16 + 8, as: UInt64.self)
            }
        }
        body.appendLE(cols.eventIds.seeds.0)
        body.appendLE(cols.eventIds.seeds.1)
        body.appendLE(UInt32(cols.eventIds.bits))
        body.appendLE(UInt32(cols.eventIds.occupied))
        cols.eventIds.slots.withUnsafeBytes { body.append(contentsOf: $0) }

        var file = magic
        file.reserveCapacity(headerSize + body.count)
        file.appendLE(formatVersion)
        file.appendLE(UInt32(0))
        file.appendLE(UInt64(body.count))
        file.appendLE(CRC32C.checksum(body))
        file.appendLE(UInt32(0))
        file.append(contentsOf: body)
        return file
    }

    /// Appends `count` bytes written by `fill`.
    private static func appendRaw(_ out: inout [UInt8], count: Int, _ fill: (UnsafeMutableRawPointer) -> Void) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: count))
        out.withUnsafeMutableBytes { fill($0.baseAddress! + start) }
    }

    // MARK: Decoding

    /// The checkpoint in `file`, if its framing, checksum and contents hold together. (Whether it
    /// agrees with the log is for the store to check.)
    static func decode(_ file: UnsafeRawBufferPointer) -> Result<Contents, Rejection> {
        guard file.count >= headerSize else { return .failure(Rejection("shorter than its header")) }
        guard Array(file[0..<8]) == magic else { return .failure(Rejection("not an index checkpoint")) }
        let version = file.loadLE(UInt32.self, at: 8)
        guard version == formatVersion else { return .failure(Rejection("format version \(version), not \(formatVersion)")) }
        let length = file.loadLE(UInt64.self, at: 16)
        guard length == UInt64(file.count - headerSize) else {
            return .failure(Rejection("holds \(file.count - headerSize) bytes after its header, which says \(length)"))
        }
        let body = UnsafeRawBufferPointer(rebasing: file[headerSize...])
        guard CRC32C.checksum(body) == file.loadLE(UInt32.self, at: 24) else { return .failure(Rejection("checksum mismatch")) }
        var r = Reader(body)
        guard let c = r.contents() else { return .failure(Rejection(r.problem ?? "malformed contents")) }
        return .success(c)
    }

    /// Reads a checkpoint's contents; sets `problem` and returns nil on the first thing wrong.
    private struct Reader {
        let buf: UnsafeRawBufferPointer
        var offset = 0
        var problem: String?

        init(_ buf: UnsafeRawBufferPointer) { self.buf = buf }

        mutating func fail<T>(_ why: String) -> T? {
            if problem == nil { problem = why }
            return nil
        }

        mutating func varint(max: UInt64 = UInt64(Int64.max)) -> Int? {
            var b = ByteReader(buf, at: offset)
            guard let v = b.varint(), v <= max else { return fail("malformed number at offset \(offset)") }
            offset = b.offset
            return Int(v)
        }

        /// The next `count` bytes.
        mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count >= 0, count <= buf.count - offset else { return fail("ends inside its contents") }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: buf[offset..<(offset + count)])
        }

        mutating func array<T: FixedWidthInteger>(_: T.Type, _ count: Int) -> [T]? {
            guard let b = bytes(count * MemoryLayout<T>.size) else { return nil }
            return [T](unsafeUninitializedCapacity: count) { out, n in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: b)
                n = count
            }
        }

        mutating func names() -> [String]? {
            guard let count = varint(max: UInt64(UInt32.max)) else { return nil }
            var out = [String]()
            out.reserveCapacity(min(count, buf.count))
            for _ in 0..<count {
                guard let length = varint(max: 1 << 20), let b = bytes(length) else { return nil }
                guard let s = String(validating: b, as: UTF8.self) else { return fail("a name is not UTF-8") }
                out.append(s)
            }
            return out
        }

        mutating func contents() -> Contents? {
            guard let n = varint(max: 1 << 40), let headHash = bytes(32).map(Digest.init) else { return nil }
            guard let segmentCount = varint(max: 1 << 20), segmentCount >= 1 else { return fail("no segments") }
            var segments = [Extent]()
            for _ in 0..<segmentCount {
                guard let base = varint(), let end = varint() else { return nil }
                segments.append(Extent(base: Int64(base), committedEnd: Int64(end)))
            }
            guard let dictionaryCount = varint(max: 1 << 16) else { return nil }
            var dictionaries = [LZ4Dictionary]()
            for _ in 0..<dictionaryCount {
                guard let id = varint(max: UInt64(UInt32.max)), id != 0, let length = varint(max: 65_536), let b = bytes(length)
                else { return fail("malformed dictionary") }
                dictionaries.append(LZ4Dictionary(id: UInt32(id), bytes: Array(b)))
            }
            guard let current = varint(max: UInt64(UInt32.max)) else { return nil }
            guard let streamNames = names(), let typeNames = names() else { return nil }
            guard let hashes = array(UInt8.self, n * 32) else { return nil }
            guard let rawLocations = bytes(n * 12) else { return nil }
            let locations = [LogIndex.Location](unsafeUninitializedCapacity: n) { out, k in
                for i in 0..<n {
                    (out.baseAddress! + i).initialize(to: LogIndex.Location(
                        segment: rawLocations.loadLE(Int32.self, at: i * 12), offset: rawLocations.loadLE(UInt32.self, at: i * 12 + 4),
                        length: rawLocations.loadLE(UInt32.self, at: i * 12 + 8)))
                }
                k = n
            }
            guard let streamOf = array(UInt32.self, n), let typeOf = array(UInt32.self, n), let occurredAt = array(Int64.self, n),
                let rawIds = bytes(n * 16)
            else { return nil }
            let ids = [EventID](unsafeUninitializedCapacity: n) { out, k in
                for i in 0..<n {
                    (out.baseAddress! + i).initialize(
                        to: EventID(high: rawIds.loadLE(UInt64.self, at: i * 16), low: rawIds.loadLE(UInt64.self, at: i * 16 + 8)))
                }
                k = n
            }
            guard let seeds = array(UInt64.self, 2), let table = array(UInt32.self, 2), table[0] <= 40 else {
                return fail("malformed event-id table")
            }
            guard let slots = array(UInt64.self, 1 << Int(table[0])), offset == buf.count else {
                return fail("malformed event-id table")
            }
            let stored = EventIDTable.Stored(
                seeds: (seeds[0], seeds[1]), bits: Int(table[0]), occupied: Int(table[1]), slots: slots, ids: ids)
            let columns = LogIndex.Columns(
                hashes: hashes, locations: locations, streamOf: streamOf, typeOf: typeOf, occurredAt: occurredAt,
                streamNames: streamNames, typeNames: typeNames, eventIds: stored)
            guard let index = LogIndex(columns: columns) else { return fail("columns that do not agree with each other") }
            guard index.headHash == headHash else { return fail("a head hash that is not its last hash") }
            guard segments.allSatisfy({ $0.base >= 1 }),
                locations.allSatisfy({ $0.segment >= 0 && Int($0.segment) < segmentCount })
            else { return fail("locations outside its segments") }
            return Contents(index: index, segments: segments, dictionaries: dictionaries, currentDictionary: UInt32(current))
        }
    }

    // MARK: Files

    /// The checkpoint file, mapped into memory (read, not copied: only the columns are copied
    /// out of it); nil when there is none or it cannot be read.
    final class MappedFile {
        let bytes: UnsafeRawBufferPointer

        init?(_ path: String) {
            guard let fd = try? Sys.open(path, O_RDONLY) else { return nil }
            defer { Sys.close(fd) }
            guard let size = try? Sys.fileSize(fd, path: path), size > 0,
                let p = try? Sys.mapReadOnly(fd, Int(size), path: path)
            else { return nil }
            bytes = UnsafeRawBufferPointer(start: p, count: Int(size))
        }

        deinit { Sys.unmap(bytes.baseAddress!, bytes.count) }
    }

    static func read(store: String) -> MappedFile? { MappedFile(path(store: store)) }

    /// The head of the checkpoint on disk, if its framing and checksum hold (a damaged file
    /// claiming a later head must not stop new checkpoints being written); nil otherwise.
    static func storedHead(store: String) -> Int64? {
        guard let file = read(store: store) else { return nil }
        let b = file.bytes
        guard b.count > headerSize, Array(b[0..<8]) == magic, b.loadLE(UInt32.self, at: 8) == formatVersion,
            b.loadLE(UInt64.self, at: 16) == UInt64(b.count - headerSize)
        else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: b[headerSize...])
        guard CRC32C.checksum(body) == b.loadLE(UInt32.self, at: 24) else { return nil }
        var r = ByteReader(body)
        return r.varint().map { Int64(truncatingIfNeeded: $0) }
    }

    /// Writes `file` as the store's checkpoint: to a temporary file in the same directory,
    /// synced, renamed over the old one, the directory synced. A crash leaves the old checkpoint
    /// or the new one; concurrent writers (in other processes) each rename a whole file.
    static func write(_ file: [UInt8], store: String) throws(Sys.Failure) {
        let dir = store + "/" + directoryName
        try Sys.mkdir(dir)
        removeAbandonedTemporaryFiles(in: dir)
        let temp = dir + "/." + fileName + "." + String(getpid()) + ".tmp"
        let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_TRUNC)
        var failure: Sys.Failure?
        file.withUnsafeBytes { b in
            do throws(Sys.Failure) { try Sys.pwriteAll(fd, b, 0, path: temp) } catch { failure = error }
        }
        if failure == nil {
            do { try Sys.fsync(fd, path: temp) } catch { failure = error }
        }
        Sys.close(fd)
        if failure == nil {
            do { try Sys.rename(temp, dir + "/" + fileName) } catch { failure = error }
        }
        if let failure {
            try? Sys.unlink(temp)
            throw failure
        }
        try Sys.fsyncDirectory(dir)
    }

    /// Deletes temporary files left by writers that died (their process is gone).
    private static func removeAbandonedTemporaryFiles(in dir: String) {
        guard let names = try? Sys.list(dir) else { return }
        for name in names where name.hasPrefix("." + fileName + ".") && name.hasSuffix(".tmp") {
            let pid = name.dropFirst(fileName.count + 2).dropLast(4)
            guard let p = Int32(pid), p != getpid(), kill(p, 0) != 0, errno == ESRCH else { continue }
            try? Sys.unlink(dir + "/" + name)
        }
    }
}
