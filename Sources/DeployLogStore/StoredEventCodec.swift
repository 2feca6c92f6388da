import DeployLogCompression

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
}
