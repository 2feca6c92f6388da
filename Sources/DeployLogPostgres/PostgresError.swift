/// An error from PostgreSQL or libpq: what failed, with the server's SQLSTATE when there is one
/// and the statement that was running (never its parameter values, which may hold secrets).
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect (or the connection was lost).
        case connection
        /// The server refused a statement (see `sqlState`).
        case server
        /// libpq or this layer refused a request (bad arguments, wrong state).
        case client
    }

    public var kind: Kind
    /// The five-character SQLSTATE (`23505` unique violation, `40001` serialization failure …).
    public var sqlState: String?
    public var message: String
    /// The statement's text (or a prepared statement's name), when one was running.
    public var statement: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, statement: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.statement = statement
    }

    public var description: String {
        var s = message
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let statement { s += " in: \(statement.count > 200 ? String(statement.prefix(200)) + "…" : statement)" }
        return s
    }
}
