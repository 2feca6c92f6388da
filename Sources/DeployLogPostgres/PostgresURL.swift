/// Connection strings for display: libpq accepts a URL (`postgres://user:secret@host:5432/db?sslmode=require`)
/// or a conninfo string (`host=… user=… password=secret`); either may carry a password, which
/// must never reach a log, an error message or an event.
public enum PostgresURL {
    /// Whether `string` is a URL (`postgres://` or `postgresql://`, the scheme in any letter
    /// case, as URL schemes are) rather than conninfo.
    public static func isURL(_ string: String) -> Bool {
        let scheme = string.prefix(13).lowercased()
        return scheme.hasPrefix("postgres://") || scheme.hasPrefix("postgresql://")
    }

    /// `string` as libpq takes it: a URL's scheme in lower case (libpq recognises only
    /// `postgres://` and `postgresql://`, and would read `POSTGRES://…` as conninfo and quote
    /// all of it, password included, in its error). Anything else is unchanged.
    public static func normalized(_ string: String) -> String {
        guard isURL(string), let end = string.firstRange(of: "://")?.lowerBound else { return string }
        return string[..<end].lowercased() + string[end...]
    }

    /// `string` with any password replaced by `***`: the `user:password@` part and a
    /// `password=` query parameter of a URL, or the `password=` keyword of conninfo. Everything
    /// else (host, port, database, user, `sslmode` …) is kept.
    public static func redacted(_ string: String) -> String {
        var result = string
        for range in passwordRanges(in: string).reversed() where !range.isEmpty {
            result.replaceSubrange(range, with: "***")
        }
        return result
    }

    /// The password as written in `string` (still percent-encoded or quoted), if any.
    static func rawPasswords(in string: String) -> [String] {
        passwordRanges(in: string).filter { !$0.isEmpty }.map { String(string[$0]) }
    }

    /// Where passwords are written in `string`, in order.
    static func passwordRanges(in string: String) -> [Range<String.Index>] {
        isURL(string) ? urlPasswordRanges(string) : conninfoPasswordRanges(string)
    }

    /// The password of the credentials (`user:password@`) and of a `password=` query
    /// parameter. libpq reads credentials up to the first `@` before any `/`; this takes them
    /// up to the last `@` before the query instead, so that a malformed URL (a `/` or `@` left
    /// unencoded in the password, which libpq reads as a host and port) is redacted too. It
    /// can only hide more than the password, never less.
    private static func urlPasswordRanges(_ s: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        guard let schemeEnd = s.firstRange(of: "://")?.upperBound else { return ranges }
        let index = s[schemeEnd...].firstIndex(of: "?") ?? s.endIndex
        if let at = s[schemeEnd..<index].lastIndex(of: "@"), let colon = s[schemeEnd..<at].firstIndex(of: ":") {
            ranges.append(s.index(after: colon)..<at)
        }
        if let question = s[index...].firstIndex(of: "?") {
            var start = s.index(after: question)
            while start < s.endIndex {
                let end = s[start...].firstIndex(of: "&") ?? s.endIndex
                let pair = s[start..<end]
                if let equals = pair.firstIndex(of: "="), pair[..<equals] == "password" {
                    ranges.append(s.index(after: equals)..<end)
                }
                start = end < s.endIndex ? s.index(after: end) : end
            }
        }
        return ranges
    }

    /// conninfo: `keyword = value` pairs separated by spaces; a value is either bare (up to
    /// whitespace, backslash escapes) or single-quoted (backslash escapes `\'` and `\\`).
    private static func conninfoPasswordRanges(_ s: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var index = s.startIndex
        func skipSpaces() { while index < s.endIndex, s[index].isWhitespace { index = s.index(after: index) } }
        while index < s.endIndex {
            skipSpaces()
            let keywordStart = index
            while index < s.endIndex, s[index] != "=", !s[index].isWhitespace { index = s.index(after: index) }
            let keyword = s[keywordStart..<index]
            skipSpaces()
            guard index < s.endIndex, s[index] == "=" else { break }
            index = s.index(after: index)
            skipSpaces()
            var valueStart = index
            var valueEnd = index
            if index < s.endIndex, s[index] == "'" {
                index = s.index(after: index)
                valueStart = index
                while index < s.endIndex, s[index] != "'" {
                    if s[index] == "\\" { index = s.index(after: index) }
                    if index < s.endIndex { index = s.index(after: index) }
                }
                valueEnd = index
                if index < s.endIndex { index = s.index(after: index) }
            } else {
                while index < s.endIndex, !s[index].isWhitespace {
                    if s[index] == "\\" { index = s.index(after: index) }
                    if index < s.endIndex { index = s.index(after: index) }
                }
                valueEnd = index
            }
            if keyword == "password" { ranges.append(valueStart..<valueEnd) }
        }
        return ranges
    }
}
