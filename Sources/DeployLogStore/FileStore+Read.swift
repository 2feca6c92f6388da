#if canImport(Glibc)
import Glibc
#endif
import DeployLogCompression
public import DeployLogEvents
import Foundation

extension FileStore {
    /// One event a read delivers: its position, where its record is, its chain hash.
    typealias WantedEvent = (position: Int64, location: LogIndex.Location, digest: Digest)

    /// `read`, returning the last position it examined: the head it saw when fewer than
    /// `limit` events matched, else the last one delivered.
    func readExamining(from position: Int64, filter: EventFilter, limit: Int?, _ body: (RecordedEvent) throws -> Bool) throws -> Int64 {
        try readExamining(from: position, filter: filter, limit: limit, decode: .packed(FileStore.decodeRecordedEvent), body)
    }

    /// As `read`, but only what a fold reads of each event is decoded (see `FoldFields`; the
    /// rest of the envelope is checked, not built), on the decoding threads while the calling
    /// thread runs `body` on the events before. `classify` gives each type's `typeCode` (called
    /// once per type and thread). Returns as `readExamining`.
    @discardableResult
    package func readFoldFields(
        from position: Int64, filter: EventFilter, limit: Int?, classify: @escaping @Sendable (String) -> UInt8,
        _ body: (FoldFields) throws -> Bool
    ) throws -> Int64 {
        try readExamining(
            from: position, filter: filter, limit: limit,
            decode: .canonical({ bytes, item, cache in
                let f = try RecordedEvent.foldFields(canonical: bytes, cache: &cache, classify: classify)
                guard f.position == item.position else { throw StoreError.positionMismatch(at: item.position, found: f.position) }
                return f
            }), body)
    }

    /// The full decode of `read`, from the packed bytes (`StoredEventCodec.decodeEvent`: the
    /// store's own events without writing their canonical text out to parse it again; the
    /// same event and the same errors as decoding the canonical bytes): the event, its
    /// position checked, its chain hash attached.
    @Sendable
    static func decodeRecordedEvent(
        _ packed: UnsafeRawBufferPointer, _ item: WantedEvent, _ canonical: inout [UInt8], _ cache: inout RecordedEvent.DecodeCache
    ) throws -> RecordedEvent {
        var e = try StoredEventCodec.decodeEvent(packed: packed, canonical: &canonical, cache: &cache)
        guard e.position == item.position else { throw StoreError.positionMismatch(at: item.position, found: e.position) }
        e.hash = item.digest.bytes
        return e
    }

    /// The read itself: the wanted records, read in windows of up to 1 MiB, decoded in chunks by
    /// `decode`, delivered in order to `body`. A long read is decoded on helper threads and on
    /// the calling thread between deliveries, so that decoding the events ahead overlaps `body`.
    func readExamining<T: Sendable>(
        from position: Int64, filter: EventFilter, limit: Int?,
        decode: RecordDecoding<T>,
        _ body: (T) throws -> Bool
    ) throws -> Int64 {
        try refresh()
        // Take what is needed under the lock, read the files outside it.
        stateLock.lock()
        let positions = state.index.positions(from: position, filter: filter, limit: limit)
        let examined = limit.map { positions.count >= $0 } ?? false ? positions.last! : max(state.index.head, position - 1)
        var wanted = [WantedEvent]()
        wanted.reserveCapacity(positions.count)
        for p in positions {
            wanted.append((p, state.index.location(of: p), state.index.hash(at: p)))
        }
        var files = [ReadPlan.File]()
        do {
            for i in state.segments.indices {
                if state.segments[i].readFD < 0 {
                    state.segments[i].readFD = try Sys.open(state.segments[i].path, O_RDONLY)
                }
                files.append(ReadPlan.File(fd: state.segments[i].readFD, end: state.segments[i].committedEnd, path: state.segments[i].path))
            }
        } catch {
            stateLock.unlock()
            throw StoreError(.io, "cannot open segment: \(error)")
        }
        let dicts = LZ4Decompressor(dictionaries: Array(state.dictionaries.values))
        stateLock.unlock()

        let plan = ReadPlan(wanted: wanted, files: files, dictionaries: dicts)
        if wanted.count < 256 || ReadPlan.helperCount == 0 {
            // Short reads on the calling thread alone (a helper would cost more than it saves).
            var scratch = RecordDecoder()
            var buffer = WindowBuffer(capacity: 0)
            for w in plan.windows.indices {
                if buffer.capacity < plan.windows[w].count { buffer = WindowBuffer(capacity: plan.windows[w].count) }
                try plan.read(window: w, into: buffer)
                for k in plan.windows[w].items {
                    let event = try plan.decode(item: k, window: w, buffer: buffer, scratch: &scratch, decode)
                    if try !body(event) { return wanted[k].position }
                }
            }
            return examined
        }
        let pipeline = ReadPipeline<T>(plan: plan, decode: decode)
        return try pipeline.run(body) ?? examined
    }

    /// Scratch space for decoding records on one thread.
    struct RecordDecoder {
        var raw = [UInt8]()
        var packed = [UInt8]()
        var cache = RecordedEvent.DecodeCache(interning: true)
    }
}

/// The bytes of one read window.
final class WindowBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    var capacity: Int { bytes.count }

    init(capacity: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, 1), alignment: 16)
    }

    deinit { bytes.deallocate() }
}

/// What a read reads: the wanted records grouped into windows of consecutive records of one
/// segment (up to 1 MiB each), and how to read and decode them. Immutable, shared by threads.
struct ReadPlan: @unchecked Sendable {
    struct File {
        var fd: Int32
        var end: Int64
        var path: String
    }

    struct Window {
        var segment: Int
        var start: Int64
        var count: Int
        var items: Range<Int>
    }

    /// Threads that decode beside the calling one in a long read.
    static let helperCount = max(0, min(3, ProcessInfo.processInfo.activeProcessorCount - 1))

    let wanted: [FileStore.WantedEvent]
    let files: [File]
    let dictionaries: LZ4Decompressor
    let windows: [Window]

    init(wanted: [FileStore.WantedEvent], files: [File], dictionaries: LZ4Decompressor) {
        self.wanted = wanted
        self.files = files
        self.dictionaries = dictionaries
        var windows = [Window]()
        var i = 0
        while i < wanted.count {
            // One read: this record and the following wanted ones of the same segment, up to 1 MiB.
            let loc = wanted[i].location
            let seg = Int(loc.segment)
            let start = Int64(loc.offset)
            var end = start + Int64(loc.length)
            var j = i + 1
            while j < wanted.count, wanted[j].location.segment == loc.segment {
                let e = Int64(wanted[j].location.offset) + Int64(wanted[j].location.length)
                if e - start > 1 << 20 { break }
                end = e
                j += 1
            }
            end = min(end, files[seg].end)
            windows.append(Window(segment: seg, start: start, count: Int(max(0, end - start)), items: i..<j))
            i = j
        }
        self.windows = windows
    }

    /// Reads window `w` into `buffer` (large enough).
    func read(window w: Int, into buffer: WindowBuffer) throws(StoreError) {
        let win = windows[w]
        let file = files[win.segment]
        let read = (try? Sys.pread(file.fd, buffer.bytes.baseAddress!, win.count, win.start, path: file.path)) ?? 0
        guard read == win.count else {
            throw StoreError(.io, "short read of \(file.path) at offset \(win.start)", position: wanted[win.items.lowerBound].position)
        }
    }

    /// Decodes wanted item `k`, whose record is in window `w` (read into `buffer`): frame,
    /// checksum, position, decompression, then `decode`.
    func decode<T>(
        item k: Int, window w: Int, buffer: WindowBuffer, scratch d: inout FileStore.RecordDecoder,
        _ decoding: RecordDecoding<T>
    ) throws(StoreError) -> T {
        let item = wanted[k]
        let win = windows[w]
        let offset = Int(Int64(item.location.offset) - win.start)
        let path = files[win.segment].path
        let expected = item.position
        let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer.bytes)[0..<win.count])
        switch SegmentFormat.parseRecord(bytes, at: offset) {
        case .failure(let f):
            throw StoreError(.corruption, "position \(expected): \(f.problem) in \(path) at offset \(offset)", position: expected)
        case .success((.event(let pos, let dictId, let packedLength, let payload), _)):
            guard pos == expected else {
                throw StoreError(.corruption, "position \(expected): record holds position \(pos)", position: expected)
            }
            do {
                switch decoding {
                case .canonical(let decode):
                    let n = try EventPacking.decode(
                        payload, packedLength: packedLength, dictionaryId: dictId, decompressor: dictionaries,
                        packed: &d.packed, into: &d.raw)
                    return try d.raw.withUnsafeBytes { s in try decode(UnsafeRawBufferPointer(rebasing: s[0..<n]), item, &d.cache) }
                case .packed(let decode):
                    try dictionaries.decompress(payload, uncompressedSize: packedLength, dictionaryId: dictId, into: &d.packed)
                    return try d.packed.withUnsafeBytes { p in try decode(p, item, &d.raw, &d.cache) }
                }
            } catch let e as StoreError {
                throw e
            } catch {
                throw StoreError(.corruption, "position \(expected): \(error)", position: expected)
            }
        case .success:
            throw StoreError(.corruption, "position \(expected): not an event record", position: expected)
        }
    }
}

/// What a read makes of each record's event: from its canonical bytes, or from its packed
/// bytes as LZ4 gives them back (with scratch space for canonical bytes, should it need them).
enum RecordDecoding<T>: Sendable {
    case canonical(@Sendable (UnsafeRawBufferPointer, FileStore.WantedEvent, inout RecordedEvent.DecodeCache) throws -> T)
    case packed(
        @Sendable (UnsafeRawBufferPointer, FileStore.WantedEvent, inout [UInt8], inout RecordedEvent.DecodeCache) throws -> T)
}

/// A long read: windows read and decoded in chunks by helper threads and the calling thread
/// (whichever is free takes the next piece of work), while the calling thread delivers the
/// decoded chunks in order. Work stays a bounded distance ahead of delivery.
final class ReadPipeline<T: Sendable>: @unchecked Sendable {
    typealias Decode = RecordDecoding<T>

    struct Chunk {
        var window: Int
        var items: Range<Int>
    }

    enum Work {
        case decode(Int, Chunk, WindowBuffer, [T])
        case read(Int, WindowBuffer)
    }

    static var chunkSize: Int { 64 }
    /// Chunks decoded (or being decoded) ahead of the one delivered next.
    static var maxAhead: Int { 96 }
    /// Windows held in memory at once.
    static var maxLiveWindows: Int { 3 }

    let plan: ReadPlan
    let decode: Decode
    let cond = NSCondition()
    // Guarded by `cond`:
    var nextRead = 0
    var reading = false
    var readFailure: StoreError?
    var live: [Int: (buffer: WindowBuffer, pending: Int)] = [:]
    var spare: [WindowBuffer] = []
    var spareArrays: [[T]] = []
    var chunks: [Chunk] = []
    var results: [Result<[T], StoreError>?] = []
    var nextClaim = 0
    var nextDelivery = 0
    var stopped = false
    var helpersRunning = 0

    init(plan: ReadPlan, decode: Decode) {
        self.plan = plan
        self.decode = decode
    }

    /// Delivers every event to `body`; returns the position of the event that stopped it (nil
    /// when none did).
    func run(_ body: (T) throws -> Bool) throws -> Int64? {
        cond.lock()
        helpersRunning = ReadPlan.helperCount
        cond.unlock()
        // Threads of their own rather than the global queue's: a read called from a queue whose
        // threads are all busy must not wait for one of them to come free.
        for _ in 0..<ReadPlan.helperCount {
            let thread = Thread { [self] in helper() }
            thread.qualityOfService = .userInitiated
            thread.start()
        }
        defer {
            cond.lock()
            stopped = true
            cond.broadcast()
            while helpersRunning > 0 { cond.wait() }
            cond.unlock()
        }
        var scratch = FileStore.RecordDecoder()
        cond.lock()
        while true {
            if nextDelivery < chunks.count, let r = results[nextDelivery] {
                let chunk = chunks[nextDelivery]
                results[nextDelivery] = nil
                nextDelivery += 1
                cond.broadcast()
                cond.unlock()
                let events: [T]
                switch consume r {
                case .success(let e): events = e
                case .failure(let f): throw f
                }
                for (k, e) in zip(chunk.items, events) {
                    if try !body(e) { return plan.wanted[k].position }
                }
                // The array goes back for another chunk: no allocation (of a size that makes
                // malloc consolidate its free lists) per chunk. Its events are freed by the thread
                // that reuses it, a decoding thread, which allocated most of them: frees of another
                // thread's memory contend with that thread's allocations.
                cond.lock()
                spareArrays.append(events)
                continue
            }
            if nextDelivery == chunks.count {
                if let f = readFailure {
                    cond.unlock()
                    throw f
                }
                if nextRead == plan.windows.count && !reading {
                    cond.unlock()
                    return nil
                }
            }
            if let w = takeWork() {
                cond.unlock()
                perform(w, &scratch)
                cond.lock()
                continue
            }
            cond.wait()
        }
    }

    private func helper() {
        var scratch = FileStore.RecordDecoder()
        cond.lock()
        while !stopped {
            if let w = takeWork() {
                cond.unlock()
                perform(w, &scratch)
                cond.lock()
            } else if nextRead == plan.windows.count && !reading && nextClaim == chunks.count || readFailure != nil {
                break
            } else {
                cond.wait()
            }
        }
        helpersRunning -= 1
        cond.broadcast()
        cond.unlock()
    }

    /// The next piece of work, claimed; `cond` is held.
    private func takeWork() -> Work? {
        if stopped { return nil }
        if nextClaim < chunks.count, nextClaim - nextDelivery < Self.maxAhead {
            let c = nextClaim
            nextClaim += 1
            let chunk = chunks[c]
            return .decode(c, chunk, live[chunk.window]!.buffer, spareArrays.popLast() ?? [])
        }
        if !reading, readFailure == nil, nextRead < plan.windows.count, live.count < Self.maxLiveWindows,
            chunks.count - nextDelivery < Self.maxAhead
        {
            reading = true
            let w = nextRead
            nextRead += 1
            let need = plan.windows[w].count
            var buffer = spare.popLast()
            if let b = buffer, b.capacity < need { buffer = nil }
            return .read(w, buffer ?? WindowBuffer(capacity: max(need, 1 << 20)))
        }
        return nil
    }

    private func perform(_ work: Work, _ scratch: inout FileStore.RecordDecoder) {
        switch work {
        case .decode(let c, let chunk, let buffer, var out):
            out.removeAll(keepingCapacity: true)
            out.reserveCapacity(Self.chunkSize)
            var result: Result<[T], StoreError>
            do {
                for k in chunk.items {
                    out.append(try plan.decode(item: k, window: chunk.window, buffer: buffer, scratch: &scratch, decode))
                }
                result = .success(out)
            } catch {
                result = .failure(error)
            }
            cond.lock()
            results[c] = result
            live[chunk.window]!.pending -= 1
            if live[chunk.window]!.pending == 0 {
                spare.append(live.removeValue(forKey: chunk.window)!.buffer)
            }
            cond.broadcast()
            cond.unlock()
        case .read(let w, let buffer):
            var failure: StoreError?
            do { try plan.read(window: w, into: buffer) } catch { failure = error }
            cond.lock()
            reading = false
            if let failure {
                readFailure = failure
            } else {
                let items = plan.windows[w].items
                var lo = items.lowerBound
                var n = 0
                while lo < items.upperBound {
                    let hi = min(items.upperBound, lo + Self.chunkSize)
                    chunks.append(Chunk(window: w, items: lo..<hi))
                    results.append(nil)
                    n += 1
                    lo = hi
                }
                if n > 0 { live[w] = (buffer, n) } else { spare.append(buffer) }
            }
            cond.broadcast()
            cond.unlock()
        }
    }
}
