#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
public import DeployLogEvents
import Foundation

/// The embedded file store: append-only segment files of framed, checksummed, LZ4-compressed
/// records in a directory (`./.deploylog` by default).
///
/// One writer process at a time (an advisory lock on `LOCK`, held only while a batch is
/// written), any number of readers. An append is durable when it returns (`fdatasync`), and
/// concurrent appends in one process share one write and one sync (group commit). On open a
/// torn tail — records after the last commit record, left by a writer that died — is cut back.
public final class FileStore: EventStore, @unchecked Sendable {
    public struct Options: Sendable {
        /// A segment is closed once it holds at least this many bytes.
        public var segmentSize: Int = 64 << 20
        /// The store's clock (for `recordedAt`).
        public var clock: @Sendable () -> Timestamp = { Timestamp.now() }
        /// Most events one group commit takes.
        public var maxBatchEvents: Int = 50_000
        public init() {}
    }

    public static let markerName = "deploylog.store"
    /// Threads that encode a large group of events.
    static let encodeWorkers = 2
    public static let defaultPath = ".deploylog"

    public let path: String
    let options: Options
    let segmentsPath: String
    let lockPath: String
    let headPath: String

    /// Guards `state`.
    let stateLock = NSCondition()
    var state: State
    let lockFD: Int32
    let committer: GroupCommitter

    /// Group commits written by this instance and the append calls they served.
    package var groupCommitStatistics: (groups: UInt64, requests: UInt64) { committer.statistics }
    let headWriter = HeadWriter()
    let lease = WriterLease()

    struct Segment {
        var base: Int64
        var path: String
        /// Bytes of the file known to hold committed records.
        var committedEnd: Int64
        var readFD: Int32 = -1
    }

    struct State {
        var segments: [Segment] = []
        var index = LogIndex()
        var dictionaries: [UInt32: LZ4Dictionary] = [:]
        var currentDictionary: LZ4Dictionary?
        var writeFD: Int32 = -1
        /// The segment `writeFD` belongs to.
        var writeSegment = -1
        /// Bumped on every commit this process sees; subscribers wait on it.
        var generation: UInt64 = 0
        /// This process's leader is writing: `refresh` must not scan what it writes.
        var localWriteInProgress = false
        /// Used by the leader only: one per encoding thread.
        var compressors: [LZ4Compressor] = []
    }

    // MARK: Creating and opening

    /// Creates a store at `path` (idempotent: an existing store is opened as it is).
    public static func create(at path: String, options: Options = Options()) throws(StoreError) -> FileStore {
        let marker = path + "/" + markerName
        if !Sys.exists(marker) {
            do {
                if Sys.exists(path), try !Sys.list(path).isEmpty {
                    throw StoreError(.invalidRequest, "\(path) exists, is not empty and is not a deploylog store")
                }
                try Sys.mkdir(path)
                try Sys.mkdir(path + "/segments")
                // The first segment: header and the dictionary, committed before the marker exists.
                let seg = path + "/segments/" + SegmentFormat.fileName(basePosition: 1)
                var bytes = SegmentFormat.header(basePosition: 1)
                let dict = DefaultDictionary.v1
                SegmentFormat.appendDictionaryRecord(dict, to: &bytes)
                let fd = try Sys.open(seg, O_RDWR | O_CREAT | O_TRUNC)
                defer { Sys.close(fd) }
                try bytes.withUnsafeBytes { b in try Sys.pwriteAll(fd, b, 0, path: seg) }
                try Sys.fsync(fd, path: seg)
                try Sys.fsyncDirectory(path + "/segments")
                let tmp = marker + ".tmp"
                let mfd = try Sys.open(tmp, O_RDWR | O_CREAT | O_TRUNC)
                let text = Array("{\"format\":\"deploylog-file-store\",\"version\":1}\n".utf8)
                try text.withUnsafeBytes { b in try Sys.pwriteAll(mfd, b, 0, path: tmp) }
                try Sys.fsync(mfd, path: tmp)
                Sys.close(mfd)
                try Sys.rename(tmp, marker)
                try Sys.fsyncDirectory(path)
            } catch let e as StoreError {
                throw e
            } catch {
                throw StoreError(.io, "cannot create store at \(path): \(error)")
            }
        }
        return try open(at: path, options: options)
    }

    /// Opens an existing store; cuts a torn tail when no other writer is active.
    public static func open(at path: String, options: Options = Options()) throws(StoreError) -> FileStore {
        guard Sys.exists(path + "/" + markerName) else {
            throw StoreError(.notFound, "no deploylog store at \(path) (run `deploylog --store \(path) init`)")
        }
        return try FileStore(path: path, options: options)
    }

    private init(path: String, options: Options) throws(StoreError) {
        self.path = path
        self.options = options
        segmentsPath = path + "/segments"
        lockPath = path + "/LOCK"
        headPath = path + "/HEAD"
        do {
            lockFD = try Sys.open(lockPath, O_RDWR | O_CREAT)
        } catch {
            throw StoreError(.io, "cannot open \(lockPath): \(error)")
        }
        state = State()
        committer = GroupCommitter()
        let names: [String]
        do { names = try Sys.list(segmentsPath) } catch { throw StoreError(.io, "cannot list \(segmentsPath): \(error)") }
        let bases = names.compactMap(SegmentFormat.basePosition(fileName:)).sorted()
        guard !bases.isEmpty else { throw StoreError(.corruption, "\(segmentsPath) holds no segment files") }
        // Try to become the writer for a moment: then a torn tail may be cut.
        let haveLock = (try? Sys.lockExclusive(lockFD, wait: false, path: lockPath)) ?? false
        defer { if haveLock { Sys.unlock(lockFD) } }
        for base in bases {
            state.segments.append(Segment(base: base, path: segmentsPath + "/" + SegmentFormat.fileName(basePosition: base), committedEnd: 0))
        }
        try catchUp(repair: haveLock, fromSegment: 0)
    }

    deinit {
        if let (position, hash) = headWriter.pending { noteHead(position: position, hash: hash, force: true) }
        if headWriter.fd >= 0 { Sys.close(headWriter.fd) }
        lease.release(lockFD)
        for s in state.segments where s.readFD >= 0 { Sys.close(s.readFD) }
        if state.writeFD >= 0 { Sys.close(state.writeFD) }
        Sys.close(lockFD)
    }

    // MARK: Reading

    public func head() throws(StoreError) -> Checkpoint {
        try refresh()
        stateLock.lock()
        defer { stateLock.unlock() }
        return Checkpoint(position: state.index.head, hash: state.index.headHash.hex)
    }

    public func streamVersion(of stream: String) throws(StoreError) -> Int64? {
        try refresh()
        stateLock.lock()
        defer { stateLock.unlock() }
        return state.index.lastVersion(of: stream)
    }

    /// The chain hash at `position` (0 gives the genesis hash).
    public func checkpoint(at position: Int64) throws(StoreError) -> Checkpoint {
        try refresh()
        stateLock.lock()
        defer { stateLock.unlock() }
        guard position >= 0, position <= state.index.head else {
            throw StoreError(.invalidRequest, "position \(position) is beyond the head (\(state.index.head))", position: position)
        }
        return Checkpoint(position: position, hash: state.index.hash(at: position).hex)
    }

    /// The event at `position`.
    public func event(at position: Int64) throws -> RecordedEvent {
        var found: RecordedEvent?
        try read(from: position, filter: EventFilter(), limit: 1) { found = $0; return false }
        guard let found, found.position == position else {
            throw StoreError(.invalidRequest, "no event at position \(position) (head is \(try head().position))", position: position)
        }
        return found
    }

    public func read(from position: Int64, filter: EventFilter, limit: Int?, _ body: (RecordedEvent) throws -> Bool) throws {
        _ = try readExamining(from: position, filter: filter, limit: limit, body)
    }

    /// `read`, returning the last position it examined: the head it saw when fewer than
    /// `limit` events matched, else the last one delivered.
    func readExamining(from position: Int64, filter: EventFilter, limit: Int?, _ body: (RecordedEvent) throws -> Bool) throws -> Int64 {
        try refresh()
        // Take what is needed under the lock, read the files outside it.
        stateLock.lock()
        let positions = state.index.positions(from: position, filter: filter, limit: limit)
        let examined = limit.map { positions.count >= $0 } ?? false ? positions.last! : max(state.index.head, position - 1)
        var wanted = [(Int64, LogIndex.Location, Digest)]()
        wanted.reserveCapacity(positions.count)
        for p in positions {
            wanted.append((p, state.index.location(of: p), state.index.hash(at: p)))
        }
        var fds = [Int32]()
        var ends = [Int64]()
        var paths = [String]()
        do {
            for i in state.segments.indices {
                if state.segments[i].readFD < 0 {
                    state.segments[i].readFD = try Sys.open(state.segments[i].path, O_RDONLY)
                }
                fds.append(state.segments[i].readFD)
                ends.append(state.segments[i].committedEnd)
                paths.append(state.segments[i].path)
            }
        } catch {
            stateLock.unlock()
            throw StoreError(.io, "cannot open segment: \(error)")
        }
        let dicts = LZ4Decompressor(dictionaries: Array(state.dictionaries.values))
        stateLock.unlock()

        var i = 0
        var decoders = [RecordDecoder](repeating: RecordDecoder(), count: FileStore.encodeWorkers)
        // The bytes of each read, in one buffer kept from read to read.
        var buffer = [UInt8]()
        while i < wanted.count {
            // One read: this record and the following wanted ones of the same segment, up to 1 MiB.
            let loc = wanted[i].1
            let seg = Int(loc.segment)
            let start = Int64(loc.offset)
            var end = start + Int64(loc.length)
            var j = i + 1
            while j < wanted.count, wanted[j].1.segment == loc.segment {
                let e = Int64(wanted[j].1.offset) + Int64(wanted[j].1.length)
                if e - start > 1 << 20 { break }
                end = e
                j += 1
            }
            end = min(end, ends[seg])
            let count = Int(end - start)
            if buffer.count < count { buffer = [UInt8](repeating: 0, count: max(count, 1 << 20)) }
            let read = buffer.withUnsafeMutableBytes { b in
                (try? Sys.pread(fds[seg], b.baseAddress!, count, start, path: paths[seg])) ?? 0
            }
            guard read == count else {
                throw StoreError(.io, "short read of \(paths[seg]) at offset \(start)", position: wanted[i].0)
            }
            // Decode the window's events (on both cores when there are many), deliver in order.
            let runs = try buffer.withUnsafeBytes { b in
                try FileStore.decodeWindow(
                    UnsafeRawBufferPointer(rebasing: b[0..<count]), windowStart: start, wanted: wanted[i..<j],
                    dictionaries: dicts, path: paths[seg], decoders: &decoders)
            }
            // The index chose these positions by the filter already.
            for run in runs {
                for event in run {
                    if try !body(event) { return event.position }
                }
            }
            i = j
        }
        return examined
    }

    /// Scratch space for decoding records on one thread.
    struct RecordDecoder {
        var raw = [UInt8]()
        var packed = [UInt8]()
        var cache = RecordedEvent.DecodeCache()
    }

    /// Decodes the wanted records of one window, in order, in runs (large windows in chunks, on
    /// several threads).
    static func decodeWindow(
        _ window: UnsafeRawBufferPointer, windowStart: Int64, wanted: ArraySlice<(Int64, LogIndex.Location, Digest)>,
        dictionaries: LZ4Decompressor, path: String, decoders: inout [RecordDecoder]
    ) throws(StoreError) -> [[RecordedEvent]] {
        let items = Array(wanted)
        let bytes = UncheckedSendable(window)
        @Sendable func decode(_ range: Range<Int>, _ d: inout RecordDecoder) -> Result<[RecordedEvent], StoreError> {
            var out = [RecordedEvent]()
            out.reserveCapacity(range.count)
            for k in range {
                let (p, loc, digest) = items[k]
                do {
                    var e = try decodeEventRecord(
                        bytes.value, at: Int(Int64(loc.offset) - windowStart), expectedPosition: p, dictionaries: dictionaries,
                        scratch: &d.raw, packed: &d.packed, cache: &d.cache, where: path)
                    e.hash = digest.bytes
                    out.append(e)
                } catch let e as StoreError {
                    return .failure(e)
                } catch {
                    return .failure(StoreError(.corruption, "position \(p): \(error)", position: p))
                }
            }
            return .success(out)
        }
        let workers = items.count >= 256 ? decoders.count : 1
        if workers == 1 { return [try decode(0..<items.count, &decoders[0]).get()] }
        // Chunks taken in turn rather than one share per thread: a thread that starts late (a
        // wake-up can take a millisecond) takes fewer, and none waits for it at the end.
        let chunkSize = 64
        let chunkCount = (items.count + chunkSize - 1) / chunkSize
        let next = ChunkCounter()
        var results = [Result<[RecordedEvent], StoreError>](repeating: .success([]), count: chunkCount)
        results.withUnsafeMutableBufferPointer { results in
            decoders.withUnsafeMutableBufferPointer { scratch in
                // Each worker writes only its own scratch slot and the result slots of its chunks.
                let shared = UncheckedSendable((results, scratch))
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let (results, scratch) = shared.value
                    while let c = next.take(below: chunkCount) {
                        let lo = c * chunkSize
                        results[c] = decode(lo..<min(items.count, lo + chunkSize), &scratch[w])
                    }
                }
            }
        }
        return try results.map { r throws(StoreError) in try r.get() }
    }

    /// Decodes the event record at `offset` of `buf`, checking frame, checksum, position,
    /// decompression and JSON.
    static func decodeEventRecord(
        _ buf: UnsafeRawBufferPointer, at offset: Int, expectedPosition: Int64, dictionaries: LZ4Decompressor,
        scratch: inout [UInt8], packed: inout [UInt8], cache: inout RecordedEvent.DecodeCache, where path: String
    ) throws(StoreError) -> RecordedEvent {
        switch SegmentFormat.parseRecord(buf, at: offset) {
        case .failure(let f):
            throw StoreError(.corruption, "position \(expectedPosition): \(f.problem) in \(path) at offset \(offset)", position: expectedPosition)
        case .success((.event(let pos, let dictId, let packedLength, let payload), _)):
            guard pos == expectedPosition else {
                throw StoreError(.corruption, "position \(expectedPosition): record holds position \(pos)", position: expectedPosition)
            }
            let n: Int
            do {
                n = try EventPacking.decode(
                    payload, packedLength: packedLength, dictionaryId: dictId, decompressor: dictionaries, packed: &packed, into: &scratch)
            } catch {
                throw StoreError(.corruption, "position \(expectedPosition): \(error)", position: expectedPosition)
            }
            let e: RecordedEvent
            do {
                e = try scratch.withUnsafeBytes { (s) throws(EventDecodingError) -> RecordedEvent in
                    try RecordedEvent.decode(canonical: UnsafeRawBufferPointer(rebasing: s[0..<n]), cache: &cache)
                }
            } catch {
                throw StoreError(.corruption, "position \(expectedPosition): \(error)", position: expectedPosition)
            }
            guard e.position == expectedPosition else {
                throw StoreError(.corruption, "position \(expectedPosition): event says position \(e.position)", position: expectedPosition)
            }
            return e
        case .success:
            throw StoreError(.corruption, "position \(expectedPosition): not an event record", position: expectedPosition)
        }
    }
}
