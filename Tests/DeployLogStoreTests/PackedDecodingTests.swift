@testable import DeployLogEvents
@testable import DeployLogStore
import DeployLogTestSupport
import XCTest

/// Decoding an event from its packed form as it is (`RecordedEvent.decodePackedStoreLayout`,
/// through `StoredEventCodec.decodeEvent`) gives exactly what unpacking it and decoding the
/// canonical bytes gives: the same event, or the same error.
final class PackedDecodingTests: XCTestCase {
    /// What a decode gave: the event, or the error's type and text.
    enum Outcome: Equatable {
        case success(RecordedEvent)
        case failure(String)
    }

    /// The way every payload was decoded before: unpack, then decode the canonical bytes.
    private func unpackingThenDecoding(_ packed: [UInt8]) -> Outcome {
        var canonical = [UInt8]()
        guard packed.withUnsafeBytes({ EventPacking.unpack($0, into: &canonical) }) else {
            return .failure("LZ4Error: bad packed event bytes")
        }
        do {
            return .success(try RecordedEvent.decode(canonical: canonical))
        } catch {
            return .failure("\(type(of: error)): \(error)")
        }
    }

    private func decodingPacked(_ packed: [UInt8], cache: inout RecordedEvent.DecodeCache) -> Outcome {
        var scratch = [UInt8]()
        do {
            return .success(
                try packed.withUnsafeBytes {
                    try StoredEventCodec.decodeEvent(packed: $0, canonical: &scratch, cache: &cache)
                })
        } catch {
            return .failure("\(type(of: error)): \(error)")
        }
    }

    private func pack(_ canonical: [UInt8]) -> [UInt8] {
        var packed = [UInt8]()
        canonical.withUnsafeBytes { EventPacking.pack($0, into: &packed) }
        return packed
    }

    /// Whether the direct path took `packed` (rather than leaving it to unpacking).
    private func takesDirectPath(_ packed: [UInt8]) -> Bool {
        var cache = RecordedEvent.DecodeCache()
        return packed.withUnsafeBytes { RecordedEvent.decodePackedStoreLayout($0, cache: &cache) } != nil
    }

    private func event(_ data: JSONValue, metadata: JSONObject = JSONObject(), stream: String = "pipeline-1")
        -> RecordedEvent
    {
        RecordedEvent(
            position: 42, stream: stream, streamVersion: 3,
            eventId: EventID("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")!, type: "PipelineStarted", schemaVersion: 2,
            occurredAt: Timestamp(microsecondsSinceEpoch: 1_764_000_000_123_456),
            recordedAt: Timestamp(microsecondsSinceEpoch: 1_764_000_000_223_456), metadata: metadata, data: data)
    }

    func testTheMarkersAreThoseOfThePackedForm() {
        XCTAssertEqual(_PackedForm.uuidMarker, EventPacking.uuidMarker)
        XCTAssertEqual(_PackedForm.timeMarker, EventPacking.timeMarker)
        XCTAssertEqual(_PackedForm.hexMarker, EventPacking.hexMarker)
        // The first and last times with a faithful canonical text.
        XCTAssertEqual(Timestamp(microsecondsSinceEpoch: _PackedForm.firstTime).canonicalText, "0000-01-01T00:00:00.000000Z")
        XCTAssertEqual(Timestamp(microsecondsSinceEpoch: _PackedForm.lastTime).canonicalText, "9999-12-31T23:59:59.999999Z")
    }

    func testAgreesWithUnpackingOnARealisticHistory() throws {
        let events = recordedSampleHistory(pipelines: 40)
        var direct = 0
        // Shared across events, with interning, as a long read does; and a fresh one each time.
        var shared = RecordedEvent.DecodeCache(interning: true)
        for e in events {
            let packed = pack(e.canonicalBytes())
            if takesDirectPath(packed) { direct += 1 }
            var fresh = RecordedEvent.DecodeCache()
            XCTAssertEqual(decodingPacked(packed, cache: &shared), .success(e))
            XCTAssertEqual(decodingPacked(packed, cache: &fresh), .success(e))
            XCTAssertEqual(unpackingThenDecoding(packed), .success(e))
        }
        // The store's own events are what the direct path is for.
        XCTAssertEqual(direct, events.count)
    }

    /// A long read reuses the last metadata object when the next event's metadata bytes are
    /// the same: whatever comes in between, in either form, each event still decodes to itself.
    func testReusedMetadataIsTheEventsOwnWhateverCameBefore() throws {
        let uuid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        let metadatas: [JSONObject] = [
            JSONObject([("actor", "ci"), ("correlationId", .string(uuid))]),
            JSONObject([("actor", "ci"), ("correlationId", .string(uuid))]),
            // Bytes that begin as the last ones did.
            JSONObject([("actor", "ci"), ("correlationId", .string(uuid)), ("source", "deploylog")]),
            JSONObject([("actor", "cid"), ("correlationId", .string(uuid))]),
            JSONObject([("actor", "c")]),
            JSONObject(),
            JSONObject(),
            JSONObject([("actor", "ci"), ("correlationId", .string(uuid))]),
            JSONObject([("actor", "ci"), ("correlationId", .string(uuid.replacingOccurrences(of: "0a", with: "0b")))]),
        ]
        var cache = RecordedEvent.DecodeCache(interning: true)
        for (k, metadata) in metadatas.enumerated() {
            let e = event(.object(JSONObject([("k", .number(JSONNumber(k)))])), metadata: metadata)
            let canonical = e.canonicalBytes()
            // The packed form, then the canonical text, through the same cache.
            XCTAssertEqual(decodingPacked(pack(canonical), cache: &cache), .success(e), "\(k) packed")
            let decoded = canonical.withUnsafeBytes { RecordedEvent.decodeStoreLayout($0, cache: &cache) }
            XCTAssertEqual(decoded, e, "\(k) canonical")
        }
    }

    func testIdsTimesAndHexInDataAndMetadata() throws {
        let uuid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        let time = "2026-11-20T10:15:02.120000Z"
        let cases: [RecordedEvent] = [
            event(["id": .string(uuid), "at": .string(time), "sha": .string(String(repeating: "ab", count: 20))]),
            event(.array([.string(uuid), .string(time), .string(String(repeating: "0f", count: 8))])),
            event(.string(uuid), metadata: JSONObject([("correlation", .string(uuid)), ("t", .string(time))])),
            // The longest hex run packed (127 bytes), one longer (not packed), odd and short ones.
            event([
                "a": .string(String(repeating: "e1", count: 127)), "b": .string(String(repeating: "e1", count: 128)),
                "c": .string(String(repeating: "a", count: 17)), "d": .string(String(repeating: "ab", count: 7)),
            ]),
            // The first and last times with a faithful text, and ids and hex as keys (a marker
            // where a key is: left to unpacking).
            event(["first": "0000-01-01T00:00:00.000000Z", "last": "9999-12-31T23:59:59.999999Z"]),
            event(.object(JSONObject([(uuid, .number(JSONNumber(1)))]))),
            event(.object(JSONObject([(String(repeating: "cd", count: 9), .null)]))),
            // Inside a string, after an escaped quote: the marker also takes the closing quote.
            event(.string("\"" + uuid)), event(.string("x\"" + String(repeating: "12", count: 10))),
            event(.string("say \"" + time)),
            // A stream that is an id, one that is hex.
            event(.null, stream: uuid), event(.null, stream: String(repeating: "77", count: 10)),
        ]
        for e in cases {
            let packed = pack(e.canonicalBytes())
            var cache = RecordedEvent.DecodeCache(interning: true)
            XCTAssertEqual(decodingPacked(packed, cache: &cache), .success(e), "\(e.data)")
            XCTAssertEqual(unpackingThenDecoding(packed), .success(e))
        }
        XCTAssertTrue(takesDirectPath(pack(cases[0].canonicalBytes())))
        XCTAssertFalse(takesDirectPath(pack(cases[5].canonicalBytes())))
        XCTAssertFalse(takesDirectPath(pack(cases[7].canonicalBytes())))
    }

    /// Times the packed form can hold but whose text is not faithful, ids and hex cut short,
    /// bytes that are no marker: each decodes, or fails, exactly as unpacking then decoding does.
    func testBrokenAndStrangePackedBytesAgree() throws {
        let base = pack(event(["t": "2026-11-20T10:15:02.120000Z"]).canonicalBytes())
        // Where the markers are: occurredAt, recordedAt, the eventId, the time in data.
        let markers = base.indices.filter { base[$0] >= 0xFD }
        XCTAssertEqual(markers.count, 4)
        var variants: [[UInt8]] = []
        for m in markers where base[m] == EventPacking.timeMarker {
            for v: Int64 in [
                _PackedForm.firstTime, _PackedForm.lastTime, _PackedForm.firstTime - 1, _PackedForm.lastTime + 1,
                Int64.min, Int64.max, -1, 0,
            ] {
                var b = base
                withUnsafeBytes(of: UInt64(bitPattern: v).bigEndian) { for k in 0..<8 { b[m + 1 + k] = $0[k] } }
                variants.append(b)
            }
        }
        for m in markers {
            // Cut short at the marker and inside it; the marker replaced by each byte not UTF-8.
            variants.append(Array(base[..<m]))
            variants.append(Array(base[...m]))
            variants.append(Array(base[..<(m + 3)]))
            for x: UInt8 in 0xF8...0xFF {
                var b = base
                b[m] = x
                variants.append(b)
            }
        }
        // A hex marker whose length is below the form's, or runs past the end.
        let hex = pack(event(.string(String(repeating: "9a", count: 12))).canonicalBytes())
        let h = try XCTUnwrap(hex.firstIndex(of: EventPacking.hexMarker))
        for n: UInt8 in [0, 1, 7, 8, 11, 13, 200] {
            var b = hex
            b[h + 1] = n
            variants.append(b)
        }
        // Every byte in turn changed, and the bytes cut at every length.
        var rng = SplitMix64(seed: 7)
        for k in base.indices {
            var b = base
            b[k] = UInt8(truncatingIfNeeded: rng.next())
            variants.append(b)
            variants.append(Array(base[..<k]))
        }
        for b in variants {
            var cache = RecordedEvent.DecodeCache(interning: true)
            XCTAssertEqual(decodingPacked(b, cache: &cache), unpackingThenDecoding(b), "\(b)")
        }
    }
}
