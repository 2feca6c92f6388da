#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
import Foundation
import DeployLogEvents

extension FileStore {
    /// Picks up records committed since this process last looked (by itself or another
    /// writer process). Never cuts anything: only a writer holding the lock does.
    func refresh() throws(StoreError) {
        stateLock.lock()
        defer { stateLock.unlock() }
        if state.localWriteInProgress { return }
        try catchUp(repair: false, fromSegment: state.segments.count - 1)
        scheduleIndexCheckpointIfDue()
    }

    /// Scans segments from `fromSegment` onwards, from what is already known, adding committed
    /// events to the index. With `repair` (the caller holds the writer lock) an uncommitted
    /// tail of the last segment is cut back to its last commit record, unless the HEAD file
    /// says those events were acknowledged, which is corruption, not a torn write.
    /// Call with `stateLock` held (or from `init`).
    func catchUp(repair: Bool, fromSegment: Int) throws(StoreError) {
        var si = max(fromSegment, 0)
        var grew = false
        while si < state.segments.count {
            let isLast = si == state.segments.count - 1
            let seg = state.segments[si]
            if seg.readFD < 0 {
                do { state.segments[si].readFD = try Sys.open(seg.path, O_RDONLY) } catch {
                    throw StoreError(.io, "cannot open \(seg.path): \(error)")
                }
            }
            let fd = state.segments[si].readFD
            let size: Int64
            do { size = try Sys.fileSize(fd, path: seg.path) } catch { throw StoreError(.io, "\(error)") }
            if size > seg.committedEnd {
                let count = Int(size - seg.committedEnd)
                // A read error must stop here: read as "no bytes", it would look like a torn tail
                // and a repairing open would cut the segment.
                var readError: (any Error)?
                let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, n in
                    do { n = try Sys.pread(fd, buf.baseAddress!, count, seg.committedEnd, path: seg.path) } catch {
                        readError = error
                        n = 0
                    }
                }
                if let readError { throw StoreError(.io, "cannot read \(seg.path): \(readError)") }
                let outcome = bytes.withUnsafeBytes { scan($0, baseOffset: seg.committedEnd, segmentIndex: si) }
                if outcome.committedThrough > 0 { grew = true }
                state.segments[si].committedEnd = seg.committedEnd + Int64(outcome.committedThrough)
                if let problem = outcome.problem, !isLast {
                    throw StoreError(
                        .corruption,
                        "\(seg.path) offset \(seg.committedEnd + Int64(outcome.problemOffset)): \(problem) (near position \(state.index.head + 1)); run `deploylog verify`",
                        position: state.index.head + 1)
                }
                let leftover = size - state.segments[si].committedEnd
                if leftover > 0 {
                    if !isLast {
                        throw StoreError(
                            .corruption, "\(seg.path): \(leftover) bytes after the last commit record of a closed segment",
                            position: state.index.head + 1)
                    }
                    if repair { try cutTornTail(segment: si, problem: outcome.problem) }
                }
            }
            if isLast {
                // Another writer may have started a new segment after our head.
                let next = segmentsPath + "/" + SegmentFormat.fileName(basePosition: state.index.head + 1)
                if state.segments[si].committedEnd > 0, next != seg.path, Sys.exists(next) {
                    state.segments.append(Segment(base: state.index.head + 1, path: next, committedEnd: 0))
                }
            }
            si += 1
        }
        if grew {
            state.generation &+= 1
            stateLock.broadcast()
        }
    }

    struct ScanOutcome {
        /// Bytes (from the scan's start) up to the end of the last commit or dictionary record.
        var committedThrough: Int = 0
        var problem: String?
        var problemOffset: Int = 0
    }

    /// Parses records; applies each batch to the index when its commit record is seen.
    private func scan(_ buf: UnsafeRawBufferPointer, baseOffset: Int64, segmentIndex si: Int) -> ScanOutcome {
        var out = ScanOutcome()
        var offset = 0
        if baseOffset == 0 {
            guard let base = SegmentFormat.parseHeader(buf) else {
                out.problem = buf.count < SegmentFormat.headerSize ? "segment header cut short" : "bad segment header"
                return out
            }
            guard base == state.segments[si].base else {
                out.problem = "segment header says base position \(base), its name says \(state.segments[si].base)"
                return out
            }
            offset = SegmentFormat.headerSize
            out.committedThrough = offset
        }
        var pending = [(IndexFields, Digest, LogIndex.Location)]()
        var cache = RecordedEvent.DecodeCache()
        var pendingVersions = [String: Int64]()
        var chain = state.index.headHash
        var raw = [UInt8]()
        var packed = [UInt8]()
        var decompressor = LZ4Decompressor(dictionaries: Array(state.dictionaries.values))
        while offset < buf.count {
            let parsed = SegmentFormat.parseRecord(buf, at: offset)
            guard case .success((let record, let next)) = parsed else {
                if case .failure(let f) = parsed { out.problem = f.problem.description }
                out.problemOffset = offset
                return out
            }
            switch record {
            case .dictionary(let id, let length, let compressed):
                let d: LZ4Dictionary
                do { d = try SegmentFormat.dictionary(id: id, length: length, compressed: compressed) } catch {
                    out.problem = "dictionary \(id): \(error)"
                    out.problemOffset = offset
                    return out
                }
                state.dictionaries[id] = d
                state.currentDictionary = d
                decompressor = LZ4Decompressor(dictionaries: Array(state.dictionaries.values))
                if pending.isEmpty { out.committedThrough = next }
            case .event(let pos, let dictId, let packedLength, let payload):
                let expected = state.index.head + Int64(pending.count) + 1
                guard pos == expected else {
                    out.problem = "record holds position \(pos), expected \(expected)"
                    out.problemOffset = offset
                    return out
                }
                let n: Int
                do {
                    n = try EventPacking.decode(
                        payload, packedLength: packedLength, dictionaryId: dictId, decompressor: decompressor, packed: &packed, into: &raw)
                } catch {
                    out.problem = "position \(pos): \(error)"
                    out.problemOffset = offset
                    return out
                }
                // Only what the index keeps is built (the rest is checked); another layout takes
                // the full decoder.
                let e: IndexFields
                do {
                    e = try raw.withUnsafeBytes { (r) throws(EventDecodingError) -> IndexFields in
                        let canonical = UnsafeRawBufferPointer(rebasing: r[0..<n])
                        if let f = RecordedEvent.decodeIndexFields(canonical, cache: &cache) { return f }
                        return IndexFields(try RecordedEvent.decode(canonical: canonical, cache: &cache))
                    }
                } catch {
                    out.problem = "position \(pos): \(error)"
                    out.problemOffset = offset
                    return out
                }
                let expectedVersion = (pendingVersions[e.stream] ?? state.index.lastVersion(of: e.stream) ?? -1) + 1
                guard e.position == pos, e.streamVersion == expectedVersion else {
                    out.problem = "position \(pos): event says position \(e.position), stream version \(e.streamVersion) (expected \(expectedVersion))"
                    out.problemOffset = offset
                    return out
                }
                pendingVersions[e.stream] = expectedVersion
                chain = raw.withUnsafeBytes { ChainHash.next(previous: chain, canonical: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                let loc = LogIndex.Location(
                    segment: Int32(si), offset: UInt32(baseOffset + Int64(offset)), length: UInt32(next - offset))
                pending.append((e, chain, loc))
            case .commit(let last, let hash):
                let expected = state.index.head + Int64(pending.count)
                guard last == expected, Digest(hash) == chain else {
                    out.problem = last == expected
                        ? "hash chain broken: commit record after position \(last) holds a different hash"
                        : "commit record says position \(last), expected \(expected)"
                    out.problemOffset = offset
                    return out
                }
                for (e, h, loc) in pending { state.index.add(e, hash: h, location: loc) }
                pending.removeAll(keepingCapacity: true)
                pendingVersions.removeAll(keepingCapacity: true)
                out.committedThrough = next
            }
            offset = next
        }
        return out
    }

    /// Cuts the last segment back to its last commit record (called holding the writer lock).
    private func cutTornTail(segment si: Int, problem: String?) throws(StoreError) {
        let seg = state.segments[si]
        if let acknowledged = FileStore.readHeadFile(headPath), acknowledged.position > state.index.head {
            throw StoreError(
                .corruption,
                "\(seg.path) offset \(seg.committedEnd): \(problem ?? "uncommitted records"), but positions \(state.index.head + 1)...\(acknowledged.position) were acknowledged; run `deploylog verify`",
                position: state.index.head + 1)
        }
        if seg.committedEnd < Int64(SegmentFormat.headerSize) {
            // Only a header that was never completely written is a torn write; a whole header
            // that does not check, or the first segment's (written before the store existed),
            // is damage, and cutting it would lose the segment.
            let size = (try? Sys.fileSize(state.segments[si].readFD, path: seg.path)) ?? 0
            if seg.base == 1 || size >= Int64(SegmentFormat.headerSize) {
                throw StoreError(
                    .corruption, "\(seg.path): \(problem ?? "bad segment header"); run `deploylog verify`",
                    position: state.index.head + 1)
            }
        }
        do {
            let fd = try Sys.open(seg.path, O_RDWR)
            defer { Sys.close(fd) }
            if seg.committedEnd < Int64(SegmentFormat.headerSize) {
                // A segment whose header never made it: it holds nothing; start it again.
                try Sys.ftruncate(fd, 0, path: seg.path)
                state.segments[si].committedEnd = 0
                try rewriteSegmentStart(fd: fd, segment: si)
            } else {
                try Sys.ftruncate(fd, seg.committedEnd, path: seg.path)
                try Sys.fsync(fd, path: seg.path)
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(.io, "cannot cut the torn tail of \(seg.path): \(error)")
        }
    }

    /// Writes a segment's header and the current dictionary (for a new or restarted segment).
    func rewriteSegmentStart(fd: Int32, segment si: Int) throws {
        var bytes = SegmentFormat.header(basePosition: state.segments[si].base)
        if let d = state.currentDictionary { SegmentFormat.appendDictionaryRecord(d, to: &bytes) }
        try bytes.withUnsafeBytes { b in try Sys.pwriteAll(fd, b, 0, path: state.segments[si].path) }
        try Sys.fsync(fd, path: state.segments[si].path)
        state.segments[si].committedEnd = Int64(bytes.count)
    }

    // MARK: HEAD: the last acknowledged position, written after every sync (not itself synced).

    static let headMagic: [UInt8] = Array("DLOGHEAD".utf8)

    /// Records a new head: written at once when the last write is 20 ms old, else when the next
    /// commit or the store's release comes. (Each write dirties another inode, which the next
    /// `fdatasync` of the segment would have to journal: once per commit would cost a fifth of
    /// single-event throughput.) Called by the commit leader only, and by `deinit`.
    func noteHead(position: Int64, hash: Digest, force: Bool = false) {
        headWriter.pending = (position, hash)
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        guard force || now &- headWriter.writtenAt >= 20_000_000 else { return }
        headWriter.writtenAt = now
        headWriter.pending = nil
        var b = FileStore.headMagic
        b.appendLE(UInt64(bitPattern: position))
        b.append(contentsOf: hash.bytes)
        b.appendLE(CRC32C.checksum(b))
        if headWriter.fd < 0 { headWriter.fd = (try? Sys.open(headPath, O_WRONLY | O_CREAT)) ?? -1 }
        guard headWriter.fd >= 0 else { return }
        _ = try? b.withUnsafeBytes { p in try Sys.pwriteAll(headWriter.fd, p, 0, path: headPath) }
    }

    /// The HEAD file's writer state (touched by the commit leader only).
    final class HeadWriter {
        var fd: Int32 = -1
        var writtenAt: UInt64 = 0
        var pending: (Int64, Digest)?
    }

    static func readHeadFile(_ headPath: String) -> Checkpoint? {
        guard let fd = try? Sys.open(headPath, O_RDONLY) else { return nil }
        defer { Sys.close(fd) }
        var b = [UInt8](repeating: 0, count: 52)
        let n = b.withUnsafeMutableBytes { (try? Sys.pread(fd, $0.baseAddress!, 52, 0, path: headPath)) ?? 0 }
        guard n == 52, Array(b[0..<8]) == FileStore.headMagic,
            b.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<48])) == $0.loadLE(UInt32.self, at: 48) })
        else { return nil }
        let pos = b.withUnsafeBytes { Int64(bitPattern: $0.loadLE(UInt64.self, at: 8)) }
        return Checkpoint(position: pos, hash: Hex.encode(b[16..<48]))
    }
}
