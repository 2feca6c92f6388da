/// SQL identifiers (schema, table, column names) quoted for the SQL text. Values never go into
/// SQL text: they are statement parameters (`PostgresValue`).
public enum PostgresIdentifier {
    /// `name` as a quoted identifier: `events` → `"events"`, `My "odd" Table` → `"My ""odd"" Table"`.
    /// Quoting keeps the case (an unquoted `Events` would be `events`). PostgreSQL identifiers
    /// cannot hold NUL, so a name with one is an error.
    public static func quote(_ name: String) throws -> String {
        guard !name.isEmpty else { throw PostgresError(.client, "an identifier cannot be empty") }
        guard !name.utf8.contains(0) else { throw PostgresError(.client, "an identifier cannot contain NUL") }
        return "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// `schema.name`, each part quoted.
    public static func quote(schema: String, _ name: String) throws -> String {
        try quote(schema) + "." + quote(name)
    }
}
