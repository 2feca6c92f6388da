import DeployLogCompression
public import DeployLogEvents
import Foundation

extension FileStore {
    /// Nanoseconds per event of each step of the write and read paths, measured on `events`
    /// in this process (for the benchmark's `component_*` figures; no store is touched).
    package static func componentCosts(_ events: [ProposedEvent]) -> [(name: String, nanoseconds: Double)] {
        let now = Timestamp(microsecondsSinceEpoch: 1_764_000_000_000_000)
        let recorded = events.enumerated().map { i, p in
            RecordedEvent(
                position: Int64(i + 1), stream: p.stream, streamVersion: 0, eventId: p.eventId, type: p.type,
                schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? now, recordedAt: now, metadata: p.metadata,
                data: p.data, extra: p.extra)
        }
        let n = Double(recorded.count)
        var out = [(String, Double)]()
        func time(_ name: String, _ body: () -> Void) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            out.append((name, Double(DispatchTime.now().uptimeNanoseconds - t0) / n))
        }
        // Each step is timed on its own, writing into scratch space reused from event to event,
        // as the store does; what later steps read is made beforehand, untimed. (Keeping each
        // result in an array of arrays inside the timed loop cost an allocation per event: a
        // shared buffer is not reused in place.)
        time("canonical_write") {
            var w = CanonicalJSONWriter(reservingCapacity: 2048)
            var total = 0
            for e in recorded {
                w.bytes.removeAll(keepingCapacity: true)
                e.writeCanonical(into: &w)
                total &+= w.bytes.count
            }
            consume(total)
        }
        let canonical = recorded.map { $0.canonicalBytes() }
        time("pack") {
            var p = [UInt8]()
            var total = 0
            for c in canonical {
                p.removeAll(keepingCapacity: true)
                c.withUnsafeBytes { EventPacking.pack($0, into: &p) }
                total &+= p.count
            }
            consume(total)
        }
        let packed = canonical.map { c in
            var p = [UInt8]()
            c.withUnsafeBytes { EventPacking.pack($0, into: &p) }
            return p
        }
        let compressor = LZ4Compressor(dictionary: DefaultDictionary.v1)
        let room = LZ4Compressor.bound(packed.map(\.count).max() ?? 0)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(room, 1), alignment: 16)
        defer { scratch.deallocate() }
        time("lz4_compress") {
            var total = 0
            for p in packed { total &+= p.withUnsafeBytes { compressor.compress($0, to: scratch, capacity: room) } }
            consume(total)
        }
        let compressed = packed.map { p in
            var c = [UInt8]()
            compressor.compress(p, appendingTo: &c)
            return c
        }
        time("crc32c") {
            var x: UInt32 = 0
            for c in compressed { x ^= CRC32C.checksum(c) }
            consume(x)
        }
        time("sha256_chain") {
            var chain = ChainHash.genesis
            for c in canonical { chain = ChainHash.next(previous: chain, canonical: c) }
            consume(chain)
        }
        let decompressor = LZ4Decompressor(dictionaries: [DefaultDictionary.v1])
        time("lz4_decompress") {
            var p = [UInt8]()
            for (c, q) in zip(compressed, packed) {
                c.withUnsafeBytes { try? decompressor.decompress($0, uncompressedSize: q.count, dictionaryId: 1, into: &p) }
            }
        }
        time("unpack") {
            var scratch = [UInt8]()
            for q in packed { _ = q.withUnsafeBytes { EventPacking.unpack($0, intoScratch: &scratch) } }
        }
        time("decode") {
            for c in canonical { _ = try? RecordedEvent.decode(canonical: c) }
        }
        out.append(("canonical_bytes", Double(canonical.reduce(0) { $0 + $1.count }) / n))
        out.append(("packed_bytes", Double(packed.reduce(0) { $0 + $1.count }) / n))
        out.append(("compressed_bytes", Double(compressed.reduce(0) { $0 + $1.count }) / n))
        return out
    }
}

/// Keeps a measured result alive, so the optimiser cannot drop the work that made it.
@inline(never)
private func consume<T>(_ value: T) { withExtendedLifetime(value) {} }
