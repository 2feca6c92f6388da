/// An event as a producer appends it: no position, stream version, recorded time or hash yet.
public struct ProposedEvent: Sendable, Hashable {
    public var stream: String
    public var type: String
    public var data: JSONValue
    public var eventId: EventID
    /// When it happened; `nil` means "now" by the store's clock.
    public var occurredAt: Timestamp?
    public var expectedVersion: ExpectedVersion
    public var metadata: JSONObject
    public var schemaVersion: Int
    /// Unknown top-level fields the producer sent, kept as they were.
    public var extra: JSONObject

    public init(
        stream: String, type: String, data: JSONValue, eventId: EventID = .random(),
        occurredAt: Timestamp? = nil, expectedVersion: ExpectedVersion = .any,
        metadata: JSONObject = JSONObject(), schemaVersion: Int = 1, extra: JSONObject = JSONObject()
    ) {
        self.stream = stream
        self.type = type
        self.data = data
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.expectedVersion = expectedVersion
        self.metadata = metadata
        self.schemaVersion = schemaVersion
        self.extra = extra
    }

    /// Fields a producer may not set: the store assigns them.
    public static let storeAssignedFields: Set<String> = ["position", "streamVersion", "recordedAt", "hash"]

    /// Reads the append envelope of EVENTS.md: `stream`, `type`, `data` required; `eventId`,
    /// `occurredAt`, `expectedVersion`, `metadata`, `schemaVersion` optional; any other field is
    /// kept as it is. Passwords in URLs are removed from `data` and `metadata`.
    /// `defaultEventId` is used when the envelope has none.
    public init(envelope value: JSONValue, defaultEventId: @autoclosure () -> EventID = .random()) throws(EnvelopeError) {
        guard case .object(var o) = value else {
            throw EnvelopeError(.notAnObject, field: nil, "expected a JSON object, found \(value.typeName)")
        }
        func requiredString(_ key: String) throws(EnvelopeError) -> String {
            guard let v = o.removeValue(forKey: key) else {
                throw EnvelopeError(.missingField, field: key, "missing required field \"\(key)\"")
            }
            guard case .string(let s) = v else {
                throw EnvelopeError(.wrongType, field: key, "field \"\(key)\" must be a string, found \(v.typeName)")
            }
            return s
        }
        let stream = try requiredString("stream")
        try ProposedEvent.checkName(stream, field: "stream")
        let type = try requiredString("type")
        try ProposedEvent.checkName(type, field: "type")
        guard let data = o.removeValue(forKey: "data") else {
            throw EnvelopeError(.missingField, field: "data", "missing required field \"data\"")
        }
        guard case .object = data else {
            throw EnvelopeError(.wrongType, field: "data", "field \"data\" must be an object, found \(data.typeName)")
        }

        var eventId: EventID? = nil
        if let v = o.removeValue(forKey: "eventId"), !v.isNull {
            guard case .string(let s) = v, let id = EventID(s) else {
                throw EnvelopeError(.invalidValue, field: "eventId", "field \"eventId\" must be a UUID string")
            }
            eventId = id
        }
        var occurredAt: Timestamp? = nil
        if let v = o.removeValue(forKey: "occurredAt"), !v.isNull {
            guard case .string(let s) = v, let t = Timestamp(iso8601: s) else {
                throw EnvelopeError(
                    .invalidValue, field: "occurredAt",
                    "field \"occurredAt\" must be an RFC 3339 time such as 2026-11-20T10:15:02.120Z (at most microsecond precision)")
            }
            occurredAt = t
        }
        var expected = ExpectedVersion.any
        if let v = o.removeValue(forKey: "expectedVersion"), !v.isNull {
            guard case .number(let n) = v, let i = n.int64Value, i >= -1 else {
                throw EnvelopeError(.invalidValue, field: "expectedVersion", "field \"expectedVersion\" must be an integer >= -1")
            }
            expected = ExpectedVersion(wire: i)
        }
        var metadata = JSONObject()
        if let v = o.removeValue(forKey: "metadata"), !v.isNull {
            guard case .object(let m) = v else {
                throw EnvelopeError(.wrongType, field: "metadata", "field \"metadata\" must be an object, found \(v.typeName)")
            }
            for key in ["actor", "correlationId", "causationId", "source"] {
                if let mv = m[key], !mv.isNull, mv.stringValue == nil {
                    throw EnvelopeError(.wrongType, field: "metadata.\(key)", "field \"metadata.\(key)\" must be a string, found \(mv.typeName)")
                }
            }
            metadata = m
        }
        var schemaVersion = 1
        if let v = o.removeValue(forKey: "schemaVersion"), !v.isNull {
            guard case .number(let n) = v, let i = n.int64Value, i >= 1, i <= Int64(Int32.max) else {
                throw EnvelopeError(.invalidValue, field: "schemaVersion", "field \"schemaVersion\" must be an integer >= 1")
            }
            schemaVersion = Int(i)
        }
        for key in o.keys where ProposedEvent.storeAssignedFields.contains(key) {
            throw EnvelopeError(
                .reservedField, field: key,
                "field \"\(key)\" is assigned by the store and cannot be appended (use `deploylog copy` to move a whole log)")
        }
        self.init(
            stream: stream, type: type, data: CredentialRedaction.redact(data), eventId: eventId ?? defaultEventId(),
            occurredAt: occurredAt, expectedVersion: expected,
            metadata: CredentialRedaction.redact(metadata), schemaVersion: schemaVersion, extra: o)
    }

    static func checkName(_ s: String, field: String) throws(EnvelopeError) {
        guard !s.isEmpty else { throw EnvelopeError(.invalidValue, field: field, "field \"\(field)\" must not be empty") }
        guard s.utf8.count <= 512 else {
            throw EnvelopeError(.invalidValue, field: field, "field \"\(field)\" is longer than 512 bytes")
        }
        if s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw EnvelopeError(.invalidValue, field: field, "field \"\(field)\" contains a control character")
        }
    }

    /// The stream's category: the part before its first `-` (the whole name when there is none).
    public var category: String { ProposedEvent.category(of: stream) }

    public static func category(of stream: String) -> String {
        if let i = stream.utf8.firstIndex(of: 45) { return String(stream[..<i]) }
        return stream
    }
}
