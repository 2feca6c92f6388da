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

    private struct Staged {
        var event: RecordedEvent
        var hash: [UInt8]
        var location: LogIndex.Location
    }

    /// Writes one group: runs on the leader thread only.
    private func commit(_ batch: [GroupCommitter.Request]) {
        func failAll(_ e: StoreError) { for r in batch where r.result == nil { r.result = .failure(e) } }
        do {
            guard try Sys.lockExclusive(lockFD, wait: true, path: lockPath) else { return failAll(StoreError(.locked, "store is locked")) }
        } catch {
            return failAll(StoreError(.io, "cannot lock \(lockPath): \(error)"))
        }
        defer { Sys.unlock(lockFD) }

        stateLock.lock()
        var buffer = [UInt8]()
        var staged = [Staged]()
        let segmentIndex: Int
        let writeOffset: Int64
        let fd: Int32
        do {
            try catchUp(repair: true, fromSegment: state.segments.count - 1)
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

        if !staged.isEmpty {
            let last = staged[staged.count - 1]
            SegmentFormat.appendRecord(to: &buffer) { b in
                b.append(SegmentFormat.Kind.commit.rawValue)
                b.appendVarint(UInt64(last.event.position))
                b.append(contentsOf: last.hash)
            }
            let path = state.segments[segmentIndex].path
            do {
                try buffer.withUnsafeBytes { b in try Sys.pwriteAll(fd, b, writeOffset, path: path) }
                try Sys.fdatasync(fd, path: path)
            } catch {
                try? Sys.ftruncate(fd, writeOffset, path: path)
                stateLock.lock()
                state.localWriteInProgress = false
                stateLock.unlock()
                return failAll(StoreError(.io, "cannot write \(path): \(error)"))
            }
        }

        stateLock.lock()
        for s in staged { state.index.add(s.event, hash: s.hash, location: s.location) }
        state.segments[segmentIndex].committedEnd = writeOffset + Int64(buffer.count)
        state.localWriteInProgress = false
        if !staged.isEmpty {
            state.generation &+= 1
            stateLock.broadcast()
        }
        let head = state.index.head
        let headHash = state.index.headHash
        stateLock.unlock()
        if !staged.isEmpty { writeHeadFile(position: head, hash: headHash) }
        // Only now, durable, do the waiting appenders learn their results.
        for (r, result) in zip(batch, results) { r.result = result }
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
        _ batch: [GroupCommitter.Request], into buffer: inout [UInt8], staged: inout [Staged], segment: Int, writeOffset: Int64
    ) -> [Result<AppendResult, StoreError>] {
        var results = [Result<AppendResult, StoreError>]()
        if state.compressor == nil || state.compressor?.dictionary?.id != state.currentDictionary?.id {
            state.compressor = LZ4Compressor(dictionary: state.currentDictionary)
        }
        let compressor = state.compressor!
        let dictId = UInt64(state.currentDictionary?.id ?? 0)
        var chain = state.index.headHash
        var versions = [String: Int64]()
        var ids = [LogIndex.IDKey: (Int64, Int64)]()
        var writer = CanonicalJSONWriter(reservingCapacity: 1024)
        var packed = [UInt8]()
        packed.reserveCapacity(1024)
        let index = state.index
        for request in batch {
            let mark = (buffer.count, staged.count, chain, versions, ids)
            var positions = [Int64]()
            var streamVersions = [Int64]()
            var appended = 0
            var failure: StoreError?
            for p in request.events {
                let key = LogIndex.IDKey(p.eventId)
                if let (pos, ver) = ids[key] {
                    positions.append(pos)
                    streamVersions.append(ver)
                    continue
                }
                if let pos = index.position(of: p.eventId) {
                    positions.append(pos)
                    streamVersions.append(index.streamVersion(at: pos))
                    continue
                }
                let current = versions[p.stream] ?? index.lastVersion(of: p.stream)
                switch p.expectedVersion {
                case .any: break
                case .noStream where current == nil: break
                case .exact(let v) where current == v: break
                default: failure = StoreError.wrongExpectedVersion(stream: p.stream, expected: p.expectedVersion, actual: current)
                }
                if failure != nil { break }
                let version = (current ?? -1) + 1
                let position = index.head + Int64(staged.count) + 1
                let now = options.clock()
                let event = RecordedEvent(
                    position: position, stream: p.stream, streamVersion: version, eventId: p.eventId, type: p.type,
                    schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? now, recordedAt: now,
                    metadata: p.metadata, data: p.data, extra: p.extra)
                writer.bytes.removeAll(keepingCapacity: true)
                event.writeCanonical(into: &writer)
                chain = writer.bytes.withUnsafeBytes { ChainHash.next(previous: chain, canonical: $0) }
                let start = buffer.count
                packed.removeAll(keepingCapacity: true)
                writer.bytes.withUnsafeBytes { EventPacking.pack($0, into: &packed) }
                SegmentFormat.appendRecord(to: &buffer) { b in
                    b.append(SegmentFormat.Kind.event.rawValue)
                    b.appendVarint(UInt64(position))
                    b.appendVarint(dictId)
                    b.appendVarint(UInt64(packed.count))
                    packed.withUnsafeBytes { _ = compressor.compress($0, appendingTo: &b) }
                }
                let loc = LogIndex.Location(
                    segment: Int32(segment), offset: UInt32(writeOffset + Int64(start)), length: UInt32(buffer.count - start))
                staged.append(Staged(event: event, hash: chain, location: loc))
                versions[p.stream] = version
                ids[key] = (position, version)
                positions.append(position)
                streamVersions.append(version)
                appended += 1
            }
            if let failure {
                buffer.removeSubrange(mark.0...)
                staged.removeSubrange(mark.1...)
                chain = mark.2
                versions = mark.3
                ids = mark.4
                results.append(.failure(failure))
            } else {
                results.append(.success(AppendResult(positions: positions, streamVersions: streamVersions, appendedCount: appended)))
            }
        }
        return results
    }
}
