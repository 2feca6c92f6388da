extension PostgresConnection {
    /// A transaction's isolation level (PostgreSQL's default is read committed).
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// Whether a transaction is open: for callers that must not nest them.
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = LibPQ.transactionStatus(handle)
        return status == .inTransaction || status == .inError
    }

    /// Runs `body` in a transaction: `BEGIN` (with the isolation level and access mode), then
    /// `COMMIT` when `body` returns, or `ROLLBACK` when it throws (the error is rethrown).
    /// A statement that failed inside `body` aborts the transaction even if `body` caught the
    /// error: then nothing is committed and the call throws. Transactions do not nest.
    public func transaction<T>(
        isolation: IsolationLevel? = nil, readOnly: Bool = false, _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        guard !isInTransaction else {
            throw PostgresError(.client, "a transaction is already open on this connection", statement: "BEGIN")
        }
        var begin = "BEGIN"
        if let isolation { begin += " ISOLATION LEVEL " + isolation.rawValue }
        if readOnly { begin += " READ ONLY" }
        try command(begin)
        do {
            let result = try body(self)
            if let handle, LibPQ.transactionStatus(handle) == .inError {
                try? command("ROLLBACK")
                throw PostgresError(
                    .client, "the transaction was aborted by an earlier error and rolled back", statement: "COMMIT")
            }
            try command("COMMIT")
            return result
        } catch {
            if isInTransaction { try? command("ROLLBACK") }
            throw error
        }
    }

    /// One statement without parameters or rows (`BEGIN`, `COMMIT` …). `PQexec`.
    func command(_ sql: String) throws {
        try withResult(LibPQ.exec(try open(), sql), statement: sql) { _ in }
    }
}
