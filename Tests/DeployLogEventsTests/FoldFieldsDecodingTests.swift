@testable import DeployLogEvents
import DeployLogTestSupport
import XCTest

/// The fold decoder reads the same position, type, schema version, time and data as the full
/// decoder, accepts exactly what the store-layout decoder accepts, and steps aside (nil) for
/// metadata that is not canonical.
final class FoldFieldsDecodingTests: XCTestCase {
    private func classify(_ type: String) -> UInt8 { UInt8(truncatingIfNeeded: type.utf8.count) }

    func testAgreesWithTheFullDecoderOnARealisticHistory() throws {
        let events = recordedSampleHistory(pipelines: 30)
        // One interning cache across events, as the store's readers do.
        var cache = RecordedEvent.DecodeCache(interning: true)
        var full = RecordedEvent.DecodeCache(interning: true)
        for e in events {
            let bytes = e.canonicalBytes()
            let f = try XCTUnwrap(bytes.withUnsafeBytes { RecordedEvent.decodeFoldFields($0, cache: &cache, classify: classify) })
            XCTAssertEqual(f.position, e.position)
            XCTAssertEqual(f.type, e.type)
            XCTAssertEqual(f.typeCode, classify(e.type))
            XCTAssertEqual(f.schemaVersion, e.schemaVersion)
            XCTAssertEqual(f.occurredAt, e.occurredAt)
            XCTAssertEqual(f.data, e.data)
            // The store-layout decoder with an interning cache gives the same event too.
            XCTAssertEqual(bytes.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &full) }, e)
        }
    }

    func testRefusesWhatTheStoreLayoutDecoderRefusesAndStepsAsideForNonCanonicalMetadata() throws {
        var cache = RecordedEvent.DecodeCache(interning: true)
        let id = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
        func event(metadata: String, data: String = "{}") -> [UInt8] {
            Array(
                (#"{"data":"# + data + #","eventId":""# + id + #"","metadata":"# + metadata
                    + #","occurredAt":"1970-01-01T00:00:00.000005Z","position":1,"recordedAt":"1970-01-01T00:00:00.000006Z","schemaVersion":1,"stream":"s","streamVersion":0,"type":"t"}"#).utf8)
        }
        func fold(_ b: [UInt8]) -> FoldFields? { b.withUnsafeBytes { RecordedEvent.decodeFoldFields($0, cache: &cache, classify: classify) } }
        func layout(_ b: [UInt8]) -> RecordedEvent? { b.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) } }
        // Canonical metadata, nested and with escapes in values: both read it.
        let good = event(metadata: #"{"a":[1,2.5,{"b":null}],"c":"x\"y\u00e9","d":true}"#, data: #"{"k":"a-string-longer-than-16-bytes"}"#)
        XCTAssertNotNil(layout(good))
        XCTAssertEqual(fold(good)?.data, ["k": "a-string-longer-than-16-bytes"])
        // Keys out of order or escaped, or duplicated: the fold decoder leaves it to the full one.
        for m in [#"{"b":1,"a":2}"#, #"{"a":1,"a":2}"#, #"{"\u0061":1}"#, #"{"x":{"b":1,"a":2}}"#] {
            XCTAssertNil(fold(event(metadata: m)), m)
        }
        // Invalid metadata: refused by both (and by the full decoder).
        for m in [#"{"a":01}"#, #"{"a":"\x"}"#, #"{"a":1e999}"#, "{\"a\":\"\u{1}\"}", #"{"a":[1,]}"#, #"{"a":tru}"#, #"{"a":1"#] {
            let b = event(metadata: m)
            XCTAssertNil(fold(b), m)
            XCTAssertNil(layout(b), m)
            XCTAssertThrowsError(try RecordedEvent.decode(canonical: b), m)
        }
        // Invalid UTF-8 in a metadata string.
        var bad = event(metadata: #"{"a":"xx"}"#)
        let at = bad.firstIndex(of: UInt8(ascii: "x"))!
        bad[at] = 0xC0
        XCTAssertNil(fold(bad))
        XCTAssertNil(layout(bad))
    }

    func testInternedStringsAreEqualToFreshOnes() throws {
        var cache = RecordedEvent.DecodeCache(interning: true)
        var values: [JSONValue] = []
        for i in 0..<3 {
            let data = #"{"a":"repeated-value-of-some-length","b":"unique-value-\#(i)-padding-padding","c":"short"}"#
            let text = #"{"data":"# + data + #","eventId":"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f","metadata":{},"occurredAt":"1970-01-01T00:00:00.000005Z","position":1,"recordedAt":"1970-01-01T00:00:00.000006Z","schemaVersion":1,"stream":"s","streamVersion":0,"type":"t"}"#
            let f = try XCTUnwrap(Array(text.utf8).withUnsafeBytes { RecordedEvent.decodeFoldFields($0, cache: &cache, classify: classify) })
            XCTAssertEqual(f.data, try JSONParser.parse(Array(data.utf8)))
            values.append(f.data)
        }
        XCTAssertEqual(values[0].objectValue?["a"], values[2].objectValue?["a"])
        XCTAssertNotEqual(values[0].objectValue?["b"], values[1].objectValue?["b"])
    }
}
