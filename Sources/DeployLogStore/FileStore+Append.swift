#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
import Foundation
public import DeployLogEvents

extension FileStore {
    @discardableResult
    public func append(_ events: [ProposedEvent]) throws(StoreError) -> AppendResult {
        if events.isEmpty { return AppendResult(positions: [], streamVersions: [], appendedCount: 0) }
        let request = GroupCommitter.Request(events)
        let result = committer.submit(request, maxEvents: options.maxBatchEvents) { batch in commit(batch) }
        return try result.get()
    }

    /// Stores events recorded elsewhere exactly as they are (see `EventImporting`), through the
    /// same group commit as appends.
    public func importRecorded(_ events: [RecordedEvent]) throws(StoreError) {
        if events.isEmpty { return }
        let request = GroupCommitter.Request(imported: events)
        _ = try committer.submit(request, maxEvents: options.maxBatchEvents) { batch in commit(batch) }.get()
    }

    /// The events of a group, written but not yet in the index: their chain hashes and where
    /// their records are.
    private struct Staged {
        var events: [RecordedEvent] = []
        var hashes: [Digest] = []
        var locations: [LogIndex.Location] = []
    }

    /// Writes one group: runs on the leader thread only.
    private func commit(_ batch: [GroupCommitter.Request]) {
        func failAll(_ e: StoreError) { for r in batch where r.result == nil { r.result = .failure(e) } }
        let freshLock: Bool
        do { freshLock = try lease.acquire(lockFD, path: lockPath) } catch {
            return failAll(StoreError(.io, "cannot lock \(lockPath): \(error)"))
        }
        defer { lease.finish(lockFD) }

        stateLock.lock()
        var buffer = [UInt8]()
        var staged = Staged()
        let segmentIndex: Int
        let writeOffset: Int64
        let fd: Int32
        do {
            // Held since our last commit, the lock let no one else write: nothing to catch up.
            if freshLock { try catchUp(repair: true, fromSegment: state.segments.count - 1) }
            try rollOverIfFull()
            segmentIndex = state.segments.count - 1
            writeOffset = state.segments[segmentIndex].committedEnd
            if state.writeFD < 0 || state.writeSegment != segmentIndex {
                // First write, or another process started a new segment since ours.
                if state.writeFD >= 0 { Sys.close(state.writeFD) }
                state.writeFD = try Sys.open(state.segments[segmentIndex].path, O_RDWR)
                state.writeSegment = segmentIndex
            }
            fd = state.writeFD
        } catch let e as StoreError {
            stateLock.unlock()
            return failAll(e)
        } catch {
            stateLock.unlock()
            return failAll(StoreError(.io, "\(error)"))
        }
        state.localWriteInProgress = true
        let results = stage(batch, into: &buffer, staged: &staged, segment: segmentIndex, writeOffset: writeOffset)
        stateLock.unlock()

        var prepared: LogIndex.Prepared? = nil
        if let lastEvent = staged.events.last, let lastHash = staged.hashes.last {
            SegmentFormat.appendRecord(to: &buffer) { b in
                b.append(SegmentFormat.Kind.commit.rawValue)
                b.appendVarint(UInt64(lastEvent.position))
                Swift.withUnsafeBytes(of: lastHash.value) { b.append(contentsOf: $0) }
            }
            let path = state.segments[segmentIndex].path
            do {
                try buffer.withUnsafeBytes { b in try Sys.pwriteAll(fd, b, writeOffset, path: path) }
                if staged.events.count >= FileStore.prepareWhileSyncingFrom {
                    // The disk works; meanwhile this thread works out the index's additions.
                    let sync = BackgroundSync(fd: fd, path: path)
                    prepared = prepareIndexAdditions(staged)
                    try sync.wait()
                } else {
                    try Sys.fdatasync(fd, path: path)
                }
            } catch {
                try? Sys.ftruncate(fd, writeOffset, path: path)
                stateLock.lock()
                state.localWriteInProgress = false
                stateLock.unlock()
                return failAll(StoreError(.io, "cannot write \(path): \(error)"))
            }
        }

        stateLock.lock()
        staged.events.withUnsafeBufferPointer { events in
            // Through the buffer: each event is lent to the index, not copied.
            if let prepared {
                state.index.apply(prepared, events)
            } else {
                for k in events.indices { state.index.add(events[k], hash: staged.hashes[k], location: staged.locations[k]) }
            }
        }
        state.segments[segmentIndex].committedEnd = writeOffset + Int64(buffer.count)
        state.localWriteInProgress = false
        if !staged.events.isEmpty {
            state.generation &+= 1
            stateLock.broadcast()
        }
        let head = state.index.head
        let headHash = state.index.headHash
        scheduleIndexCheckpointIfDue()
        stateLock.unlock()
        if !staged.events.isEmpty { noteHead(position: head, hash: headHash) }
        // Only now, durable, do the waiting appenders learn their results.
        for (r, result) in zip(batch, results) { r.result = result }
    }

    /// Groups of at least this many events have their index additions worked out while their
    /// sync runs (on another thread); a smaller group's are not worth the hand-off.
    static let prepareWhileSyncingFrom = 128

    /// The index additions of `staged`, worked out on a copy of the index taken under the lock
    /// (a copy of references: the copy is gone before the additions are made, so they copy
    /// nothing). While a local write is in progress no one else changes the index.
    private func prepareIndexAdditions(_ staged: Staged) -> LogIndex.Prepared {
        stateLock.lock()
        let index = state.index
        stateLock.unlock()
        return staged.events.withUnsafeBufferPointer {
            index.prepare($0, hashes: staged.hashes, locations: staged.locations)
        }
    }

    /// Starts a new segment when the current one is full (caller holds both locks).
    private func rollOverIfFull() throws {
        let last = state.segments[state.segments.count - 1]
        guard last.committedEnd >= Int64(options.segmentSize), state.index.head >= last.base else { return }
        let base = state.index.head + 1
        let path = segmentsPath + "/" + SegmentFormat.fileName(basePosition: base)
        let fd = try Sys.open(path, O_RDWR | O_CREAT | O_TRUNC)
        state.segments.append(Segment(base: base, path: path, committedEnd: 0))
        if state.writeFD >= 0 { Sys.close(state.writeFD) }
        state.writeFD = fd
        state.writeSegment = state.segments.count - 1
        try rewriteSegmentStart(fd: fd, segment: state.segments.count - 1)
        try Sys.fsyncDirectory(segmentsPath)
    }

    /// Checks and encodes every request of the group, in order; a request that conflicts fails
    /// alone and leaves nothing behind. Caller holds `stateLock`.
    private func stage(
        _ batch: [GroupCommitter.Request], into buffer: inout [UInt8], staged: inout Staged, segment: Int, writeOffset: Int64
    ) -> [Result<AppendResult, StoreError>] {
        var results = [Result<AppendResult, StoreError>]()
        if state.compressors.first?.dictionary?.id != state.currentDictionary?.id || state.compressors.isEmpty {
            state.compressors = (0..<FileStore.encodeWorkers).map { _ in LZ4Compressor(dictionary: state.currentDictionary) }
        }
        // The last version of each stream the group touched, but for the stream of the previous
        // accepted event, which is `last`.
        var versions = [String: Int64]()
        var last: (stream: String, version: Int64)? = nil
        // The new event ids of the group, each with its index in `accepted`.
        var ids = [EventID: Int]()
        ids.reserveCapacity(batch.reduce(0) { $0 + $1.count })
        var accepted = [RecordedEvent]()
        let index = state.index
        // The chain hash after `accepted` while all of it was imported (an import must continue
        // a known chain); nil once an appended event, whose hash comes later, is accepted.
        var importChain: Digest? = index.headHash
        // 1. Decide, in order: idempotent repeats, expected versions, positions. Cheap.
        for request in batch {
            // What a request that fails takes back: its events (and their ids), `last`, and the
            // entries it changed in `versions`, with their values before.
            let mark = accepted.count
            let lastMark = last
            var versionsChanged = [(String, Int64?)]()
            var positions = [Int64]()
            var streamVersions = [Int64]()
            var appended = 0
            var failure: StoreError?
            if let imported = request.imported {
                var chain = importChain
                for e in imported {
                    let position = index.head + Int64(accepted.count) + 1
                    guard let previous = chain, e.position == position else {
                        failure = StoreError(
                            .conflict, "cannot import position \(e.position): the store's next position is \(position)",
                            position: e.position)
                        break
                    }
                    if ids[e.eventId] != nil || index.position(of: e.eventId) != nil {
                        failure = StoreError(
                            .conflict, "cannot import position \(e.position): event id \(e.eventId) is already stored",
                            stream: e.stream, position: e.position)
                        break
                    }
                    let current: Int64?
                    if let l = last, l.stream == e.stream {
                        current = l.version
                    } else {
                        if let l = last { versionsChanged.append((l.stream, versions.updateValue(l.version, forKey: l.stream))) }
                        current = versions[e.stream] ?? index.lastVersion(of: e.stream)
                    }
                    guard e.streamVersion == (current ?? -1) + 1 else {
                        failure = StoreError(
                            .conflict,
                            "cannot import position \(e.position): stream version \(e.streamVersion) does not follow \(current ?? -1) (Stream: \(e.stream))",
                            stream: e.stream, position: e.position)
                        break
                    }
                    var plain = e
                    plain.hash = nil
                    let next = ChainHash.next(previous: previous, canonical: plain.canonicalBytes())
                    guard e.hash == nil || e.hash! == next.bytes else {
                        failure = StoreError(
                            .corruption, "cannot import position \(e.position): its hash does not follow the chain",
                            position: e.position)
                        break
                    }
                    chain = next
                    ids[e.eventId] = accepted.count
                    accepted.append(plain)
                    last = (e.stream, e.streamVersion)
                    positions.append(e.position)
                    streamVersions.append(e.streamVersion)
                    appended += 1
                }
                if failure == nil { importChain = chain }
            }
            // Which ids are stored already, looked up together (the look-ups overlap).
            let stored = request.events.count < 16 ? [] : request.events.map(\.eventId).withUnsafeBufferPointer {
                index.positions(of: $0)
            }
            for (j, p) in request.events.enumerated() {
                // A new id (the common case) is claimed with one lookup; a repeat is put back.
                if let earlier = ids.updateValue(accepted.count, forKey: p.eventId) {
                    ids[p.eventId] = earlier
                    positions.append(accepted[earlier].position)
                    streamVersions.append(accepted[earlier].streamVersion)
                    continue
                }
                if let pos = stored.isEmpty ? index.position(of: p.eventId) : (stored[j] == 0 ? nil : stored[j]) {
                    ids.removeValue(forKey: p.eventId)
                    positions.append(pos)
                    streamVersions.append(index.streamVersion(at: pos))
                    continue
                }
                let current: Int64?
                if let l = last, l.stream == p.stream {
                    current = l.version
                } else {
                    if let l = last { versionsChanged.append((l.stream, versions.updateValue(l.version, forKey: l.stream))) }
                    current = versions[p.stream] ?? index.lastVersion(of: p.stream)
                }
                switch p.expectedVersion {
                case .any: break
                case .noStream where current == nil: break
                case .exact(let v) where current == v: break
                default: failure = StoreError.wrongExpectedVersion(stream: p.stream, expected: p.expectedVersion, actual: current)
                }
                if failure != nil {
                    ids.removeValue(forKey: p.eventId)
                    break
                }
                let version = (current ?? -1) + 1
                let position = index.head + Int64(accepted.count) + 1
                importChain = nil
                let now = options.clock()
                accepted.append(RecordedEvent(
                    position: position, stream: p.stream, streamVersion: version, eventId: p.eventId, type: p.type,
                    schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? now, recordedAt: now,
                    metadata: p.metadata, data: p.data, extra: p.extra))
                last = (p.stream, version)
                positions.append(position)
                streamVersions.append(version)
                appended += 1
            }
            if let failure {
                for e in accepted[mark...] { ids.removeValue(forKey: e.eventId) }
                accepted.removeSubrange(mark...)
                for (stream, before) in versionsChanged.reversed() { versions[stream] = before }
                last = lastMark
                results.append(.failure(failure))
            } else {
                results.append(.success(AppendResult(positions: positions, streamVersions: streamVersions, appendedCount: appended)))
            }
        }
        guard !accepted.isEmpty else { return results }

        // 2. Encode (canonical bytes, chain hashes, packed, compressed, framed records), on
        //    every core for a large group.
        let group = EncodedGroup.encode(
            accepted, previousHash: index.headHash, compressors: state.compressors,
            dictionaryId: UInt64(state.currentDictionary?.id ?? 0))

        // 3. Lay the records out.
        buffer = group.records
        var start = 0
        staged.locations.reserveCapacity(accepted.count)
        for end in group.recordEnds {
            staged.locations.append(LogIndex.Location(
                segment: Int32(segment), offset: UInt32(writeOffset + Int64(start)), length: UInt32(end - start)))
            start = end
        }
        staged.events = accepted
        staged.hashes = group.hashes
        return results
    }
}

/// The writer lock, kept between commits while this process keeps appending and released once
/// it has been idle for 5 ms (or when the store is released). A lock held since our last commit
/// means no other process wrote, so a commit skips the lock calls and the look for new records
/// — a fifth of the system calls of a one-event commit. Another writer process waits at most
/// those 5 ms after this one stops.
final class WriterLease: @unchecked Sendable {
    private let lock = NSLock()
    private var held = false
    private var busy = false
    /// When the last commit ended (monotonic ns), and whether a release check is scheduled.
    private var lastUse: UInt64 = 0
    private var checkScheduled = false
    static let idleNanoseconds: UInt64 = 5_000_000

    /// Takes the lock for a commit; true when it was not already held (catch up first).
    func acquire(_ fd: Int32, path: String) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        busy = true
        if held { return false }
        _ = try Sys.lockExclusive(fd, wait: true, path: path)
        held = true
        return true
    }

    /// Ends a commit; the lock goes once no commit has come for the idle time. One check is
    /// scheduled at a time, not one per commit.
    func finish(_ fd: Int32) {
        lock.lock()
        defer { lock.unlock() }
        busy = false
        lastUse = DispatchTime.now().uptimeNanoseconds
        if !checkScheduled {
            checkScheduled = true
            schedule(fd, after: WriterLease.idleNanoseconds)
        }
    }

    private func schedule(_ fd: Int32, after ns: UInt64) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(ns))) { [weak self] in
            self?.check(fd)
        }
    }

    private func check(_ fd: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard held else {
            checkScheduled = false
            return
        }
        let idle = DispatchTime.now().uptimeNanoseconds &- lastUse
        if busy || idle < WriterLease.idleNanoseconds {
            schedule(fd, after: busy ? WriterLease.idleNanoseconds : WriterLease.idleNanoseconds - idle)
            return
        }
        Sys.unlock(fd)
        held = false
        checkScheduled = false
    }

    /// Releases the lock now (the store is going away).
    func release(_ fd: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if held { Sys.unlock(fd) }
        held = false
    }
}


/// An `fdatasync` run on another thread, started at once; `wait` returns when it has
/// finished, or throws what it threw.
private final class BackgroundSync: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Written by the syncing thread before `done` is signalled, read after the wait.
    private var failure: Sys.Failure?

    init(fd: Int32, path: String) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            do throws(Sys.Failure) { try Sys.fdatasync(fd, path: path) } catch { failure = error }
            done.signal()
        }
    }

    func wait() throws(Sys.Failure) {
        done.wait()
        if let failure { throw failure }
    }
}
