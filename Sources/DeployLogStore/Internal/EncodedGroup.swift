import DeployLogCompression
import DeployLogEvents
import Foundation

/// The accepted events of one group commit, encoded for the segment: every event's framed
/// record (canonical JSON, packed, LZ4, checksummed), end to end, and its chain hash.
///
/// A small group is encoded on the calling thread, event by event. The work of a large one is
/// spread over one thread per compressor in two steps. First each thread writes the
/// canonical bytes of a contiguous share of the events. Then, at the same time, one thread runs
/// the hash chain (in order, it cannot be split) while the others pack, compress and frame the
/// records chunk by chunk; the chain's thread takes chunks too once the chain is done.
struct EncodedGroup {
    /// The framed records, in order, end to end.
    var records: [UInt8]
    /// Where each event's record ends in `records`.
    var recordEnds: [Int]
    /// Each event's chain hash.
    var hashes: [Digest]

    /// Events per chunk of records: enough to make taking a chunk cheap, few enough that the
    /// threads finish together.
    static let chunkSize = 32

    static func encode(
        _ events: [RecordedEvent], previousHash: Digest, compressors: [LZ4Compressor], dictionaryId: UInt64
    ) -> EncodedGroup {
        let n = events.count
        if n < 128 { return encodeInline(events, previousHash: previousHash, compressor: compressors[0], dictionaryId: dictionaryId) }
        let workers = compressors.count
        // 1. Canonical bytes: share w holds events w*perShare ..< (w+1)*perShare.
        let perShare = (n + workers - 1) / workers
        var shares = [CanonicalShare](repeating: CanonicalShare(), count: workers)
        shares.withUnsafeMutableBufferPointer { out in
            let slots = UncheckedSendable(out)
            run(workers) { w in
                let lo = min(n, w * perShare)
                slots.value[w] = CanonicalShare(events[lo..<min(n, lo + perShare)])
            }
        }

        // 2. The chain on thread 0; records by chunks on every thread.
        let chunkCount = (n + chunkSize - 1) / chunkSize
        var hashes = [Digest](repeating: Digest(), count: n)
        var lengths = [Int](repeating: 0, count: n)
        var chunks = [[UInt8]](repeating: [], count: chunkCount)
        let next = ChunkCounter()
        let finished = shares
        withBytes(of: finished[...]) { canonical in
            hashes.withUnsafeMutableBufferPointer { hashes in
                lengths.withUnsafeMutableBufferPointer { lengths in
                    chunks.withUnsafeMutableBufferPointer { chunks in
                        // Each thread writes only the slots of the chain or of the chunks it took.
                        let shared = UncheckedSendable((canonical, hashes, lengths, chunks, compressors))
                        run(workers) { w in
                            let (canonical, hashes, lengths, chunks, compressors) = shared.value
                            func bytes(_ i: Int) -> UnsafeRawBufferPointer {
                                let s = i / perShare
                                return finished[s].bytes(of: i - s * perShare, in: canonical[s])
                            }
                            if w == 0 {
                                var chain = previousHash
                                for i in 0..<n {
                                    chain = ChainHash.next(previous: chain, canonical: bytes(i))
                                    hashes[i] = chain
                                }
                            }
                            var packed = [UInt8]()
                            while let c = next.take(below: chunkCount) {
                                let lo = c * chunkSize
                                let hi = min(n, lo + chunkSize)
                                chunks[c] = framedRecords(
                                    lo..<hi, events: events, canonical: bytes, compressor: compressors[w],
                                    dictionaryId: dictionaryId, packed: &packed, lengths: lengths)
                            }
                        }
                    }
                }
            }
        }

        var records = [UInt8]()
        records.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
        for chunk in chunks { records.append(contentsOf: chunk) }
        var recordEnds = [Int]()
        recordEnds.reserveCapacity(n)
        var end = 0
        for length in lengths {
            end += length
            recordEnds.append(end)
        }
        return EncodedGroup(records: records, recordEnds: recordEnds, hashes: hashes)
    }

    /// A small group (one event, most often: an appender waiting on its own sync) on this
    /// thread, in one pass per event: canonical bytes, chain hash, packed, compressed, framed,
    /// with none of the shares, chunks and counters that spreading a large group needs.
    private static func encodeInline(
        _ events: [RecordedEvent], previousHash: Digest, compressor: LZ4Compressor, dictionaryId: UInt64
    ) -> EncodedGroup {
        var writer = CanonicalJSONWriter(reservingCapacity: 1024)
        var records = [UInt8]()
        var packed = [UInt8]()
        var recordEnds = [Int]()
        var hashes = [Digest]()
        recordEnds.reserveCapacity(events.count)
        hashes.reserveCapacity(events.count)
        var chain = previousHash
        for e in events {
            writer.bytes.removeAll(keepingCapacity: true)
            e.writeCanonical(into: &writer)
            let count = writer.bytes.count
            if packed.count < count { packed = [UInt8](repeating: 0, count: max(count, 1024)) }
            let start = records.count
            let bound = SegmentFormat.eventRecordBound(packedCount: count)
            records.append(contentsOf: repeatElement(0, count: bound))
            let length = writer.bytes.withUnsafeBytes { canonical in
                chain = ChainHash.next(previous: chain, canonical: canonical)
                return packed.withUnsafeMutableBufferPointer { scratch in
                    let packedCount = EventPacking.pack(canonical, to: scratch.baseAddress!)
                    return records.withUnsafeMutableBytes { out in
                        SegmentFormat.writeEventRecord(
                            position: e.position, dictionaryId: dictionaryId,
                            packed: UnsafeRawBufferPointer(start: scratch.baseAddress!, count: packedCount),
                            compressor: compressor, to: out.baseAddress! + start)
                    }
                }
            }
            records.removeLast(bound - length)
            recordEnds.append(start + length)
            hashes.append(chain)
        }
        return EncodedGroup(records: records, recordEnds: recordEnds, hashes: hashes)
    }

    /// The framed records of the events `range`, end to end; their lengths go to `lengths`.
    /// `packed` is scratch space kept by the caller.
    private static func framedRecords(
        _ range: Range<Int>, events: [RecordedEvent], canonical: (Int) -> UnsafeRawBufferPointer,
        compressor: LZ4Compressor, dictionaryId: UInt64, packed: inout [UInt8], lengths: UnsafeMutableBufferPointer<Int>
    ) -> [UInt8] {
        var bound = 0
        var longest = 0
        for i in range {
            let count = canonical(i).count
            bound += SegmentFormat.eventRecordBound(packedCount: count)
            longest = max(longest, count)
        }
        if packed.count < longest { packed = [UInt8](repeating: 0, count: longest) }
        return packed.withUnsafeMutableBufferPointer { scratch in
            [UInt8](unsafeUninitializedCapacity: bound) { out, written in
                var o = 0
                for i in range {
                    let packedCount = EventPacking.pack(canonical(i), to: scratch.baseAddress!)
                    let length = SegmentFormat.writeEventRecord(
                        position: events[i].position, dictionaryId: dictionaryId,
                        packed: UnsafeRawBufferPointer(start: scratch.baseAddress!, count: packedCount),
                        compressor: compressor, to: UnsafeMutableRawPointer(out.baseAddress! + o))
                    lengths[i] = length
                    o += length
                }
                written = o
            }
        }
    }

    /// Runs `body(w)` for `w` in `0..<workers`, on as many threads.
    private static func run(_ workers: Int, _ body: @Sendable (Int) -> Void) {
        if workers == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: body) }
    }

    /// Calls `body` with the bytes of every share at once.
    private static func withBytes<R>(
        of shares: ArraySlice<CanonicalShare>, _ done: [UnsafeRawBufferPointer] = [], _ body: ([UnsafeRawBufferPointer]) -> R
    ) -> R {
        guard let first = shares.first else { return body(done) }
        return first.bytes.withUnsafeBytes { withBytes(of: shares.dropFirst(), done + [$0], body) }
    }
}

/// The canonical bytes of a run of events, end to end.
private struct CanonicalShare {
    var bytes: [UInt8] = []
    /// Where each event's bytes end.
    var ends: [Int] = []

    init() {}

    init(_ events: ArraySlice<RecordedEvent>) {
        var writer = CanonicalJSONWriter(reservingCapacity: events.count * 768)
        ends.reserveCapacity(events.count)
        for event in events {
            event.writeCanonical(into: &writer)
            ends.append(writer.bytes.count)
        }
        bytes = writer.bytes
    }

    /// The bytes of the `k`th event, in `buffer` (these bytes, held).
    func bytes(of k: Int, in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let start = k == 0 ? 0 : ends[k - 1]
        return UnsafeRawBufferPointer(rebasing: buffer[start..<ends[k]])
    }
}

/// Hands out chunk numbers in order, each once, to the threads sharing a piece of work.
final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    /// The next chunk number, or nil once all `count` are taken.
    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

/// A value handed to worker threads that the caller keeps from being shared unsafely.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
