#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
public import DeployLogEvents
import Foundation
public import Logging

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
        /// Whether the index checkpoint (`index/index.bin`) is used on open and written (see
        /// `IndexCheckpoint`); without it every open decodes every event.
        public var indexCheckpoint = true
        /// Debug messages: an index checkpoint written, or ignored and why.
        public var logger: Logger?
        /// Events since the last index checkpoint after which a commit (or a scan) starts a
        /// background write of a new one; nil: `max(100_000, head)`.
        package var checkpointInterval: Int64?
        /// Events since the last index checkpoint after which releasing the store writes one.
        package var checkpointOnReleaseInterval: Int64 = 1_000
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
    let checkpoints = CheckpointWriter()

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
        // The index checkpoint, if one agrees with the log, spares scanning what it covers.
        let fromSegment = loadIndexCheckpoint()
        try catchUp(repair: haveLock, fromSegment: fromSegment)
        checkpoints.storeOpened = true
        scheduleIndexCheckpointIfDue()
    }

    deinit {
        if let (position, hash) = headWriter.pending { noteHead(position: position, hash: hash, force: true) }
        writeIndexCheckpointOnRelease()
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
}
