import Crypto
import DeployLogEvents

/// A SHA-256 digest held inline (no heap allocation per event).
package struct Digest: Equatable, Sendable {
    package var value: SIMD32<UInt8>

    package init(_ value: SIMD32<UInt8> = SIMD32()) { self.value = value }

    /// From exactly 32 bytes.
    package init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32)
        value = SIMD32()
        Swift.withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: bytes) }
    }

    package var bytes: [UInt8] { Swift.withUnsafeBytes(of: value) { Array($0) } }
    package var hex: String { Hex.encode(bytes) }
}

/// The hash chain: h0 = 32 zero bytes, h_n = SHA-256(h_{n-1} ‖ canonical bytes of event n).
/// The only file that uses the hashing library.
package enum ChainHash {
    package static let genesis = Digest()

    package static func next(previous: Digest, canonical: UnsafeRawBufferPointer) -> Digest {
        var h = SHA256()
        Swift.withUnsafeBytes(of: previous.value) { h.update(bufferPointer: $0) }
        h.update(bufferPointer: canonical)
        return h.finalize().withUnsafeBytes { Digest($0) }
    }

    package static func next(previous: Digest, canonical: [UInt8]) -> Digest {
        canonical.withUnsafeBytes { next(previous: previous, canonical: $0) }
    }

    /// SHA-256 of arbitrary bytes (used to derive stable ids).
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}
