@testable import DeployLogStore
import XCTest

/// The record checksum: the hardware path and the table fallback agree with the definition.
final class CRC32CTests: XCTestCase {
    /// Bit by bit, straight from the definition (reflected polynomial 0x82F63B78).
    private func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    func testKnownVectorAndAgreementOnRandomInput() {
        let check = Array("123456789".utf8)
        XCTAssertEqual(CRC32C.checksum(check), 0xE306_9283)
        XCTAssertEqual(check.withUnsafeBytes { CRC32C.portableChecksum($0) }, 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([]), 0)
        var rng = SystemRandomNumberGenerator()
        for length in [1, 7, 8, 9, 63, 64, 65, 1000, 4099] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let expected = reference(bytes)
            XCTAssertEqual(CRC32C.checksum(bytes), expected, "length \(length)")
            XCTAssertEqual(bytes.withUnsafeBytes { CRC32C.portableChecksum($0) }, expected, "length \(length)")
            // Continuing from a seed equals one pass.
            let split = length / 3
            let first = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<split])) }
            let both = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[split...]), seed: first) }
            XCTAssertEqual(both, expected, "length \(length)")
        }
    }
}
