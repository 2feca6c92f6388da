#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
import DeployLogEvents

/// What `verify` found.
public struct VerificationReport: Sendable, Equatable {
    /// Events whose framing, checksum, decompression and chain hash were checked.
    public var events: Int64
    public var segments: Int
    /// The last good position and its hash.
    public var head: Checkpoint
    /// The first problem, or nil when the log is sound.
    public var problem: VerificationProblem?
    public var ok: Bool { problem == nil }

    public init(events: Int64, segments: Int, head: Checkpoint, problem: VerificationProblem? = nil) {
        self.events = events
        self.segments = segments
        self.head = head
        self.problem = problem
    }
}

public struct VerificationProblem: Sendable, Equatable, CustomStringConvertible {
    /// The first position that cannot be trusted.
    public var position: Int64
    public var file: String
    public var offset: Int64
    public var message: String
    public var description: String {
        file.isEmpty ? "position \(position): \(message)" : "position \(position): \(message) (\(file) offset \(offset))"
    }

    public init(position: Int64, file: String, offset: Int64, message: String) {
        self.position = position
        self.file = file
        self.offset = offset
        self.message = message
    }
}

extension FileStore {
    /// Checks every byte of the store at `path`: segment headers, record framing and
    /// checksums, LZ4 decompression, gapless positions, the hash chain against every commit
    /// record, the HEAD file, and optionally that the log extends `checkpoint`.
    /// Reads the files directly (no index), so it works on a store that will not open.
    public static func verify(
        at path: String, checkpoint: Checkpoint? = nil, progress: ((Int64) -> Void)? = nil
    ) throws(StoreError) -> VerificationReport {
        guard Sys.exists(path + "/" + markerName) else { throw StoreError(.notFound, "no deploylog store at \(path)") }
        let dir = path + "/segments"
        let bases: [Int64]
        do { bases = try Sys.list(dir).compactMap(SegmentFormat.basePosition(fileName:)).sorted() } catch {
            throw StoreError(.io, "cannot list \(dir): \(error)")
        }
        var report = VerificationReport(events: 0, segments: bases.count, head: Checkpoint(position: 0, hash: ChainHash.genesis.hex))
        var chain = ChainHash.genesis
        var committedChain = chain
        var committed: Int64 = 0
        var next: Int64 = 1
        var dicts = [LZ4Dictionary]()
        var decompressor = LZ4Decompressor(dictionaries: [])
        var raw = [UInt8]()
        var packed = [UInt8]()
        var reported: Int64 = 0
        var checkpointSeen = checkpoint == nil || checkpoint?.position == 0
        if let cp = checkpoint, cp.position == 0, cp.hash != ChainHash.genesis.hex {
            report.problem = VerificationProblem(position: 0, file: "", offset: 0, message: "checkpoint at position 0 must hold the zero hash")
            return report
        }
        func fail(_ pos: Int64, _ file: String, _ off: Int, _ msg: String) -> VerificationReport {
            var r = report
            r.events = committed
            r.head = Checkpoint(position: committed, hash: committedChain.hex)
            r.problem = VerificationProblem(position: pos, file: file, offset: Int64(off), message: msg)
            return r
        }
        for (si, base) in bases.enumerated() {
            let file = dir + "/" + SegmentFormat.fileName(basePosition: base)
            let isLast = si == bases.count - 1
            let bytes: [UInt8]
            do {
                let fd = try Sys.open(file, O_RDONLY)
                defer { Sys.close(fd) }
                let size = Int(try Sys.fileSize(fd, path: file))
                bytes = try [UInt8](unsafeUninitializedCapacity: size) { buf, n in
                    n = try Sys.pread(fd, buf.baseAddress!, size, 0, path: file)
                }
            } catch {
                throw StoreError(.io, "cannot read \(file): \(error)")
            }
            if let r = bytes.withUnsafeBytes({ buf -> VerificationReport? in
                guard let hb = SegmentFormat.parseHeader(buf) else { return fail(next, file, 0, "bad segment header") }
                guard hb == base, base == next || (base == 1 && next == 1) else {
                    return fail(next, file, 0, "segment starts at position \(hb), expected \(next)")
                }
                var off = SegmentFormat.headerSize
                var lastCommitEnd = off
                while off < buf.count {
                    let parsed = SegmentFormat.parseRecord(buf, at: off)
                    guard case .success((let rec, let after)) = parsed else {
                        guard case .failure(let f) = parsed else { return nil }
                        let what = isLast && f.problem == .truncated ? "torn tail: \(f.problem)" : f.problem.description
                        return fail(committed + 1, file, off, what)
                    }
                    switch rec {
                    case .dictionary(let id, let length, let compressed):
                        do { dicts.append(try SegmentFormat.dictionary(id: id, length: length, compressed: compressed)) } catch {
                            return fail(next, file, off, "dictionary \(id): \(error)")
                        }
                        decompressor = LZ4Decompressor(dictionaries: dicts)
                        if next == committed + 1 { lastCommitEnd = after }
                    case .event(let pos, let dictId, let packedLength, let payload):
                        guard pos == next else { return fail(next, file, off, "record holds position \(pos)") }
                        let n: Int
                        do {
                            n = try EventPacking.decode(
                                payload, packedLength: packedLength, dictionaryId: dictId, decompressor: decompressor,
                                packed: &packed, into: &raw)
                        } catch {
                            return fail(pos, file, off, "\(error)")
                        }
                        chain = raw.withUnsafeBytes {
                            ChainHash.next(previous: chain, canonical: UnsafeRawBufferPointer(rebasing: $0[0..<n]))
                        }
                        if !checkpointSeen, let cp = checkpoint, cp.position == pos {
                            checkpointSeen = true
                            if chain.hex != cp.hash {
                                return fail(pos, file, off, "the log does not extend the checkpoint: hash at position \(pos) is \(chain.hex), checkpoint says \(cp.hash)")
                            }
                        }
                        next += 1
                    case .commit(let last, let hash):
                        guard last == next - 1 else { return fail(committed + 1, file, off, "commit record says position \(last), expected \(next - 1)") }
                        guard Digest(hash) == chain else {
                            return fail(committed + 1, file, off, "hash chain broken in positions \(committed + 1)...\(last)")
                        }
                        committed = last
                        committedChain = chain
                        lastCommitEnd = after
                        report.events = committed
                        if let progress, committed - reported >= 65_536 {
                            reported = committed
                            progress(committed)
                        }
                    }
                    off = after
                }
                if next != committed + 1 || lastCommitEnd != buf.count {
                    return fail(committed + 1, file, lastCommitEnd, "\(buf.count - lastCommitEnd) bytes after the last commit record (an interrupted write not yet cut back)")
                }
                return nil
            }) {
                return r
            }
        }
        report.head = Checkpoint(position: committed, hash: committedChain.hex)
        if let cp = checkpoint, !checkpointSeen {
            return fail(committed + 1, "", 0, "the log ends at position \(committed), before the checkpoint's position \(cp.position)")
        }
        let probe = FileStore.readHeadFile(path + "/HEAD")
        if let acknowledged = probe, acknowledged.position > committed {
            return fail(committed + 1, path + "/HEAD", 0, "HEAD says position \(acknowledged.position) was acknowledged, the log ends at \(committed)")
        }
        if let acknowledged = probe, acknowledged.position == committed, acknowledged.hash != report.head.hash {
            return fail(committed, path + "/HEAD", 0, "HEAD holds a different hash for position \(committed)")
        }
        return report
    }
}
