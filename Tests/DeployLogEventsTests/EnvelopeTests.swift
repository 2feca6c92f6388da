import DeployLogEvents
import XCTest

/// The append envelope, timestamps, ids and credential removal.
final class EnvelopeTests: XCTestCase {
    private func envelope(_ text: String) throws -> ProposedEvent {
        try ProposedEvent(envelope: JSONParser.parse(text))
    }

    private func refusal(_ text: String) -> EnvelopeError? {
        do {
            _ = try envelope(text)
            return nil
        } catch let e as EnvelopeError {
            return e
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func testFullEnvelopeIsRead() throws {
        let e = try envelope(
            #"{"stream":"pipeline-7f3c","type":"StageFailed","data":{"pipelineId":"7f3c"},"eventId":"6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F","occurredAt":"2026-11-20T10:15:02.120Z","expectedVersion":3,"metadata":{"actor":"ci@build-17","correlationId":"c1"},"schemaVersion":1,"extraField":[1,2]}"#)
        XCTAssertEqual(e.stream, "pipeline-7f3c")
        XCTAssertEqual(e.category, "pipeline")
        XCTAssertEqual(e.type, "StageFailed")
        XCTAssertEqual(e.eventId.text, "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")
        XCTAssertEqual(e.occurredAt?.canonicalText, "2026-11-20T10:15:02.120000Z")
        XCTAssertEqual(e.expectedVersion, .exact(3))
        XCTAssertEqual(e.metadata["actor"], "ci@build-17")
        XCTAssertEqual(e.extra["extraField"], [1, 2])
        XCTAssertEqual(try envelope(#"{"stream":"s","type":"t","data":{},"expectedVersion":-1}"#).expectedVersion, .noStream)
        XCTAssertEqual(try envelope(#"{"stream":"s","type":"t","data":{}}"#).expectedVersion, .any)
    }

    func testBadEnvelopesNameTheField() {
        let cases: [(String, String?, EnvelopeError.Code)] = [
            (#"[1]"#, nil, .notAnObject),
            (#"{"type":"t","data":{}}"#, "stream", .missingField),
            (#"{"stream":7,"type":"t","data":{}}"#, "stream", .wrongType),
            (#"{"stream":"","type":"t","data":{}}"#, "stream", .invalidValue),
            (#"{"stream":"s","data":{}}"#, "type", .missingField),
            (#"{"stream":"s","type":"t"}"#, "data", .missingField),
            (#"{"stream":"s","type":"t","data":[]}"#, "data", .wrongType),
            (#"{"stream":"s","type":"t","data":{},"eventId":"nope"}"#, "eventId", .invalidValue),
            (#"{"stream":"s","type":"t","data":{},"occurredAt":"yesterday"}"#, "occurredAt", .invalidValue),
            (#"{"stream":"s","type":"t","data":{},"occurredAt":"2026-11-20T10:15:02.1234567Z"}"#, "occurredAt", .invalidValue),
            (#"{"stream":"s","type":"t","data":{},"expectedVersion":-2}"#, "expectedVersion", .invalidValue),
            (#"{"stream":"s","type":"t","data":{},"expectedVersion":1.5}"#, "expectedVersion", .invalidValue),
            (#"{"stream":"s","type":"t","data":{},"metadata":"x"}"#, "metadata", .wrongType),
            (#"{"stream":"s","type":"t","data":{},"metadata":{"actor":1}}"#, "metadata.actor", .wrongType),
            (#"{"stream":"s","type":"t","data":{},"schemaVersion":0}"#, "schemaVersion", .invalidValue),
            (#"{"stream":"s","type":"t","data":{},"position":4}"#, "position", .reservedField),
            (#"{"stream":"s","type":"t","data":{},"hash":"ab"}"#, "hash", .reservedField),
        ]
        for (text, field, code) in cases {
            let e = refusal(text)
            XCTAssertEqual(e?.field, field, text)
            XCTAssertEqual(e?.code, code, text)
        }
        XCTAssertEqual(refusal(#"{"stream":7,"type":"t","data":{}}"#)?.message, #"field "stream" must be a string, found integer"#)
    }

    func testPasswordsNeverSurviveTheEnvelope() throws {
        let e = try envelope(
            #"{"stream":"environment-production","type":"EnvironmentConfigured","data":{"databaseUrl":"postgresql://camera_user:Sup3r$ecret@db.prod:5432/camera?sslmode=require","nested":["redis://:hunter2@cache:6379/0"],"conninfo":"host=db user=app password='p w' dbname=x"},"metadata":{"source":"postgres://u:pw@h/d"}}"#)
        let text = JSONValue.object(JSONObject([("data", e.data), ("metadata", .object(e.metadata))])).canonicalString
        for secret in ["Sup3r$ecret", "hunter2", "p w", ":pw@"] { XCTAssertFalse(text.contains(secret), secret) }
        XCTAssertEqual(e.data.objectValue?["databaseUrl"], "postgresql://camera_user@db.prod:5432/camera?sslmode=require")
        XCTAssertEqual(e.data.objectValue?["nested"], ["redis://@cache:6379/0"])
        XCTAssertEqual(e.data.objectValue?["conninfo"], "host=db user=app dbname=x")
        XCTAssertEqual(CredentialRedaction.redact(string: "see https://example.com/a:b@c for docs"), "see https://example.com/a:b@c for docs")
        XCTAssertEqual(CredentialRedaction.redact(string: "postgres://app@db/x"), "postgres://app@db/x")
    }

    /// Every form a password takes in a URL or conninfo, as libpq reads them, is cut before the
    /// log: query parameters (`sslpassword`, a percent-encoded key), `?` `#` `/` `@` left
    /// unencoded in the password, spaces around `=`, a URL in a sentence; and what is not a
    /// password is kept, SQL that sets a column named password included.
    func testPasswordsInEveryFormLibpqReadsAreStripped() {
        let stripped = [
            ("postgres://app@db/st?password=s3cret", "postgres://app@db/st"),
            ("postgres://app@db/st?sslmode=require&password=s3cret", "postgres://app@db/st?sslmode=require"),
            ("postgres://app@db/st?password=s3cret&sslmode=require", "postgres://app@db/st?sslmode=require"),
            ("postgresql://db:5432?user=app&password=s3cret", "postgresql://db:5432?user=app"),
            ("postgres://app:pa?s3cret@db/x", "postgres://app@db/x"),
            ("postgres://app:pa#s3cret@db/x?sslmode=require", "postgres://app@db/x?sslmode=require"),
            ("postgres://app:pa/s3cret@db/x", "postgres://app@db/x"),
            ("POSTGRES://app:pa@s3cret@db/x", "POSTGRES://app@db/x"),
            ("host=db password = s3cret dbname=x", "host=db dbname=x"),
            ("host=db password='s3 cret'", "host=db"),
            ("run psql 'postgres://u:s3cret@h/d' now", "run psql 'postgres://u@h/d' now"),
            ("a https://ci:s3cret@ci.example.com/hook b", "a https://ci@ci.example.com/hook b"),
            ("postgres://db/x?sslpassword=s3cret&sslmode=verify-full", "postgres://db/x?sslmode=verify-full"),
            ("postgres://db/x?pass%77ord=s3cret", "postgres://db/x"),  // libpq decodes the key
            ("host=db sslpassword=s3cret", "host=db"),
        ]
        for (text, expected) in stripped {
            XCTAssertEqual(CredentialRedaction.redact(string: text), expected, text)
        }
        for kept in [
            "see https://example.com/a:b@c for docs", "https://host/x?y=a@b", "postgres://app@db/x",
            "postgresql://host:5432/db?application_name=a:b@c", "the password policy", "passwords=none",
            // Not conninfo through and through: someone's SQL or prose, which is not rewritten
            // (a rollback runs the SQL as stored).
            "UPDATE users SET password = NULL, locked = true WHERE id < 10;", "connect with password=s3cret",
        ] {
            XCTAssertEqual(CredentialRedaction.redact(string: kept), kept)
        }
        XCTAssertEqual(CredentialRedaction.mask(string: "postgres://app:pa?s3cret@db/x"), "postgres://app:***@db/x")
        XCTAssertEqual(
            CredentialRedaction.mask(string: "failed: postgres://a:s3cret@h/d?password=s3cret and host=h password=s3cret"),
            "failed: postgres://a:***@h/d?password=*** and host=h password=***")
        XCTAssertEqual(CredentialRedaction.mask(string: "postgres://app:***@db/x"), "postgres://app:***@db/x")
        // A message is only read: masked wherever a pair appears.
        XCTAssertEqual(CredentialRedaction.mask(string: "connect with password=s3cret"), "connect with password=***")
    }

    func testTimestampsParseOffsetsAndPrintCanonically() {
        XCTAssertEqual(Timestamp(iso8601: "1970-01-01T00:00:00Z")?.microseconds, 0)
        XCTAssertEqual(Timestamp(iso8601: "2026-11-20T17:15:02.5+07:00")?.canonicalText, "2026-11-20T10:15:02.500000Z")
        XCTAssertEqual(Timestamp(iso8601: "2024-02-29T23:59:59.999999-00:30")?.canonicalText, "2024-03-01T00:29:59.999999Z")
        XCTAssertEqual(Timestamp(iso8601: "2026-11-20T10:15:02.120000000Z")?.canonicalText, "2026-11-20T10:15:02.120000Z")
        XCTAssertEqual(Timestamp(microsecondsSinceEpoch: -1).canonicalText, "1969-12-31T23:59:59.999999Z")
        for bad in ["2026-02-29T00:00:00Z", "2026-11-20 10:15:02Z", "2026-11-20T10:15:02", "2026-11-20T24:00:00Z",
                    "2026-13-01T00:00:00Z", "2026-11-20T10:15:02.Z", "2026-11-20T10:15:02Zjunk", ""] {
            XCTAssertNil(Timestamp(iso8601: bad), bad)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let t = Timestamp(microsecondsSinceEpoch: Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &rng))
            XCTAssertEqual(Timestamp(iso8601: t.canonicalText), t)
        }
    }

    func testEventIDs() {
        XCTAssertNil(EventID("6f1c2d3e4a5b4c6d8e9f0a1b2c3d4e5f"))
        XCTAssertNil(EventID("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5g"))
        let r = EventID.random()
        XCTAssertEqual(EventID(r.text), r)
        XCTAssertNotEqual(EventID.random(), EventID.random())
        let named = EventID(bytes: [UInt8](repeating: 0xAB, count: 32), nameBased: true)
        XCTAssertEqual(named.text, "abababab-abab-5bab-abab-abababababab")
    }

    func testRecordedEventRoundTripsThroughCanonicalBytes() throws {
        let e = RecordedEvent(
            position: 42, stream: "bluegreen-camera", streamVersion: 3, eventId: .random(), type: "TrafficSwitched",
            schemaVersion: 1, occurredAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456),
            recordedAt: Timestamp(microsecondsSinceEpoch: 1_700_000_001_000_000),
            metadata: JSONObject([("actor", "ops")]), data: ["fromColor": "blue", "toColor": "green", "version": "2.1.0"],
            extra: JSONObject([("zzz", true), ("aaa", 1)]))
        let bytes = e.canonicalBytes()
        XCTAssertEqual(try RecordedEvent.decode(canonical: bytes), e)
        // Canonical: the same bytes as writing the envelope object in key order.
        XCTAssertEqual(bytes, JSONValue.object(e.envelopeObject(includeHash: false)).canonicalBytes())
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"aaa":1,"data":{"fromColor":"blue""#))
        var plain = e
        plain.extra = JSONObject()
        XCTAssertEqual(plain.canonicalBytes(), JSONValue.object(plain.envelopeObject(includeHash: false)).canonicalBytes())
    }
}
