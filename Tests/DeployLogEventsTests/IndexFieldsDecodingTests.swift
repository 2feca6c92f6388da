@testable import DeployLogEvents
import DeployLogTestSupport
import XCTest

/// The index decoder (what a file store's open scan builds of each event) reads the same
/// position, stream, stream version, id, type and time as the full decoder, refuses what it
/// refuses, and steps aside (nil) for data or metadata that is not canonical.
final class IndexFieldsDecodingTests: XCTestCase {
    func testAgreesWithTheFullDecoderOnARealisticHistory() throws {
        let events = recordedSampleHistory(pipelines: 30)
        var cache = RecordedEvent.DecodeCache()
        for e in events {
            let f = try XCTUnwrap(e.canonicalBytes().withUnsafeBytes { RecordedEvent.decodeIndexFields($0, cache: &cache) })
            let full = IndexFields(e)
            XCTAssertEqual(f.position, full.position)
            XCTAssertEqual(f.stream, full.stream)
            XCTAssertEqual(f.streamVersion, full.streamVersion)
            XCTAssertEqual(f.eventId, full.eventId)
            XCTAssertEqual(f.type, full.type)
            XCTAssertEqual(f.occurredAt, full.occurredAt)
        }
    }

    func testRefusesWhatTheFullDecoderRefusesAndStepsAsideForNonCanonicalObjects() {
        var cache = RecordedEvent.DecodeCache()
        let id = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
        func event(metadata: String = "{}", data: String = "{}", recordedAt: String = "1970-01-01T00:00:00.000006Z") -> [UInt8] {
            Array(
                (#"{"data":"# + data + #","eventId":""# + id + #"","metadata":"# + metadata
                    + #","occurredAt":"1970-01-01T00:00:00.000005Z","position":1,"recordedAt":""# + recordedAt
                    + #"","schemaVersion":1,"stream":"s","streamVersion":0,"type":"t"}"#).utf8)
        }
        func index(_ b: [UInt8]) -> IndexFields? { b.withUnsafeBytes { RecordedEvent.decodeIndexFields($0, cache: &cache) } }
        let good = event(metadata: #"{"a":[1,2.5,{"b":null}],"c":"x\"y\u00e9"}"#, data: #"{"k":[true,"v"]}"#)
        XCTAssertEqual(index(good)?.stream, "s")
        XCTAssertEqual(index(good)?.eventId, EventID(id))
        // Not canonical (the full decoder decides): keys out of order, duplicated, escaped.
        for o in [#"{"b":1,"a":2}"#, #"{"a":1,"a":2}"#, #"{"\u0061":1}"#] {
            XCTAssertNil(index(event(metadata: o)), o)
            XCTAssertNil(index(event(data: o)), o)
        }
        // Invalid data, metadata or recordedAt: refused here and by the full decoder.
        for b in [
            event(data: #"{"a":01}"#), event(data: #"{"a":[1,]}"#), event(data: #"{"a":tru}"#), event(metadata: #"{"a":"\x"}"#),
            event(data: #"{"a":1e999}"#), event(recordedAt: "1970-13-01T00:00:00.000006Z"),
        ] {
            XCTAssertNil(index(b), String(decoding: b, as: UTF8.self))
            XCTAssertThrowsError(try RecordedEvent.decode(canonical: b), String(decoding: b, as: UTF8.self))
        }
    }
}
