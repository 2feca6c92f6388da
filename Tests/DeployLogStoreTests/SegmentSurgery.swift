import DeployLogCompression
import DeployLogEvents
@testable import DeployLogStore
import Foundation

/// Test-only tools that cut into segment files the way an attacker or a bad disk would.
extension FileStore {
    private static func segmentPaths(_ store: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store + "/segments").filter { $0.hasSuffix(".seg") }.sorted()
            .map { store + "/segments/" + $0 }
    }

    /// Walks every record of every segment: (path, offset, end, record).
    private static func walk(_ store: String, _ body: (String, Int, Int, SegmentRecord) throws -> Void) throws {
        for path in try segmentPaths(store) {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            try data.withUnsafeBytes { buf in
                var off = SegmentFormat.headerSize
                while off < buf.count, case .success((let rec, let next)) = SegmentFormat.parseRecord(buf, at: off) {
                    try body(path, off, next, rec)
                    off = next
                }
            }
        }
    }

    /// The byte range of the event record at `position` within its segment file.
    static func recordRange(at store: String, position: Int64) throws -> Range<Int> {
        var found: Range<Int>?
        try walk(store) { _, off, end, rec in
            if case .event(let p, _, _, _) = rec, p == position { found = off..<end }
        }
        return found!
    }

    /// Rewrites the event at `position` through `edit` (on its canonical JSON), recompressing
    /// it and fixing its frame checksum, so only the hash chain can tell.
    static func forgeForTesting(at store: String, position: Int64, _ edit: (String) -> String) throws {
        var dicts = [LZ4Dictionary]()
        var target: (String, Int, Int, UInt32, [UInt8])?
        try walk(store) { path, off, end, rec in
            switch rec {
            case .dictionary(let id, let length, let compressed):
                dicts.append(try SegmentFormat.dictionary(id: id, length: length, compressed: compressed))
            case .event(let p, let dictId, let packedLength, let payload) where p == position:
                var raw = [UInt8]()
                var packed = [UInt8]()
                let n = try EventPacking.decode(
                    payload, packedLength: packedLength, dictionaryId: dictId, decompressor: LZ4Decompressor(dictionaries: dicts),
                    packed: &packed, into: &raw)
                raw.removeLast(raw.count - n)
                target = (path, off, end, dictId, raw)
            default: break
            }
        }
        let (path, off, end, dictId, raw) = target!
        let edited = Array(edit(String(decoding: raw, as: UTF8.self)).utf8)
        var record = [UInt8]()
        let compressor = LZ4Compressor(dictionary: dicts.first { $0.id == dictId })
        var packed = [UInt8]()
        edited.withUnsafeBytes { EventPacking.pack($0, into: &packed) }
        SegmentFormat.appendRecord(to: &record) { b in
            b.append(SegmentFormat.Kind.event.rawValue)
            b.appendVarint(UInt64(position))
            b.appendVarint(UInt64(dictId))
            b.appendVarint(UInt64(packed.count))
            _ = compressor.compress(packed, appendingTo: &b)
        }
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        data.replaceSubrange(off..<end, with: record)
        try Data(data).write(to: URL(fileURLWithPath: path))
    }
}
