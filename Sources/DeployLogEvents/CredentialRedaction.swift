/// Removes passwords from URLs before anything reaches the log.
///
/// Any string value that looks like `scheme://user:password@host…` loses its `:password`
/// (`postgres://app:s3cret@db/x` becomes `postgres://app@db/x`); a libpq key/value
/// `password=…` is removed the same way. Applied to every string in an event's data and metadata.
public enum CredentialRedaction {
    public static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(redact(string: s))
        case .array(let a): return .array(a.map(redact))
        case .object(let o): return .object(redact(o))
        default: return value
        }
    }

    public static func redact(_ object: JSONObject) -> JSONObject {
        var needs = false
        for m in object where mayHoldSecret(m.value) { needs = true; break }
        guard needs else { return object }
        return JSONObject(sortedMembers: object.members.map { .init(key: $0.key, value: redact($0.value)) })
    }

    private static func mayHoldSecret(_ v: JSONValue) -> Bool {
        switch v {
        case .string(let s): return s.utf8.count > 8 && (s.contains("://") || s.contains("password="))
        case .array, .object: return true
        default: return false
        }
    }

    /// The string with any URL password (and libpq `password=` parameter) removed.
    public static func redact(string s: String) -> String {
        var out = s
        if out.contains("://") { out = stripURLPasswords(out) }
        if out.contains("password=") { out = stripKeywordPasswords(out) }
        return out
    }

    private static func stripURLPasswords(_ s: String) -> String {
        var bytes = Array(s.utf8)
        var searchFrom = 0
        while let schemeEnd = find(Array("://".utf8), in: bytes, from: searchFrom) {
            let authStart = schemeEnd + 3
            var end = authStart
            while end < bytes.count, !"/?#".utf8.contains(bytes[end]), bytes[end] != 32 { end += 1 }
            // userinfo ends at the last '@' of the authority.
            if let at = bytes[authStart..<end].lastIndex(of: 64),
                let colon = bytes[authStart..<at].firstIndex(of: 58)
            {
                bytes.removeSubrange(colon..<at)
                searchFrom = colon
            } else {
                searchFrom = end
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func stripKeywordPasswords(_ s: String) -> String {
        // libpq conninfo: space-separated key=value pairs; the value may be single-quoted.
        var bytes = Array(s.utf8)
        let key = Array("password=".utf8)
        var from = 0
        while let at = find(key, in: bytes, from: from) {
            guard at == 0 || bytes[at - 1] == 32 else { from = at + key.count; continue }
            var end = at + key.count
            if end < bytes.count, bytes[end] == 39 {
                end += 1
                while end < bytes.count, bytes[end] != 39 { end += bytes[end] == 92 ? 2 : 1 }
                end = min(end + 1, bytes.count)
            } else {
                while end < bytes.count, bytes[end] != 32 { end += 1 }
            }
            var start = at
            if start > 0, end >= bytes.count { start -= 1 } else if end < bytes.count { end += 1 }
            bytes.removeSubrange(start..<end)
            from = start
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard needle.count <= hay.count else { return nil }
        var i = from
        while i + needle.count <= hay.count {
            if hay[i] == needle[0], Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
