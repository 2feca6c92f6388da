/// Store addresses that name a PostgreSQL store rather than a directory.
public enum PostgresStoreAddress {
    /// True for `postgres://…` and `postgresql://…` (any letter case in the scheme).
    public static func isPostgres(_ address: String) -> Bool {
        let lower = address.prefix(16).lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }
}
