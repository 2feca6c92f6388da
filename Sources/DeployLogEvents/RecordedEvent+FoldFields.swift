/// What a fold reads of a stored event: its position, type, schema version, `occurredAt` and
/// `data`. The rest of the envelope (id, metadata, `recordedAt`, stream) is checked as the full
/// decoder checks it, but not built.
package struct FoldFields: Sendable {
    package var position: Int64
    package var type: String
    /// What the reader's classifier said of `type` (computed once per type and decoding thread).
    package var typeCode: UInt8
    package var schemaVersion: Int
    package var occurredAt: Timestamp
    package var data: JSONValue

    package init(position: Int64, type: String, typeCode: UInt8, schemaVersion: Int, occurredAt: Timestamp, data: JSONValue) {
        self.position = position
        self.type = type
        self.typeCode = typeCode
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.data = data
    }
}

extension RecordedEvent {
    /// The fold fields of any canonical event: `decodeFoldFields` for the store's own layout,
    /// else the general decoder (extra envelope fields, non-canonical metadata).
    package static func foldFields(
        canonical bytes: UnsafeRawBufferPointer, cache: inout DecodeCache, classify: (String) -> UInt8
    ) throws -> FoldFields {
        if let fast = decodeFoldFields(bytes, cache: &cache, classify: classify) { return fast }
        let e = try decode(canonical: bytes, cache: &cache)
        return FoldFields(
            position: e.position, type: e.type, typeCode: classify(e.type), schemaVersion: e.schemaVersion,
            occurredAt: e.occurredAt, data: e.data)
    }

    /// The fold fields of canonical bytes laid out as `decodeStoreLayout` expects (the store's
    /// own events); nil for any other layout, or metadata that is not in canonical form (the
    /// caller then decodes the whole event). Accepts exactly what `decodeStoreLayout` accepts.
    /// `classify` gives the `typeCode` of a type the first time this cache sees it.
    package static func decodeFoldFields(
        _ bytes: UnsafeRawBufferPointer, cache: inout DecodeCache, classify: (String) -> UInt8
    ) -> FoldFields? {
        parsingStoreLayout(bytes, cache: &cache) { st, cache in
            guard st.take("{\"data\":") else { return nil }
            let data = try st.parseValue()
            guard st.take(",\"eventId\":"), let idBytes = st.quoted(36),
                EventID.parse(UnsafeBufferPointer(start: idBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: 36))
                    != nil,
                st.take(",\"metadata\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "{"),
                try st.skipCanonicalValue(),
                st.take(",\"occurredAt\":"), let occurredBytes = st.quoted(27),
                let occurredAt = Timestamp(canonicalBytes: occurredBytes),
                st.take(",\"position\":"), let position = st.integer(),
                st.take(",\"recordedAt\":"), let recordedBytes = st.quoted(27),
                Timestamp(canonicalBytes: recordedBytes) != nil,
                st.take(",\"schemaVersion\":"), let schemaVersion = st.integer(), schemaVersion <= Int64(Int32.max),
                st.take(",\"stream\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "\""),
                try st.skipCanonicalValue(),
                st.take(",\"streamVersion\":"), st.integer() != nil,
                st.take(",\"type\":"), st.i < st.end, st.p[st.i] == UInt8(ascii: "\""),
                case let (type, typeCode) = try st.parseString(interningIn: &cache.types, classify: classify),
                st.take("}"), st.i == st.end
            else { return nil }
            return FoldFields(
                position: position, type: type, typeCode: typeCode, schemaVersion: Int(schemaVersion), occurredAt: occurredAt, data: data)
        }
    }
}

extension _JSONParserState {
    /// Parses the string at `p[i]`, returning the equal string of `table` and its code when
    /// there is one (no escapes), else the new string and its code, added to the table (up to 64).
    mutating func parseString(
        interningIn table: inout [(name: String, code: UInt8)], classify: (String) -> UInt8
    ) throws(JSONParseError) -> (String, UInt8) {
        let start = i + 1
        var j = start
        while j < end, p[j] != UInt8(ascii: "\""), p[j] != UInt8(ascii: "\\") { j += 1 }
        if j < end, p[j] == UInt8(ascii: "\"") {
            let bytes = UnsafeBufferPointer(start: p + start, count: j - start)
            for t in table where _utf8Equal(t.name, bytes) {
                i = j + 1
                return t
            }
        }
        let s = try parseString()
        let code = classify(s)
        if table.count < 64 { table.append((s, code)) }
        return (s, code)
    }

    /// Checks the value at `p[i]` as `parseValue` would and moves past it, building nothing.
    /// Returns false (position unspecified) for an object whose keys are escaped or not in
    /// strictly ascending order: valid JSON perhaps, but not canonical, and the full parser must
    /// decide (it sorts, and refuses duplicates).
    mutating func skipCanonicalValue() throws(JSONParseError) -> Bool {
        guard i < end else { throw error("expected a JSON value, found end of input", at: i) }
        switch p[i] {
        case UInt8(ascii: "\""):
            try skipString()
            return true
        case UInt8(ascii: "{"):
            return try skipCanonicalObject()
        case UInt8(ascii: "["):
            try enter()
            i += 1
            skipWhitespace()
            if i < end && p[i] == UInt8(ascii: "]") {
                i += 1
                depth -= 1
                return true
            }
            while true {
                guard try skipCanonicalValue() else { return false }
                skipWhitespace()
                guard i < end else { throw expected("',' or ']' after array element") }
                let c = p[i]
                i += 1
                if c == UInt8(ascii: ",") {
                    skipWhitespace()
                    continue
                }
                if c == UInt8(ascii: "]") { break }
                i -= 1
                throw expected("',' or ']' after array element")
            }
            depth -= 1
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = i
            switch JSONNumber.scanLiteral(p, from: start, end: end) {
            case .failure(let e):
                throw error(e.message, at: e.offset)
            case .success(let scan):
                i = scan.end
                // Only a non-integer can be out of range (and costs a conversion to check).
                if !scan.isInteger,
                    JSONNumber.fromScannedLiteral(p + start, count: scan.end - start, isInteger: false) == nil
                {
                    throw error("number is too large for a double", at: start)
                }
                return true
            }
        default:
            // Literals, and the errors: as the full parser.
            _ = try parseValue()
            return true
        }
    }

    /// `skipCanonicalValue` for the object at `p[i]`.
    private mutating func skipCanonicalObject() throws(JSONParseError) -> Bool {
        try enter()
        i += 1
        skipWhitespace()
        if i < end && p[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return true
        }
        var previousKey = 0
        var previousLength = -1
        while true {
            guard i < end && p[i] == UInt8(ascii: "\"") else { throw expected("a string key in object") }
            let keyOffset = i
            try skipString()
            let length = i - keyOffset - 2
            // An escaped key: let the full parser decide its order.
            for k in (keyOffset + 1)..<(keyOffset + 1 + length) where p[k] == UInt8(ascii: "\\") { return false }
            if previousLength >= 0, compareInput(previousKey, previousLength, keyOffset + 1, length) >= 0 {
                return false
            }
            previousKey = keyOffset + 1
            previousLength = length
            skipWhitespace()
            guard i < end && p[i] == UInt8(ascii: ":") else { throw expected("':' after object key") }
            i += 1
            skipWhitespace()
            guard try skipCanonicalValue() else { return false }
            skipWhitespace()
            guard i < end else { throw expected("',' or '}' after object member") }
            let c = p[i]
            i += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "}") { break }
            i -= 1
            throw expected("',' or '}' after object member")
        }
        depth -= 1
        return true
    }

    /// Checks the string at `p[i]` as `parseString` would and moves past it.
    mutating func skipString() throws(JSONParseError) {
        let start = i + 1
        let (j, escaped) = try scanString(from: start)
        if escaped {
            // Rare: the full check of the escapes, into the scratch buffer.
            _ = try parseEscapedString(start: start, escapeAt: j)
            return
        }
        i = j + 1
    }
}
