import Crypto

/// The hash chain: h0 = 32 zero bytes, h_n = SHA-256(h_{n-1} ‖ canonical bytes of event n).
/// The only file that uses the hashing library.
enum ChainHash {
    static let genesis = [UInt8](repeating: 0, count: 32)

    static func next(previous: [UInt8], canonical: UnsafeRawBufferPointer) -> [UInt8] {
        var h = SHA256()
        previous.withUnsafeBytes { h.update(bufferPointer: $0) }
        h.update(bufferPointer: canonical)
        return Array(h.finalize())
    }

    static func next(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        canonical.withUnsafeBytes { next(previous: previous, canonical: $0) }
    }

    /// SHA-256 of arbitrary bytes (used to derive stable ids).
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}
