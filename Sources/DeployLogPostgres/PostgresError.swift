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
    /// The constraint the statement violated (`PG_DIAG_CONSTRAINT_NAME`), when the server names
    /// one: tells a duplicate event id from a duplicate stream version.
    public var constraint: String?

    public init(
        _ kind: Kind, _ message: String, sqlState: String? = nil, statement: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.statement = statement
        self.constraint = constraint
    }

    public var description: String {
        var s = message
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let statement { s += " in: \(statement.count > 200 ? String(statement.prefix(200)) + "…" : statement)" }
        return s
    }
}

extension PostgresError {
    /// A few SQLSTATEs callers test for (PostgreSQL's Appendix A).
    public enum SQLState {
        public static let uniqueViolation = "23505"
        public static let foreignKeyViolation = "23503"
        public static let checkViolation = "23514"
        public static let serializationFailure = "40001"
        public static let deadlockDetected = "40P01"
        public static let syntaxError = "42601"
        public static let undefinedTable = "42P01"
        public static let invalidStatementName = "26000"
        public static let queryCanceled = "57014"
        public static let adminShutdown = "57P01"
        public static let raiseException = "P0001"
    }

    /// Whether running the same work again may succeed: a serialization failure or deadlock
    /// (retry the transaction), or a lost connection (reconnect, then retry idempotently).
    public var isTransient: Bool {
        kind == .connection || sqlState == SQLState.serializationFailure || sqlState == SQLState.deadlockDetected
            || sqlState?.hasPrefix("08") == true || sqlState == SQLState.adminShutdown
    }
}
