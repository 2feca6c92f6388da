#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
import DeployLogEvents
import Foundation
import Logging

/// When the index checkpoint (see `IndexCheckpoint`) is written, and how an open uses it.
///
/// Written in the background once `max(100_000, head)` events have been committed (or scanned)
/// since the last one — each time the log has doubled — and on release (by a writer or a
/// reader) once 1,000 have.
///
/// Each write rewrites the whole index, about 90 bytes an event, and the next commit copies the
/// index arrays the write holds (copy on write). Doubling keeps both to about twice the index
/// per event appended (some 180 bytes written against about 220 bytes of segment, and two array
/// copies): with head/4 the background writes cost batched appends of 1,000 events about 15% on
/// two cores. A writer that dies leaves at most half of the log to scan on the next open (which
/// writes a checkpoint itself when released). On release the threshold is low so that a CLI
/// `append` leaves a checkpoint the next command can use, unless it added fewer events than
/// take a few milliseconds to scan.
extension FileStore {
    static let checkpointMinimumInterval: Int64 = 100_000

    /// Events since the last checkpoint after which one is written in the background.
    func checkpointInterval(head: Int64) -> Int64 {
        options.checkpointInterval ?? max(FileStore.checkpointMinimumInterval, head)
    }

    /// The head of the index checkpoint this store was opened from; nil when it was opened by
    /// scanning every segment.
    package var indexCheckpointLoaded: Int64? { checkpoints.loadedHead }

    /// Waits until no background write of the index checkpoint is running.
    package func waitForIndexCheckpoint() { checkpoints.group.wait() }

    /// What a checkpoint of the index as it is now holds; nil when it is empty. Caller holds
    /// `stateLock` (or is `init` or `deinit`).
    func checkpointContents() -> IndexCheckpoint.Contents? {
        let index = state.index
        guard index.head > 0 else { return nil }
        let last = index.location(of: index.head)
        let lastSegment = Int(last.segment)
        var extents = [IndexCheckpoint.Extent]()
        for i in 0...lastSegment {
            extents.append(IndexCheckpoint.Extent(base: state.segments[i].base, committedEnd: state.segments[i].committedEnd))
        }
        // The head's segment is covered up to the commit record after the head's event (what
        // follows it, a dictionary record or a later batch, is scanned on open).
        extents[lastSegment].committedEnd =
            Int64(last.offset) + Int64(last.length) + Int64(FileStore.commitRecordLength(lastPosition: index.head))
        return IndexCheckpoint.Contents(
            index: index, segments: extents, dictionaries: state.dictionaries.values.sorted { $0.id < $1.id },
            currentDictionary: state.currentDictionary?.id ?? 0)
    }

    /// The bytes of the commit record that closes a batch ending at `lastPosition`.
    static func commitRecordLength(lastPosition: Int64) -> Int {
        var varint = [UInt8]()
        varint.appendVarint(UInt64(lastPosition))
        return SegmentFormat.frameSize + 1 + varint.count + 32
    }

    /// Starts a background write of the checkpoint when enough events came since the last one and
    /// none is being written. Caller holds `stateLock` (or is `init`). The write holds a
    /// copy-on-write copy of the index: the next commit copies the arrays it extends, once.
    func scheduleIndexCheckpointIfDue() {
        guard options.indexCheckpoint else { return }
        let head = state.index.head
        guard head - checkpoints.written >= checkpointInterval(head: head), checkpoints.begin() else { return }
        guard let contents = checkpointContents() else {
            checkpoints.end(.onDisk(0))
            return
        }
        let store = path
        let logger = options.logger
        let writer = checkpoints
        writer.group.enter()
        FileStore.checkpointQueue.async {
            writer.end(FileStore.saveIndexCheckpoint(contents, store: store, logger: logger))
            writer.group.leave()
        }
    }

    /// Waits for a background write, then writes the checkpoint if 1,000 events came since the
    /// last one. Called by `deinit`.
    func writeIndexCheckpointOnRelease() {
        checkpoints.group.wait()
        guard options.indexCheckpoint, checkpoints.storeOpened, !checkpoints.failed,
            state.index.head - checkpoints.written >= options.checkpointOnReleaseInterval, let contents = checkpointContents()
        else { return }
        checkpoints.end(FileStore.saveIndexCheckpoint(contents, store: path, logger: options.logger))
    }

    /// One background writer per process, so that two stores of one process never write the
    /// same temporary file at once.
    static let checkpointQueue = DispatchQueue(label: "deploylog.index-checkpoint", qos: .utility)

    /// Encodes and writes `contents` unless the checkpoint on disk is as recent; never throws (a
    /// checkpoint that cannot be written is only a slower next open).
    static func saveIndexCheckpoint(_ contents: IndexCheckpoint.Contents, store: String, logger: Logger?) -> CheckpointWriter.Outcome {
        IndexCheckpoint.checkpointWriteLock.lock()
        defer { IndexCheckpoint.checkpointWriteLock.unlock() }
        if let onDisk = IndexCheckpoint.storedHead(store: store), onDisk >= contents.index.head { return .onDisk(onDisk) }
        let file = IndexCheckpoint.encode(contents)
        do { try IndexCheckpoint.write(file, store: store) } catch {
            logger?.debug("index checkpoint not written", metadata: ["store": "\(store)", "error": "\(error)"])
            return .failed
        }
        logger?.debug(
            "index checkpoint written",
            metadata: ["store": "\(store)", "position": "\(contents.index.head)", "bytes": "\(file.count)"])
        return .onDisk(contents.index.head)
    }

    // MARK: Opening from a checkpoint

    /// Loads the index checkpoint into `state` when it agrees with the log: its segments are the
    /// first segments on disk, complete (the head's at least as long as it covers), and the chain
    /// hash of the head's record, recomputed from the segment, is the checkpoint's head hash;
    /// else leaves `state` as it is. Returns the segment the scan goes on from (0 without one).
    /// Called by `init` only.
    func loadIndexCheckpoint() -> Int {
        guard options.indexCheckpoint, let file = IndexCheckpoint.read(store: path) else { return 0 }
        let decoded = IndexCheckpoint.decode(file.bytes)
        let result = decoded.flatMap { c in checkAgainstLog(c).map { c } }
        switch result {
        case .failure(let rejection):
            options.logger?.debug(
                "index checkpoint ignored: the store is opened by scanning every segment",
                metadata: ["store": "\(path)", "reason": "\(rejection)"])
            return 0
        case .success(let c):
            state.index = c.index
            for d in c.dictionaries { state.dictionaries[d.id] = d }
            state.currentDictionary = state.dictionaries[c.currentDictionary]
            for (i, e) in c.segments.enumerated() { state.segments[i].committedEnd = e.committedEnd }
            checkpoints.loaded(head: c.index.head)
            return c.segments.count - 1
        }
    }

    /// Checks a decoded checkpoint against the segments (see `loadIndexCheckpoint`).
    private func checkAgainstLog(_ c: IndexCheckpoint.Contents) -> Result<Void, IndexCheckpoint.Rejection> {
        typealias R = IndexCheckpoint.Rejection
        let index = c.index
        guard index.head > 0, c.segments.count <= state.segments.count else { return .failure(R("names missing segments")) }
        let lastSegment = c.segments.count - 1
        guard Int(index.location(of: index.head).segment) == lastSegment else {
            return .failure(R("its head is not in its last segment"))
        }
        for (i, e) in c.segments.enumerated() {
            let seg = state.segments[i]
            guard seg.base == e.base else { return .failure(R("segment \(i) starts at position \(seg.base) on disk, \(e.base) in it")) }
            if state.segments[i].readFD < 0 {
                guard let fd = try? Sys.open(seg.path, O_RDONLY) else { return .failure(R("cannot open \(seg.path)")) }
                state.segments[i].readFD = fd
            }
            guard let size = try? Sys.fileSize(state.segments[i].readFD, path: seg.path) else {
                return .failure(R("cannot size \(seg.path)"))
            }
            guard i == lastSegment ? size >= e.committedEnd : size == e.committedEnd else {
                return .failure(R("\(seg.path) holds \(size) bytes, it covers \(e.committedEnd)"))
            }
        }
        // The head's event record and the commit record after it, read from the segment.
        let head = index.head
        let loc = index.location(of: head)
        let seg = state.segments[lastSegment]
        let end = c.segments[lastSegment].committedEnd
        guard Int64(loc.offset) + Int64(loc.length) < end, end - Int64(loc.offset) <= Int64(SegmentFormat.maxBodySize) * 2 else {
            return .failure(R("its head's record is not where it says"))
        }
        let count = Int(end - Int64(loc.offset))
        var readFailed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            do { n = try Sys.pread(seg.readFD, buf.baseAddress!, count, Int64(loc.offset), path: seg.path) } catch {
                readFailed = true
                n = 0
            }
        }
        guard !readFailed, bytes.count == count else { return .failure(R("cannot read \(seg.path)")) }
        let decompressor = LZ4Decompressor(dictionaries: c.dictionaries)
        return bytes.withUnsafeBytes { buf -> Result<Void, R> in
            guard case .success((.event(let pos, let dictId, let packedLength, let payload), let next)) = SegmentFormat.parseRecord(buf, at: 0),
                pos == head, next == Int(loc.length)
            else { return .failure(R("the record at its head's location is not position \(head)")) }
            var raw = [UInt8]()
            var packed = [UInt8]()
            let n: Int
            do {
                n = try EventPacking.decode(
                    payload, packedLength: packedLength, dictionaryId: dictId, decompressor: decompressor, packed: &packed, into: &raw)
            } catch {
                return .failure(R("position \(head) does not decode: \(error)"))
            }
            let hash = raw.withUnsafeBytes {
                ChainHash.next(previous: index.hash(at: head - 1), canonical: UnsafeRawBufferPointer(rebasing: $0[0..<n]))
            }
            guard hash == index.headHash else { return .failure(R("the chain hash of position \(head) recomputed from the log differs")) }
            guard let e = raw.withUnsafeBytes({ try? RecordedEvent.decode(canonical: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }),
                e.position == head, e.eventId == index.eventId(at: head), e.stream == index.stream(at: head),
                e.type == index.type(at: head), e.occurredAt.microseconds == index.occurredMicroseconds(at: head),
                e.streamVersion == index.lastVersion(of: e.stream)
            else { return .failure(R("its entry for position \(head) differs from the event")) }
            guard case .success((.commit(let last, let h), let after)) = SegmentFormat.parseRecord(buf, at: next), last == head,
                Digest(h) == index.headHash, after == count
            else { return .failure(R("no commit record of position \(head) ends where it says")) }
            return .success(())
        }
    }
}

extension IndexCheckpoint {
    /// Serialises writes of this process (see `FileStore.checkpointQueue`; `deinit` writes too).
    static let checkpointWriteLock = NSLock()
}

/// The index checkpoint's writer state for one store instance.
final class CheckpointWriter: @unchecked Sendable {
    private let lock = NSLock()
    /// The head of the newest checkpoint this instance loaded, wrote or found on disk.
    private var _written: Int64 = 0
    private var _failed = false
    private var busy = false

    enum Outcome {
        /// The checkpoint on disk is (now) of this head.
        case onDisk(Int64)
        /// Not written (a read-only directory, a full disk): not tried again by this instance.
        case failed
    }
    /// Entered while a background write runs.
    let group = DispatchGroup()
    /// Set once the store has opened: a store whose open failed writes no checkpoint.
    var storeOpened = false

    var written: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return _written
    }

    /// Claims the right to write; false when a write is running.
    func begin() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if busy { return false }
        busy = true
        return true
    }

    var failed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return _failed
    }

    /// Ends a write.
    func end(_ outcome: Outcome) {
        lock.lock()
        defer { lock.unlock() }
        switch outcome {
        case .onDisk(let head): _written = max(_written, head)
        case .failed: _failed = true
        }
        // A failed write is not tried again in the background.
        busy = _failed
    }

    /// The head of the checkpoint the store was opened from (set by `init` only).
    private(set) var loadedHead: Int64?

    func loaded(head: Int64) {
        lock.lock()
        defer { lock.unlock() }
        _written = head
        loadedHead = head
    }
}
