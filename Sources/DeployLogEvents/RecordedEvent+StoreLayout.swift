extension RecordedEvent {
    /// The frame of the store-layout decoders (`decodeStoreLayout`, `decodeFoldFields`,
    /// `decodeIndexFields`): `body` parses `bytes` with the cache's parser stacks, given back
    /// afterwards; nil for empty bytes, or when `body` throws or returns nil (another layout).
    @inline(__always)
    static func parsingStoreLayout<T>(
        _ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache, _ body: (inout _JSONParserState, inout DecodeCache) throws -> T?
    ) -> T? {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        var stacks = cache.stacks ?? _ParserStacks(interning: cache.interning)
        cache.stacks = nil
        if !stacks.isUnique() { stacks = _ParserStacks(interning: cache.interning) }
        var st = _JSONParserState(base.assumingMemoryBound(to: UInt8.self), count: bytes.count, stacks: stacks)
        defer { cache.stacks = st.takeStacks() }
        do { return try body(&st, &cache) } catch { return nil }
    }

    /// Decodes canonical bytes laid out exactly as `writeCanonical` writes an event without
    /// extra fields — `{"data":…,"eventId":"…","metadata":{…},"occurredAt":"…","position":N,
    /// "recordedAt":"…","schemaVersion":N,"stream":"…","streamVersion":N,"type":"…"}` — reading
    /// the ids, times and numbers straight from the bytes. Returns nil for any other layout (the
    /// general decoder then decides), so it never accepts what that decoder would refuse.
    static func decodeStoreLayout(_ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache) -> RecordedEvent? {
        parsingStoreLayout(bytes, cache: &cache) { st, cache in
            guard st.take("{\"data\":") else { return nil }
            let data = try st.parseValue()
            guard st.take(",\"eventId\":"), let idBytes = st.quoted(36),
                let eventId = EventID.parse(UnsafeBufferPointer(start: idBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: 36)),
                st.take(",\"metadata\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "{"),
                case .object(let metadata) = try st.parseValue(),
                st.take(",\"occurredAt\":"), let occurredBytes = st.quoted(27),
                let occurredAt = Timestamp(canonicalBytes: occurredBytes),
                st.take(",\"position\":"), let position = st.integer(),
                st.take(",\"recordedAt\":"), let recordedBytes = st.quoted(27),
                let recordedAt = Timestamp(canonicalBytes: recordedBytes),
                st.take(",\"schemaVersion\":"), let schemaVersion = st.integer(), schemaVersion <= Int64(Int32.max),
                st.take(",\"stream\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "\""),
                case let stream = try st.parseString(reusing: &cache.stream),
                st.take(",\"streamVersion\":"), let streamVersion = st.integer(),
                st.take(",\"type\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "\""),
                case let type = try st.parseString(reusing: &cache.type),
                st.take("}"), st.i == st.end
            else { return nil }
            return RecordedEvent(
                position: position, stream: stream, streamVersion: streamVersion, eventId: eventId, type: type,
                schemaVersion: Int(schemaVersion), occurredAt: occurredAt, recordedAt: recordedAt, metadata: metadata,
                data: data)
        }
    }
}

extension RecordedEvent {
    /// The stream and type of the last event decoded: consecutive events often share them,
    /// and reusing the string saves an allocation per event.
    public struct DecodeCache: Sendable {
        var stream = ""
        var type = ""
        /// Event types seen (`decodeFoldFields`), so that each is allocated once.
        var types: [(name: String, code: UInt8)] = []
        /// The parser's stacks, reused from one event to the next.
        var stacks: _ParserStacks?
        /// Whether strings that come back from event to event are shared (costs a table of them).
        let interning: Bool
        public init() { interning = false }
        /// A cache for a long run of events: `interning` shares the strings that come back.
        package init(interning: Bool) { self.interning = interning }
    }
}

extension _JSONParserState {
    /// Parses the string at `p[i]`, returning `cached` itself when the bytes are the same (no
    /// escapes), else the new string, which becomes the cached one.
    mutating func parseString(reusing cached: inout String) throws(JSONParseError) -> String {
        let start = i + 1
        var j = start
        while j < end, p[j] != UInt8(ascii: "\""), p[j] != UInt8(ascii: "\\") { j += 1 }
        if j < end, p[j] == UInt8(ascii: "\""), _utf8Equal(cached, UnsafeBufferPointer(start: p + start, count: j - start)) {
            i = j + 1
            return cached
        }
        cached = try parseString()
        return cached
    }

    /// Consumes `literal` if the input continues with it.
    mutating func take(_ literal: StaticString) -> Bool {
        guard matches(literal) else { return false }
        i += literal.utf8CodeUnitCount
        return true
    }

    /// Consumes a string of exactly `count` bytes with no escapes; returns its contents.
    mutating func quoted(_ count: Int) -> UnsafeRawBufferPointer? {
        guard i + count + 2 <= end, p[i] == UInt8(ascii: "\""), p[i + count + 1] == UInt8(ascii: "\"") else { return nil }
        for k in (i + 1)..<(i + count + 1) where p[k] == UInt8(ascii: "\\") { return nil }
        let inner = UnsafeRawBufferPointer(start: p + i + 1, count: count)
        i += count + 2
        return inner
    }

    /// Consumes a canonical integer that fits an Int64 (`-?(0|[1-9][0-9]*)`, no `-0`).
    mutating func integer() -> Int64? {
        var j = i
        let negative = j < end && p[j] == UInt8(ascii: "-")
        if negative { j += 1 }
        let first = j
        var v: Int64 = 0
        while j < end, p[j] >= 48, p[j] <= 57 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(p[j] - 48))
            guard !o1, !o2 else { return nil }
            v = a
            j += 1
        }
        guard j > first, !(p[first] == 48 && j - first > 1), !(negative && v == 0) else { return nil }
        // A fraction or exponent is not an integer: leave it to the general decoder.
        if j < end, p[j] == UInt8(ascii: ".") || p[j] == UInt8(ascii: "e") || p[j] == UInt8(ascii: "E") { return nil }
        i = j
        return negative ? -v : v
    }
}
