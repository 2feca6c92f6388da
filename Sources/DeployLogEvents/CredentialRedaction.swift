/// Finds passwords in text, to strip them before anything reaches the log and to mask them in
/// what is shown.
///
/// Two forms are found, anywhere in a string:
/// - the `user:password@` of a URL (`postgres://app:s3cret@db/x`). For `postgres://` and
///   `postgresql://`, the credentials run, as libpq reads them, to the last `@` before the first
///   `/` (a `?` or `#` may be in a password), else to the last `@` before the query (a `/` left
///   unencoded in the password); for other schemes, to the last `@` of the authority (RFC 3986:
///   it ends at `/`, `?` or `#`). In free text a URL ends at whitespace or a quote.
/// - a `password=` pair: libpq conninfo (`password=s3cret`, `password = 'a b'`, after the start
///   or whitespace) or a URL query parameter (`?password=s3cret`, `&password=…`).
///
/// Either way a rule can only find more than the password, never less.
public enum CredentialRedaction {
    /// A password in a text, in UTF-8 offsets: `value` is the password as written (for
    /// masking), `removal` the part to cut to strip it (with its `:`, its `password=` key, or a
    /// separator).
    public struct Finding: Sendable, Equatable {
        public var value: Range<Int>
        public var removal: Range<Int>
    }

    /// Every string of `value` with its passwords stripped.
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
        case .string(let s): return s.utf8.count > 8 && (s.contains("://") || s.contains("password"))
        case .array, .object: return true
        default: return false
        }
    }

    /// The string with its passwords cut out: `postgres://app:s3cret@db/x` becomes
    /// `postgres://app@db/x`, `host=db password=s3cret dbname=x` becomes `host=db dbname=x`,
    /// `…/x?password=s3cret&sslmode=require` becomes `…/x?sslmode=require`. For the log.
    public static func redact(string s: String) -> String {
        guard s.contains("://") || s.contains("password") else { return s }
        let bytes = Array(s.utf8)
        let found = findings(in: bytes)
        guard !found.isEmpty else { return s }
        var out = bytes
        for f in found.reversed() { out.removeSubrange(f.removal) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The string with each password replaced by `***` (an empty one left empty). For messages.
    /// `wholeURL`: `s` is one URL, which runs to its end (in free text a URL ends at whitespace).
    public static func mask(string s: String, wholeURL: Bool = false) -> String {
        guard s.contains("://") || s.contains("password") else { return s }
        let bytes = Array(s.utf8)
        let found = findings(in: bytes, wholeURL: wholeURL).filter { !$0.value.isEmpty }
        guard !found.isEmpty else { return s }
        var out = bytes
        for f in found.reversed() { out.replaceSubrange(f.value, with: Array("***".utf8)) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The passwords of `s` as written (still percent-encoded or escaped).
    public static func passwords(in s: String, wholeURL: Bool = false) -> [String] {
        let bytes = Array(s.utf8)
        return findings(in: bytes, wholeURL: wholeURL).filter { !$0.value.isEmpty }.map {
            String(decoding: bytes[$0.value], as: UTF8.self)
        }
    }

    /// Every password in `b`, in order, overlapping ones merged.
    public static func findings(in b: [UInt8], wholeURL: Bool = false) -> [Finding] {
        var found = urlCredentials(in: b, wholeURL: wholeURL) + passwordPairs(in: b, wholeURL: wholeURL)
        guard found.count > 1 else { return found }
        found.sort { $0.removal.lowerBound < $1.removal.lowerBound }
        var merged = [found[0]]
        for f in found.dropFirst() {
            let last = merged[merged.count - 1]
            if f.removal.lowerBound < last.removal.upperBound || f.value.lowerBound < last.value.upperBound {
                merged[merged.count - 1] = Finding(
                    value: min(last.value.lowerBound, f.value.lowerBound)..<max(last.value.upperBound, f.value.upperBound),
                    removal: min(last.removal.lowerBound, f.removal.lowerBound)
                        ..< max(last.removal.upperBound, f.removal.upperBound))
            } else {
                merged.append(f)
            }
        }
        return merged
    }

    // MARK: The two forms

    private static let colon: UInt8 = 58, at: UInt8 = 64, slash: UInt8 = 47, question: UInt8 = 63
    private static let hash: UInt8 = 35, ampersand: UInt8 = 38, equals: UInt8 = 61, quote: UInt8 = 39
    private static let backslash: UInt8 = 92

    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || (9...13).contains(c) }

    /// Where a URL in free text ends: whitespace, a quote or an angle bracket.
    private static func endsURL(_ c: UInt8) -> Bool { isSpace(c) || c == 34 || c == quote || c == 96 || c == 60 || c == 62 }

    private static func urlCredentials(in b: [UInt8], wholeURL: Bool) -> [Finding] {
        var found: [Finding] = []
        var from = 0
        while let s = find(Array("://".utf8), in: b, from: from) {
            let start = s + 3
            var end = start
            if wholeURL { end = b.count } else { while end < b.count, !endsURL(b[end]) { end += 1 } }
            var k = s
            while k > 0, isSchemeByte(b[k - 1]) { k -= 1 }
            let scheme = String(decoding: b[k..<s], as: UTF8.self).lowercased()
            let credentialsEnd: Int?
            if scheme == "postgres" || scheme == "postgresql" {
                let firstSlash = b[start..<end].firstIndex(of: slash) ?? end
                let query = b[start..<end].firstIndex(of: question) ?? end
                credentialsEnd = b[start..<firstSlash].lastIndex(of: at) ?? b[start..<query].lastIndex(of: at)
            } else {
                let authority = b[start..<end].firstIndex { $0 == slash || $0 == question || $0 == hash } ?? end
                credentialsEnd = b[start..<authority].lastIndex(of: at)
            }
            if let credentialsEnd, let c = b[start..<credentialsEnd].firstIndex(of: colon) {
                found.append(Finding(value: (c + 1)..<credentialsEnd, removal: c..<credentialsEnd))
            }
            if wholeURL { break }
            from = max(end, start)
        }
        return found
    }

    private static func isSchemeByte(_ c: UInt8) -> Bool {
        (65...90).contains(c) || (97...122).contains(c) || (48...57).contains(c) || c == 43 || c == 45 || c == 46
    }

    /// `password=` pairs: conninfo (after the start or whitespace; spaces around `=`; a value
    /// bare up to whitespace or single-quoted, backslash escapes) or a URL query parameter
    /// (after `?` or `&`; up to `&`, `#` or the URL's end).
    private static func passwordPairs(in b: [UInt8], wholeURL: Bool) -> [Finding] {
        var found: [Finding] = []
        let key = Array("password".utf8)
        let n = b.count
        var from = 0
        while let p = find(key, in: b, from: from) {
            from = p + key.count
            let before: UInt8? = p > 0 ? b[p - 1] : nil
            let inQuery = before == question || before == ampersand
            guard before.map(isSpace) ?? true || inQuery else { continue }
            var q = p + key.count
            if !inQuery { while q < n, b[q] == 32 || b[q] == 9 { q += 1 } }
            guard q < n, b[q] == equals else { continue }
            q += 1
            if !inQuery { while q < n, b[q] == 32 || b[q] == 9 { q += 1 } }
            var value = q..<q
            var end = q
            if inQuery {
                while end < n, b[end] != ampersand, b[end] != hash, wholeURL || !endsURL(b[end]) { end += 1 }
                value = q..<end
            } else if q < n, b[q] == quote {
                var x = q + 1
                while x < n, b[x] != quote { x += b[x] == backslash ? 2 : 1 }
                x = min(x, n)
                value = (q + 1)..<x
                end = min(x + 1, n)
            } else {
                while end < n, !isSpace(b[end]) { end += b[end] == backslash ? 2 : 1 }
                end = min(end, n)
                value = q..<end
            }
            var removal = p..<end
            if inQuery {
                // `password=x&` from `?password=x&y=1`; `&password=x` or `?password=x` at the end.
                removal = end < n && b[end] == ampersand ? p..<(end + 1) : (p - 1)..<end
            } else {
                var after = end
                while after < n, isSpace(b[after]) { after += 1 }
                if after < n {
                    removal = p..<after
                } else {
                    var start = p
                    while start > 0, isSpace(b[start - 1]) { start -= 1 }
                    removal = start..<n
                }
            }
            found.append(Finding(value: value, removal: removal))
            from = max(end, from)
        }
        return found
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard needle.count <= hay.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i + needle.count <= hay.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
