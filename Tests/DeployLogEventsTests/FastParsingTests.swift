@testable import DeployLogEvents
import XCTest

/// The fast paths of decoding (canonical times, event ids, a decode cache reused after a
/// failure) agree with the general ones.
final class FastParsingTests: XCTestCase {
    private func canonical(_ text: String) -> Timestamp? {
        Array(text.utf8).withUnsafeBytes { Timestamp(canonicalBytes: $0) }
    }

    func testCanonicalTimesParseAsTheGeneralParserDoes() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            // From year 0 to 9999.
            let t = Timestamp(microsecondsSinceEpoch: Int64(rng.next() % 315_537_897_600_000_000) - 62_167_219_200_000_000)
            XCTAssertEqual(canonical(t.canonicalText), t)
            XCTAssertEqual(Timestamp(iso8601: t.canonicalText), t)
        }
        for text in [
            "2026-02-29T10:15:02.120000Z", "2026-13-01T10:15:02.120000Z", "2026-11-20T24:15:02.120000Z",
            "2026-11-20T10:60:02.120000Z", "2026-11-20t10:15:02.120000Z", "2026-11-20T10:15:02.120000z",
            "2026-11-20T10:15:02.1+07:00", "2026-11-20T10:15:02.12000Z", "2026-11-2xT10:15:02.120000Z",
        ] {
            XCTAssertNil(canonical(text), text)
        }
        XCTAssertEqual(canonical("2024-02-29T23:59:59.999999Z"), Timestamp(iso8601: "2024-02-29T23:59:59.999999Z"))
    }

    func testEventIdsParseInEitherCaseAndRefuseAnythingElse() {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<2_000 {
            let id = EventID(high: rng.next(), low: rng.next())
            XCTAssertEqual(EventID(id.text), id)
            XCTAssertEqual(EventID(id.text.uppercased()), id)
        }
        let good = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
        for k in good.indices {
            for bad: Character in ["g", "G", "-", "/", ":", "@", "`", " "] where good[k] != bad {
                var text = good
                text.replaceSubrange(k...k, with: String(bad))
                XCTAssertNil(EventID(text), text)
            }
        }
    }

    func testADecodeCacheStillWorksAfterAFailedDecode() throws {
        var cache = RecordedEvent.DecodeCache()
        let event = RecordedEvent(
            position: 1, stream: "pipeline-x", streamVersion: 0, eventId: .random(), type: "StageFailed", schemaVersion: 1,
            occurredAt: Timestamp(microsecondsSinceEpoch: 5), recordedAt: Timestamp(microsecondsSinceEpoch: 6),
            metadata: JSONObject([("actor", "ci")]), data: ["a": [1, ["b": [true, nil]]], "c": ["d": "e"]])
        let bytes = event.canonicalBytes()
        // Cut inside nested objects and arrays: the parse fails with values pending.
        for cut in stride(from: 10, to: bytes.count, by: 7) {
            XCTAssertNil(Array(bytes[0..<cut]).withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) })
            XCTAssertEqual(bytes.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) }, event)
        }
        // A copy of the cache used alongside the original does not share its stacks.
        var copy = cache
        XCTAssertEqual(bytes.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &copy) }, event)
        XCTAssertEqual(bytes.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) }, event)
    }
}
