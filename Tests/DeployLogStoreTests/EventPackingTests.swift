import DeployLogEvents
@testable import DeployLogStore
import XCTest

/// Packing ids, times and hex before LZ4 must give back the canonical bytes exactly.
final class EventPackingTests: XCTestCase {
    private func roundTrip(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Int {
        var packed = [UInt8]()
        bytes.withUnsafeBytes { EventPacking.pack($0, into: &packed) }
        var back = [UInt8]()
        XCTAssertTrue(packed.withUnsafeBytes { EventPacking.unpack($0, into: &back) }, file: file, line: line)
        XCTAssertEqual(back, bytes, String(decoding: bytes, as: UTF8.self), file: file, line: line)
        return packed.count
    }

    func testIdsTimesAndHexShrinkAndComeBackExactly() {
        let json = #"{"a":"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f","t":"2026-11-20T10:15:02.120000Z","h":"a94a8fe5ccb19ba61c4c0873d391e987982fbbd3","n":"1234567890123456"}"#
        let packedCount = roundTrip(Array(json.utf8))
        XCTAssertLessThan(packedCount, json.utf8.count - 60)
    }

    func testLookalikesAreLeftAlone() {
        for text in [
            #""6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F""#,  // upper case
            #""6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5""#,  // short
            #""2026-11-20T10:15:02.12Z""#,  // not canonical
            #""2026-02-30T10:15:02.120000Z""#,  // no such day
            #""0123456789abcde""#,  // odd hex
            #""abc"#, #"""#, #"\"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f\""#, #""2026-11-20T10:15:02.120000Z"#,
        ] {
            _ = roundTrip(Array(text.utf8))
        }
    }

    func testRandomCanonicalEventsRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        let pieces = [#"""#, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "2026-11-20T10:15:02.120000Z", "deadbeefdeadbeef", "-", ":", "é", "🚀", "\\", "0"]
        for _ in 0..<2_000 {
            var s = ""
            for _ in 0..<Int.random(in: 0...12, using: &rng) { s += pieces.randomElement(using: &rng)! }
            _ = roundTrip(Array(s.utf8))
        }
        // Every event of a realistic history.
        for e in SampleHistory.generate(pipelines: 20) {
            let r = RecordedEvent(
                position: 1, stream: e.stream, streamVersion: 0, eventId: e.eventId, type: e.type, schemaVersion: 1,
                occurredAt: e.occurredAt ?? Timestamp(microsecondsSinceEpoch: 0), recordedAt: Timestamp.now(),
                metadata: e.metadata, data: e.data)
            _ = roundTrip(r.canonicalBytes())
        }
    }

    func testBrokenPackedInputIsRefused() {
        var out = [UInt8]()
        for bad: [UInt8] in [[0xFF, 1, 2], [0xFE, 0], [0xFD, 3, 1, 2, 3], [0xFD], [0xF8]] {
            XCTAssertFalse(bad.withUnsafeBytes { EventPacking.unpack($0, into: &out) }, "\(bad)")
        }
    }
}
