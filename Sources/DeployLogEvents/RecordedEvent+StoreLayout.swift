extension RecordedEvent {
    /// The frame of the store-layout decoders (`decodeStoreLayout`, `decodeFoldFields`,
    /// `decodeIndexFields`): `body` parses `bytes` with the cache's parser stacks, given back
    /// afterwards; nil for empty bytes, or when `body` throws or returns nil (another layout).
    /// `packed`: the bytes are the store's packed form (`_PackedForm`), not JSON text.
    @inline(__always)
    static func parsingStoreLayout<T>(
        _ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache, packed: Bool = false,
        _ body: (inout _JSONParserState, inout DecodeCache) throws -> T?
    ) -> T? {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        var stacks = cache.stacks ?? _ParserStacks(interning: cache.interning)
        cache.stacks = nil
        if !stacks.isUnique() { stacks = _ParserStacks(interning: cache.interning) }
        var st = _JSONParserState(
            base.assumingMemoryBound(to: UInt8.self), count: bytes.count, stacks: stacks, packed: packed)
        defer { cache.stacks = st.takeStacks() }
        do { return try body(&st, &cache) } catch { return nil }
    }

    /// Decodes canonical bytes laid out exactly as `writeCanonical` writes an event without
    /// extra fields — `{"data":…,"eventId":"…","metadata":{…},"occurredAt":"…","position":N,
    /// "recordedAt":"…","schemaVersion":N,"stream":"…","streamVersion":N,"type":"…"}` — reading
    /// the ids, times and numbers straight from the bytes. Returns nil for any other layout (the
    /// general decoder then decides), so it never accepts what that decoder would refuse.
    static func decodeStoreLayout(_ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache) -> RecordedEvent? {
        decodeEnvelope(bytes, cache: &cache, packed: false)
    }

    /// The store layout's envelope, of canonical text or (`packed`) of the store's packed form,
    /// where the id and the two times come as markers (`envelopeEventID`, `envelopeTimestamp`).
    @inline(__always)
    private static func decodeEnvelope(_ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache, packed: Bool)
        -> RecordedEvent?
    {
        parsingStoreLayout(bytes, cache: &cache, packed: packed) { st, cache in
            guard st.take("{\"data\":") else { return nil }
            let data = try st.parseValue()
            guard st.take(",\"eventId\":"), let eventId = st.envelopeEventID(),
                st.take(",\"metadata\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "{"),
                let metadata = try st.parseObject(reusing: &cache.metadata, interning: cache.interning),
                st.take(",\"occurredAt\":"), let occurredAt = st.envelopeTimestamp(),
                st.take(",\"position\":"), let position = st.integer(),
                st.take(",\"recordedAt\":"), let recordedAt = st.envelopeTimestamp(),
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
    /// `decodeStoreLayout` of an event's packed form (`EventPacking` in DeployLogStore, which
    /// the stores keep), read as it is rather than first written back as canonical text and
    /// parsed again: the id and the two times come as their binary values, and ids, times and
    /// hex in `data` and `metadata` as markers at a value's place (`_PackedForm`), each made
    /// into the string its text would have given.
    ///
    /// Returns nil for anything else, without deciding: another layout, a marker anywhere but
    /// at a string value's place (a key, or inside a string after an escaped quote), a time
    /// the canonical text cannot hold, broken bytes. The caller then unpacks and decodes the
    /// canonical bytes, so what it accepts, and every error, is exactly as before; where this
    /// returns an event it is the one that way gives (`PackedDecodingTests`).
    package static func decodePackedStoreLayout(_ packed: UnsafeRawBufferPointer, cache: inout DecodeCache)
        -> RecordedEvent?
    {
        decodeEnvelope(packed, cache: &cache, packed: true)
    }
}

/// The markers of the store's packed form of canonical bytes (`EventPacking` in DeployLogStore,
/// which defines the form; `PackedDecodingTests` checks that the two agree). Each replaces a
/// whole quoted string, quotes included:
///
/// | marker | then                | stands for                                       |
/// | ------ | ------------------- | ------------------------------------------------ |
/// | `0xFF` | 16 bytes            | a lowercase UUID `8-4-4-4-12`                    |
/// | `0xFE` | Int64 µs big-endian | a time in canonical text (`Timestamp.write`)     |
/// | `0xFD` | n, then n bytes     | 2n lowercase hex digits (n ≥ 8)                  |
enum _PackedForm {
    static let uuidMarker: UInt8 = 0xFF
    static let timeMarker: UInt8 = 0xFE
    static let hexMarker: UInt8 = 0xFD

    /// The times whose canonical text (`Timestamp.write`) parses back to the same value: years
    /// 0000 to 9999. Outside them the text is not a faithful one (four digits of the year),
    /// so such a marker is left to the unpacking path, which does whatever it does.
    static let firstTime = Timestamp.daysFromCivil(0, 1, 1) * 86_400_000_000
    static let lastTime = (Timestamp.daysFromCivil(9999, 12, 31) + 1) * 86_400_000_000 - 1
}

extension _JSONParserState {
    /// The envelope's event id: quoted canonical text, or in the packed form its marker.
    @inline(__always)
    mutating func envelopeEventID() -> EventID? {
        if packed { return packedEventID() }
        guard let idBytes = quoted(36) else { return nil }
        return EventID.parse(UnsafeBufferPointer(start: idBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: 36))
    }

    /// One of the envelope's times: quoted canonical text, or in the packed form its marker.
    @inline(__always)
    mutating func envelopeTimestamp() -> Timestamp? {
        if packed { return packedTimestamp() }
        guard let bytes = quoted(27) else { return nil }
        return Timestamp(canonicalBytes: bytes)
    }

    /// Consumes a UUID marker (`_PackedForm`) and returns its id; nil (nothing consumed) for
    /// anything else.
    @inline(__always)
    mutating func packedEventID() -> EventID? {
        guard i + 17 <= end, p[i] == _PackedForm.uuidMarker else { return nil }
        let raw = UnsafeRawPointer(p + i + 1)
        let id = EventID(
            high: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
            low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        i += 17
        return id
    }

    /// Consumes a time marker (`_PackedForm`) whose canonical text is faithful and returns its
    /// time; nil (nothing consumed) for anything else.
    @inline(__always)
    mutating func packedTimestamp() -> Timestamp? {
        guard i + 9 <= end, p[i] == _PackedForm.timeMarker else { return nil }
        let v = Int64(bitPattern: UInt64(bigEndian: UnsafeRawPointer(p + i + 1).loadUnaligned(as: UInt64.self)))
        guard v >= _PackedForm.firstTime, v <= _PackedForm.lastTime else { return nil }
        i += 9
        return Timestamp(microsecondsSinceEpoch: v)
    }

    /// The string that the marker at `p[i]` stands for (see `_PackedForm`): its text, as
    /// `parseString` would give it for the same text. In a long read (`strings`) an id or a
    /// time that comes back is found by its binary value, not written out and hashed again.
    /// Throws for a truncated marker, a hex run shorter than the form allows, or a time
    /// without a faithful text: the caller then leaves the event to the unpacking path.
    mutating func parsePackedString() throws(JSONParseError) -> String {
        let at = i
        switch p[at] {
        case _PackedForm.uuidMarker:
            guard at + 17 <= end else { throw error("truncated marker", at: at) }
            let raw = UnsafeRawPointer(p + at + 1)
            i = at + 17
            @inline(__always) func text() -> String {
                Self.asciiString(36) { out in
                    var o = 0
                    for k in 0..<16 {
                        if k == 4 || k == 6 || k == 8 || k == 10 {
                            out[o] = 45
                            o += 1
                        }
                        Self.putHex(raw.load(fromByteOffset: k, as: UInt8.self), out + o)
                        o += 2
                    }
                }
            }
            guard let strings else { return text() }
            let key = _StringInterner.Key(
                w0: raw.loadUnaligned(as: UInt64.self), w1: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                tag: 256 + Int(_PackedForm.uuidMarker))
            return strings.string(key, text)
        case _PackedForm.timeMarker:
            guard at + 9 <= end else { throw error("truncated marker", at: at) }
            let v = Int64(bitPattern: UInt64(bigEndian: UnsafeRawPointer(p + at + 1).loadUnaligned(as: UInt64.self)))
            guard v >= _PackedForm.firstTime, v <= _PackedForm.lastTime else {
                throw error("a time without a faithful text", at: at)
            }
            i = at + 9
            @inline(__always) func text() -> String {
                Self.asciiString(27) { Timestamp(microsecondsSinceEpoch: v).write(to: $0) }
            }
            guard let strings else { return text() }
            return strings.string(
                _StringInterner.Key(w0: UInt64(bitPattern: v), w1: 0, tag: 256 + Int(_PackedForm.timeMarker)), text)
        case _PackedForm.hexMarker:
            guard at + 2 <= end, p[at + 1] >= 8, at + 2 + Int(p[at + 1]) <= end else {
                throw error("truncated marker", at: at)
            }
            let n = Int(p[at + 1])
            let source = p + at + 2
            i = at + 2 + n
            let text = 2 * n
            if text > _StringInterner.maxLength || strings == nil {
                return Self.asciiString(text) { out in for k in 0..<n { Self.putHex(source[k], out + 2 * k) } }
            }
            // Interned as `parseString` interns the text: by a hash of it.
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: _StringInterner.maxLength) { buffer in
                let out = buffer.baseAddress!
                for k in 0..<n { Self.putHex(source[k], out + 2 * k) }
                return strings!.string(out, count: text)
            }
        default:
            throw error("not a marker", at: at)
        }
    }

    /// Writes the two lowercase hex digits of `b` at `out`.
    @inline(__always)
    static func putHex(_ b: UInt8, _ out: UnsafeMutablePointer<UInt8>) {
        @inline(__always) func digit(_ v: UInt8) -> UInt8 { v < 10 ? 48 &+ v : 87 &+ v }
        out[0] = digit(b &>> 4)
        out[1] = digit(b & 0x0F)
    }

    /// A string of `count` ASCII bytes that `write` writes.
    @inline(__always)
    static func asciiString(_ count: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Void) -> String {
        String(unsafeUninitializedCapacity: count) { buffer in
            write(buffer.baseAddress!)
            return count
        }
    }
}

extension RecordedEvent {
    /// The stream and type of the last event decoded: consecutive events often share them,
    /// and reusing the string saves an allocation per event.
    public struct DecodeCache: Sendable {
        var stream = ""
        var type = ""
        /// The last metadata object parsed and its bytes (long reads): the events of one
        /// pipeline, next to each other in the log, carry the same metadata.
        var metadata = ReusedObject()
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

/// An object kept with the bytes it was parsed from (`parseObject(reusing:)`).
struct ReusedObject: Sendable {
    var bytes: [UInt8] = []
    var value = JSONObject()
}

extension _JSONParserState {
    /// Parses the object at `p[i]` (nil when the value there is not an object). With
    /// `interning`, when the input continues with exactly the bytes `cached` was parsed from,
    /// returns `cached` itself without parsing them again: the same bytes give the same value
    /// (an object's text ends with its closing brace, so no longer value starts with it), and
    /// they parsed without error before. Otherwise the parsed object becomes the cached one.
    mutating func parseObject(reusing cached: inout ReusedObject, interning: Bool) throws(JSONParseError)
        -> JSONObject?
    {
        let start = i
        let n = cached.bytes.count
        if interning, n > 0, end - start >= n,
            cached.bytes.withUnsafeBytes({ Self.equalBytes(UnsafeRawPointer(p + start), $0.baseAddress!, n) })
        {
            i = start + n
            return cached.value
        }
        guard case .object(let object) = try parseValue() else { return nil }
        if interning {
            cached.bytes.removeAll(keepingCapacity: true)
            cached.bytes.append(contentsOf: UnsafeBufferPointer(start: p + start, count: i - start))
            cached.value = object
        }
        return object
    }

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
