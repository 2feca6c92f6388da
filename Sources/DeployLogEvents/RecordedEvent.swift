/// An event as the log holds it: the producer's event plus what the store assigned.
public struct RecordedEvent: Sendable, Hashable {
    /// Global position, gapless, from 1.
    public var position: Int64
    public var stream: String
    /// Version within the stream, from 0.
    public var streamVersion: Int64
    public var eventId: EventID
    public var type: String
    public var schemaVersion: Int
    public var occurredAt: Timestamp
    public var recordedAt: Timestamp
    public var metadata: JSONObject
    public var data: JSONValue
    /// Unknown top-level fields the producer sent, kept as they were.
    public var extra: JSONObject
    /// SHA-256 chain hash (32 bytes), when known.
    public var hash: [UInt8]?

    public init(
        position: Int64, stream: String, streamVersion: Int64, eventId: EventID, type: String,
        schemaVersion: Int, occurredAt: Timestamp, recordedAt: Timestamp, metadata: JSONObject,
        data: JSONValue, extra: JSONObject = JSONObject(), hash: [UInt8]? = nil
    ) {
        self.position = position
        self.stream = stream
        self.streamVersion = streamVersion
        self.eventId = eventId
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.metadata = metadata
        self.data = data
        self.extra = extra
        self.hash = hash
    }

    /// The category of the stream: the part before its first `-`.
    public var category: String { ProposedEvent.category(of: stream) }

    /// Lowercase hex of `hash`.
    public var hashHex: String? { hash.map(Hex.encode) }

    /// The canonical bytes of this event (see `events/README.md`): the input of the hash chain
    /// and of the compressor.
    public func canonicalBytes() -> [UInt8] {
        var w = CanonicalJSONWriter(reservingCapacity: 512)
        writeCanonical(into: &w)
        return w.bytes
    }

    public func writeCanonical(into w: inout CanonicalJSONWriter) {
        if extra.isEmpty {
            w.writeASCII("{\"data\":")
            w.write(data)
            w.writeASCII(",\"eventId\":\"")
            eventId.append(to: &w.bytes)
            w.writeASCII("\"")
            w.writeASCII(",\"metadata\":")
            w.write(.object(metadata))
            w.writeASCII(",\"occurredAt\":\"")
            occurredAt.append(to: &w.bytes)
            w.writeASCII("\",\"position\":")
            w.writeInt(position)
            w.writeASCII(",\"recordedAt\":\"")
            recordedAt.append(to: &w.bytes)
            w.writeASCII("\",\"schemaVersion\":")
            w.writeInt(Int64(schemaVersion))
            w.writeASCII(",\"stream\":")
            w.writeString(stream)
            w.writeASCII(",\"streamVersion\":")
            w.writeInt(streamVersion)
            w.writeASCII(",\"type\":")
            w.writeString(type)
            w.writeASCII("}")
        } else {
            w.write(.object(envelopeObject(includeHash: false)))
        }
    }

    /// The read-back envelope as a JSON object (the NDJSON export line).
    public func envelopeObject(includeHash: Bool = true) -> JSONObject {
        var o = extra
        o["data"] = data
        o["eventId"] = .string(eventId.text)
        o["metadata"] = .object(metadata)
        o["occurredAt"] = .string(occurredAt.canonicalText)
        o["position"] = .number(JSONNumber(position))
        o["recordedAt"] = .string(recordedAt.canonicalText)
        o["schemaVersion"] = .number(JSONNumber(schemaVersion))
        o["stream"] = .string(stream)
        o["streamVersion"] = .number(JSONNumber(streamVersion))
        o["type"] = .string(type)
        if includeHash, let hashHex { o["hash"] = .string(hashHex) }
        return o
    }

    /// Decodes the canonical bytes written by `canonicalBytes()`.
    public static func decode(canonical bytes: UnsafeRawBufferPointer) throws(EventDecodingError) -> RecordedEvent {
        var cache = DecodeCache()
        return try decode(canonical: bytes, cache: &cache)
    }

    /// As `decode(canonical:)`, reusing the stream and type strings of the previous event.
    public static func decode(canonical bytes: UnsafeRawBufferPointer, cache: inout DecodeCache) throws(EventDecodingError) -> RecordedEvent {
        // The store's own events (no extra fields) take a direct path; anything else the general one.
        if let e = decodeStoreLayout(bytes, cache: &cache) { return e }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw EventDecodingError("not valid JSON: \(error)") }
        return try decode(envelope: value)
    }

    public static func decode(canonical bytes: [UInt8]) throws(EventDecodingError) -> RecordedEvent {
        do {
            return try bytes.withUnsafeBytes { (p) throws(EventDecodingError) -> RecordedEvent in try decode(canonical: p) }
        } catch let e as EventDecodingError { throw e } catch { throw EventDecodingError("\(error)") }
    }

    /// The envelope's keys in canonical order.
    static let envelopeKeys = [
        "data", "eventId", "hash", "metadata", "occurredAt", "position", "recordedAt", "schemaVersion", "stream",
        "streamVersion", "type",
    ]

    /// Decodes a read-back envelope object (an NDJSON export line); `hash` is read when present.
    public static func decode(envelope value: JSONValue) throws(EventDecodingError) -> RecordedEvent {
        guard case .object(let o) = value else { throw EventDecodingError("event is not a JSON object") }
        // One pass over the members (they are sorted); anything unknown is kept in `extra`.
        var data: JSONValue?
        var eventId: EventID?
        var metadata: JSONObject?
        var occurredAt: Timestamp?
        var position: Int64?
        var recordedAt: Timestamp?
        var schemaVersion: Int64?
        var stream: String?
        var streamVersion: Int64?
        var type: String?
        var hash: [UInt8]?
        var extra = [JSONObject.Member]()
        func string(_ v: JSONValue, _ k: String) throws(EventDecodingError) -> String {
            guard case .string(let s) = v else { throw EventDecodingError("\"\(k)\" is not a string") }
            return s
        }
        func int(_ v: JSONValue, _ k: String) throws(EventDecodingError) -> Int64 {
            guard case .number(let n) = v, let i = n.int64Value else { throw EventDecodingError("\"\(k)\" is not an integer") }
            return i
        }
        func time(_ v: JSONValue, _ k: String) throws(EventDecodingError) -> Timestamp {
            guard let t = Timestamp(iso8601: try string(v, k)) else { throw EventDecodingError("\"\(k)\" is not a timestamp") }
            return t
        }
        // Canonical order is known: compare each key with the one expected next first.
        let expected = RecordedEvent.envelopeKeys
        var next = 0
        for m in o.members {
            if next < expected.count, expected[next] != m.key {
                while next < expected.count, JSONObject.keyPrecedes(expected[next], m.key) { next += 1 }
            }
            guard next < expected.count, expected[next] == m.key else {
                extra.append(m)
                continue
            }
            let k = m.key
            switch next {
            case 0: data = m.value
            case 1:
                guard let id = EventID(try string(m.value, k)) else { throw EventDecodingError("\"eventId\" is not a UUID") }
                eventId = id
            case 2:
                guard let bytes = Hex.decode(try string(m.value, k)), bytes.count == 32 else {
                    throw EventDecodingError("\"hash\" is not 64 hex digits")
                }
                hash = bytes
            case 3:
                guard case .object(let md) = m.value else { throw EventDecodingError("\"metadata\" is not an object") }
                metadata = md
            case 4: occurredAt = try time(m.value, k)
            case 5: position = try int(m.value, k)
            case 6: recordedAt = try time(m.value, k)
            case 7: schemaVersion = try int(m.value, k)
            case 8: stream = try string(m.value, k)
            case 9: streamVersion = try int(m.value, k)
            default: type = try string(m.value, k)
            }
            next += 1
        }
        func need<T>(_ v: T?, _ k: String) throws(EventDecodingError) -> T {
            guard let v else { throw EventDecodingError("missing \"\(k)\"") }
            return v
        }
        return RecordedEvent(
            position: try need(position, "position"), stream: try need(stream, "stream"),
            streamVersion: try need(streamVersion, "streamVersion"), eventId: try need(eventId, "eventId"),
            type: try need(type, "type"), schemaVersion: Int(try need(schemaVersion, "schemaVersion")),
            occurredAt: try need(occurredAt, "occurredAt"), recordedAt: try need(recordedAt, "recordedAt"),
            metadata: try need(metadata, "metadata"), data: try need(data, "data"),
            extra: JSONObject(sortedMembers: extra), hash: hash)
    }
}

/// Stored bytes that do not decode as an event.
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Lowercase hexadecimal.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<B: Sequence>(_ bytes: B) -> String where B.Element == UInt8 {
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
