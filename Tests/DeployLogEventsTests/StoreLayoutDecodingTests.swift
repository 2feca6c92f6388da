@testable import DeployLogEvents
import DeployLogTestSupport
import XCTest

/// The direct decoder of the store's event layout agrees with the general one, and steps aside
/// for anything else.
final class StoreLayoutDecodingTests: XCTestCase {
    private func general(_ bytes: [UInt8]) throws -> RecordedEvent {
        try RecordedEvent.decode(envelope: JSONParser.parse(bytes))
    }

    func testAgreesWithTheGeneralDecoderOnARealisticHistory() throws {
        let events = recordedSampleHistory(pipelines: 30)
        var cache = RecordedEvent.DecodeCache()  // shared across events, as the store does
        for e in events {
            let bytes = e.canonicalBytes()
            let fast = bytes.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) }
            XCTAssertNotNil(fast)
            XCTAssertEqual(fast, try general(bytes))
            XCTAssertEqual(fast, e)
        }
    }

    func testOtherLayoutsFallBackToTheGeneralDecoder() throws {
        var cache = RecordedEvent.DecodeCache()
        let base = RecordedEvent(
            position: 3, stream: "pipeline-\"quoted\"", streamVersion: 0, eventId: .random(), type: "T\u{1}",
            schemaVersion: 1, occurredAt: Timestamp(microsecondsSinceEpoch: 5), recordedAt: Timestamp(microsecondsSinceEpoch: 6),
            metadata: JSONObject(), data: ["x": 1.5])
        // Escapes in stream and type still take the direct path and come back right.
        let plain = base.canonicalBytes()
        XCTAssertEqual(plain.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) }, base)
        // Extra top-level fields: not the store layout, but the general decoder reads them.
        var extra = base
        extra.extra = JSONObject([("zzz", true)])
        let bytes = extra.canonicalBytes()
        XCTAssertNil(bytes.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) })
        XCTAssertEqual(try RecordedEvent.decode(canonical: bytes), extra)
        // Broken input is refused by both.
        for text in [#"{"data":{},"eventId":"x"}"#, #"{"data":{}"#, "", #"{"data":{},"eventId":"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f","metadata":{},"occurredAt":"1970-01-01T00:00:00.000005Z","position":01,"recordedAt":"1970-01-01T00:00:00.000006Z","schemaVersion":1,"stream":"s","streamVersion":0,"type":"t"}"#] {
            XCTAssertNil(Array(text.utf8).withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) }, text)
            XCTAssertThrowsError(try RecordedEvent.decode(canonical: Array(text.utf8)), text)
        }
    }
}
