/// What a store's index keeps of an event: its position, stream, stream version, id, type and
/// `occurredAt`. The rest of the envelope (data, metadata, `recordedAt`, schema version) is
/// checked as the full decoder checks it, but not built.
package struct IndexFields: Sendable {
    package var position: Int64
    package var stream: String
    package var streamVersion: Int64
    package var eventId: EventID
    package var type: String
    package var occurredAt: Timestamp
}

extension RecordedEvent {
    /// The index fields of canonical bytes laid out as `decodeStoreLayout` expects (the store's
    /// own events); nil for any other layout, or data or metadata not in canonical form (the
    /// caller then decodes the whole event). Accepts exactly what `decodeStoreLayout` accepts,
    /// as `decodeFoldFields` does.
    package static func decodeIndexFields(_ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache) -> IndexFields? {
        parsingStoreLayout(bytes, cache: &cache) { st, cache in
            guard st.take("{\"data\":"), try st.skipCanonicalValue(),
                st.take(",\"eventId\":"), let idBytes = st.quoted(36),
                let eventId = EventID.parse(UnsafeBufferPointer(start: idBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: 36)),
                st.take(",\"metadata\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "{"),
                try st.skipCanonicalValue(),
                st.take(",\"occurredAt\":"), let occurredBytes = st.quoted(27),
                let occurredAt = Timestamp(canonicalBytes: occurredBytes),
                st.take(",\"position\":"), let position = st.integer(),
                st.take(",\"recordedAt\":"), let recordedBytes = st.quoted(27),
                Timestamp(canonicalBytes: recordedBytes) != nil,
                st.take(",\"schemaVersion\":"), let schemaVersion = st.integer(), schemaVersion <= Int64(Int32.max),
                st.take(",\"stream\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "\""),
                case let stream = try st.parseString(reusing: &cache.stream),
                st.take(",\"streamVersion\":"), let streamVersion = st.integer(),
                st.take(",\"type\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "\""),
                case let type = try st.parseString(reusing: &cache.type),
                st.take("}"), st.i == st.end
            else { return nil }
            return IndexFields(
                position: position, stream: stream, streamVersion: streamVersion, eventId: eventId, type: type, occurredAt: occurredAt)
        }
    }
}

extension IndexFields {
    /// The index fields of a decoded event.
    package init(_ e: RecordedEvent) {
        self.init(
            position: e.position, stream: e.stream, streamVersion: e.streamVersion, eventId: e.eventId, type: e.type,
            occurredAt: e.occurredAt)
    }
}
