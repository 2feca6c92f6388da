import DeployLogEvents

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

    /// Whether `string` was meant as a URL but is not one libpq reads: it has `://` under
    /// another scheme (`postgress://…`, ` postgres://…`), or starts `postgres:`/`postgresql:`
    /// with a slash missing. Such a string would be taken for conninfo or a directory, and
    /// quoted, password and all; it is refused without being shown.
    public static func isMistypedURL(_ string: String) -> Bool {
        let lower = string.prefix(11).lowercased()
        return (string.contains("://") || lower.hasPrefix("postgres:") || lower.hasPrefix("postgresql:"))
            && !isURL(string)
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
    /// else (host, port, database, user, `sslmode` …) is kept. A string with `://` in it is read
    /// as a URL whatever its scheme (`postgress://…`, ` postgres://…`), so that a mistyped one
    /// is still redacted; see `CredentialRedaction` for the rules, which can only hide more
    /// than the password, never less.
    public static func redacted(_ string: String) -> String {
        CredentialRedaction.mask(string: string, wholeURL: string.contains("://"))
    }

    /// The password as written in `string` (still percent-encoded or quoted), if any.
    static func rawPasswords(in string: String) -> [String] {
        CredentialRedaction.passwords(in: string, wholeURL: string.contains("://"))
    }

    /// Why libpq would read the credentials of the URL `string` differently from `redacted`,
    /// or nil. libpq ends them at the first `@` before the first `/`: a password holding an
    /// unencoded `@` or `/` is cut there, and the rest read as a host, port or database, which
    /// its error messages then quote (a part of the password that no scrub can find). Such a
    /// URL is refused before libpq sees it.
    public static func credentialProblem(_ string: String) -> String? {
        guard isURL(string), let schemeEnd = string.firstRange(of: "://")?.upperBound else { return nil }
        let rest = string.utf8[schemeEnd...]
        let firstSlash = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        let query = rest.firstIndex(of: UInt8(ascii: "?")) ?? rest.endIndex
        let ats = rest[..<firstSlash].filter { $0 == UInt8(ascii: "@") }.count
        if ats > 1 {
            return "the user or password holds an unencoded '@' (write it as %40)"
        }
        if ats == 0, firstSlash < query, rest[firstSlash..<query].contains(UInt8(ascii: "@")) {
            return "an '@' after the first '/': the user or password holds an unencoded '/' (write it as %2F), "
                + "or the database name an '@' (%40)"
        }
        return nil
    }
}
