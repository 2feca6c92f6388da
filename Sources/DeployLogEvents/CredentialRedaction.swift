/// Finds passwords in text, to strip them before anything reaches the log and to mask them in
/// what is shown.
///
/// Three forms are found:
/// - the `user:password@` of a URL (`postgres://app:s3cret@db/x`), anywhere in a string. For
///   `postgres://` and `postgresql://`, the credentials run, as libpq reads them, to the last
///   `@` before the first `/` (a `?` or `#` may be in a password), else to the last `@` before
///   the query (a `/` left unencoded in the password); for other schemes, to the last `@` of
///   the authority (RFC 3986: it ends at `/`, `?` or `#`). In free text a URL ends at
///   whitespace or a quote.
/// - a URL's `password` or `sslpassword` query parameter (`?password=s3cret`, `&sslpassword=…`),
///   its name percent-decoded first, as libpq decodes it (`pass%77ord`).
/// - a `password=` or `sslpassword=` pair of libpq conninfo (`host=db password = 'a b'`). For
///   the log, only in a string that is conninfo through and through (key=value pairs and
///   nothing else): elsewhere — a migration's SQL (`SET password = NULL`), a sentence — the
///   words are someone's text, and rewriting it would change what it says (SQL that a rollback
///   later runs). For display (`mask`), anywhere after whitespace: a message is only read.
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
        let found = findings(in: bytes, pairs: .onlyInConninfo)
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
        let found = findings(in: bytes, wholeURL: wholeURL, pairs: .anywhere).filter { !$0.value.isEmpty }
        guard !found.isEmpty else { return s }
        var out = bytes
        for f in found.reversed() { out.replaceSubrange(f.value, with: Array("***".utf8)) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The passwords of `s` as written (still percent-encoded or escaped).
    public static func passwords(in s: String, wholeURL: Bool = false) -> [String] {
        let bytes = Array(s.utf8)
        return findings(in: bytes, wholeURL: wholeURL, pairs: .anywhere).filter { !$0.value.isEmpty }.map {
            String(decoding: bytes[$0.value], as: UTF8.self)
        }
    }

    /// Where conninfo `password=` pairs are looked for.
    public enum Pairs: Sendable {
        /// Only when the whole text is conninfo (the log: nobody's SQL or prose is rewritten).
        case onlyInConninfo
        /// After the start or any whitespace (messages, and strings meant as conninfo).
        case anywhere
    }

    /// Every password in `b`, in order, overlapping ones merged.
    public static func findings(in b: [UInt8], wholeURL: Bool = false, pairs: Pairs) -> [Finding] {
        var found = urlCredentials(in: b, wholeURL: wholeURL)
        if pairs == .anywhere || isConninfo(b) { found += conninfoPairs(in: b) }
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

    // MARK: The forms

    private static let colon: UInt8 = 58, at: UInt8 = 64, slash: UInt8 = 47, question: UInt8 = 63
    private static let hash: UInt8 = 35, ampersand: UInt8 = 38, equals: UInt8 = 61, quote: UInt8 = 39
    private static let backslash: UInt8 = 92, percent: UInt8 = 37

    /// The keys that hold a password, in conninfo and as URL query parameters.
    private static let secretKeys: Set<[UInt8]> = [Array("password".utf8), Array("sslpassword".utf8)]

    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || (9...13).contains(c) }

    /// Where a URL in free text ends: whitespace, a quote or an angle bracket.
    private static func endsURL(_ c: UInt8) -> Bool { isSpace(c) || c == 34 || c == quote || c == 96 || c == 60 || c == 62 }

    /// The credentials and the secret query parameters of every URL in `b`.
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
            let afterCredentials = credentialsEnd.map { $0 + 1 } ?? start
            if afterCredentials < end, let q = b[afterCredentials..<end].firstIndex(of: question) {
                found += secretParameters(in: b, query: (q + 1)..<end)
            }
            if wholeURL { break }
            from = max(end, start)
        }
        return found
    }

    /// `key=value` parameters of a query (`&`-separated, up to `#`) whose key, percent-decoded,
    /// is a secret one. Removal takes one `&` with it, or the `?` when it is the only one.
    private static func secretParameters(in b: [UInt8], query: Range<Int>) -> [Finding] {
        var found: [Finding] = []
        let end = b[query].firstIndex(of: hash) ?? query.upperBound
        var start = query.lowerBound
        while start < end {
            let stop = b[start..<end].firstIndex(of: ampersand) ?? end
            if let eq = b[start..<stop].firstIndex(of: equals), secretKeys.contains(percentDecoded(b[start..<eq])) {
                let removal =
                    stop < end ? start..<(stop + 1) : (start - 1)..<stop  // `k=v&`, else `&k=v` or `?k=v`
                found.append(Finding(value: (eq + 1)..<stop, removal: removal))
            }
            start = stop + 1
        }
        return found
    }

    private static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        guard bytes.contains(percent) else { return Array(bytes) }
        var out: [UInt8] = []
        var i = bytes.startIndex
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        while i < bytes.endIndex {
            if bytes[i] == percent, i + 2 < bytes.endIndex, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func isSchemeByte(_ c: UInt8) -> Bool {
        (65...90).contains(c) || (97...122).contains(c) || (48...57).contains(c) || c == 43 || c == 45 || c == 46
    }

    private static func isKeywordByte(_ c: UInt8) -> Bool { (97...122).contains(c) || (65...90).contains(c) || c == 95 }

    /// A conninfo value at `q`: single-quoted (backslash escapes; the range inside the quotes,
    /// `end` after the closing one) or bare up to whitespace (backslash escapes). nil for a
    /// quote never closed.
    private static func conninfoValue(in b: [UInt8], at q: Int) -> (value: Range<Int>, end: Int)? {
        let n = b.count
        if q < n, b[q] == quote {
            var x = q + 1
            while x < n, b[x] != quote { x += b[x] == backslash ? 2 : 1 }
            guard x < n else { return nil }
            return ((q + 1)..<x, x + 1)
        }
        var end = q
        while end < n, !isSpace(b[end]) { end += b[end] == backslash ? 2 : 1 }
        end = min(end, n)
        return (q..<end, end)
    }

    /// Whether `b` is libpq conninfo and nothing else: `keyword = value` pairs separated by
    /// whitespace, at least one.
    private static func isConninfo(_ b: [UInt8]) -> Bool {
        let n = b.count
        var i = 0
        var pairs = 0
        while true {
            while i < n, isSpace(b[i]) { i += 1 }
            if i == n { return pairs > 0 }
            let keyStart = i
            while i < n, isKeywordByte(b[i]) { i += 1 }
            guard i > keyStart else { return false }
            while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
            guard i < n, b[i] == equals else { return false }
            i += 1
            while i < n, b[i] == 32 || b[i] == 9 { i += 1 }
            guard let v = conninfoValue(in: b, at: i) else { return false }
            i = v.end
            guard i == n || isSpace(b[i]) else { return false }
            pairs += 1
        }
    }

    /// conninfo `password=` and `sslpassword=` pairs (after the start or whitespace; spaces
    /// around `=`). Removal takes the pair and the whitespace after it (before it, at the end).
    private static func conninfoPairs(in b: [UInt8]) -> [Finding] {
        var found: [Finding] = []
        let n = b.count
        var p = 0
        while p < n {
            guard p == 0 || isSpace(b[p - 1]), isKeywordByte(b[p]) else {
                p += 1
                continue
            }
            var q = p
            while q < n, isKeywordByte(b[q]) { q += 1 }
            let key = Array(b[p..<q])
            while q < n, b[q] == 32 || b[q] == 9 { q += 1 }
            guard secretKeys.contains(key), q < n, b[q] == equals else {
                p = max(q, p + 1)
                continue
            }
            q += 1
            while q < n, b[q] == 32 || b[q] == 9 { q += 1 }
            let v = conninfoValue(in: b, at: q) ?? ((min(q + 1, n))..<n, n)  // an open quote: the rest
            var removal = p..<v.end
            var after = v.end
            while after < n, isSpace(b[after]) { after += 1 }
            if after < n {
                removal = p..<after
            } else {
                var start = p
                while start > 0, isSpace(b[start - 1]) { start -= 1 }
                removal = start..<n
            }
            found.append(Finding(value: v.value, removal: removal))
            p = max(v.end, p + 1)
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
