import DeployLogCompression
import DeployLogEvents

/// What every backend stores per event, shared so that they agree byte for byte: the payload is
/// the event's canonical bytes packed (`EventPacking`) then LZ4-compressed against a dictionary,
/// and the chain hash is SHA-256 over the previous hash and the canonical bytes (`ChainHash`).
/// Package API: the PostgreSQL store encodes and decodes through here.
package enum StoredEventCodec {
    /// The dictionary a new store starts with (id 1).
    package static let defaultDictionary: LZ4Dictionary = DefaultDictionary.v1

    /// Packs `canonical` and compresses it with `compressor`, appending the compressed bytes to
    /// `output`; returns the packed length (what decompression must give back). `scratch` is
    /// kept by the caller between calls.
    package static func encodePayload(
        _ canonical: UnsafeRawBufferPointer, compressor: LZ4Compressor, scratch: inout [UInt8],
        appendingTo output: inout [UInt8]
    ) -> Int {
        if scratch.count < canonical.count { scratch = [UInt8](repeating: 0, count: max(canonical.count, 4096)) }
        return scratch.withUnsafeMutableBufferPointer { s in
            let packedCount = EventPacking.pack(canonical, to: s.baseAddress!)
            compressor.compress(UnsafeRawBufferPointer(start: s.baseAddress!, count: packedCount), appendingTo: &output)
            return packedCount
        }
    }

    /// The canonical bytes of a stored payload: the first `n` (returned) bytes of `canonical`.
    /// `packed` and `canonical` are scratch space kept by the caller.
    package static func decodePayload(
        _ payload: UnsafeRawBufferPointer, packedLength: Int, dictionaryId: UInt32, decompressor: LZ4Decompressor,
        packed: inout [UInt8], into canonical: inout [UInt8]
    ) throws(LZ4Error) -> Int {
        try EventPacking.decode(
            payload, packedLength: packedLength, dictionaryId: dictionaryId, decompressor: decompressor,
            packed: &packed,
            into: &canonical)
    }

    /// The canonical bytes of packed ones (`EventPacking`), decompressed already: the first
    /// `n` (returned) bytes of `canonical`, scratch space kept by the caller.
    package static func unpack(_ packed: UnsafeRawBufferPointer, into canonical: inout [UInt8]) throws(LZ4Error)
        -> Int
    {
        guard let n = EventPacking.unpack(packed, intoScratch: &canonical) else {
            throw LZ4Error("bad packed event bytes")
        }
        return n
    }

    /// The event of packed bytes (`EventPacking`, decompressed already). The store's own
    /// events are decoded from the packed form as it is (`RecordedEvent.decodePackedStoreLayout`:
    /// no canonical text written only to be parsed again); anything that path does not take
    /// is unpacked into `canonical` (scratch space kept by the caller) and decoded as the
    /// canonical bytes always were, so the event, and every error, is the same as
    /// `unpack` then `RecordedEvent.decode(canonical:cache:)`. Throws `LZ4Error` for bytes that
    /// are not a packed form, `EventDecodingError` for bytes that are not an event.
    package static func decodeEvent(
        packed: UnsafeRawBufferPointer, canonical: inout [UInt8], cache: inout RecordedEvent.DecodeCache
    ) throws -> RecordedEvent {
        if let e = RecordedEvent.decodePackedStoreLayout(packed, cache: &cache) { return e }
        let n = try unpack(packed, into: &canonical)
        return try canonical.withUnsafeBytes { (c) throws(EventDecodingError) -> RecordedEvent in
            try RecordedEvent.decode(canonical: UnsafeRawBufferPointer(rebasing: c[0..<n]), cache: &cache)
        }
    }
}
