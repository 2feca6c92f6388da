import Logging

/// A statement to prepare once per connection and run many times: its SQL, the types of its
/// parameters (values are converted to them, see `PostgresValue`), and a name.
///
/// Declare statements as constants; a connection prepares each on first use (`PQprepare`) and
/// keeps it by name until it closes:
///
///     static let insertEvent = PostgresStatement(
///         "INSERT INTO deploylog.events (stream, data) VALUES ($1, $2)", parameterTypes: [.text, .bytea])
///     try connection.query(Self.insertEvent, [.text(stream), .bytea(bytes)])
public struct PostgresStatement: Sendable, Hashable {
    /// The server-side name (`dl_` and a hash of the SQL and types unless given).
    public var name: String
    public var sql: String
    public var parameterTypes: [PostgresType]

    public init(name: String? = nil, _ sql: String, parameterTypes: [PostgresType] = []) {
        self.sql = sql
        self.parameterTypes = parameterTypes
        self.name = name ?? Self.defaultName(sql, parameterTypes)
    }

    /// `dl_` and the 64-bit FNV-1a hash of the SQL and the type OIDs, in hex: stable across runs.
    static func defaultName(_ sql: String, _ types: [PostgresType]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        for byte in sql.utf8 { mix(byte) }
        for type in types {
            mix(0)
            withUnsafeBytes(of: type.oid.littleEndian) { $0.forEach(mix) }
        }
        let hex = String(hash, radix: 16)
        return "dl_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension PostgresConnection {
    /// Prepares `statement` on this connection unless it already is. The corresponding C function
    /// is `PQprepare`.
    ///
    /// - Throws: the server's error (a syntax error …), or a client error when another statement
    ///   was already prepared under the same name.
    public func prepare(_ statement: PostgresStatement) throws {
        if let existing = prepared[statement.name] {
            guard existing == statement else {
                throw PostgresError(
                    .client, "another statement is already prepared as \(statement.name)", statement: statement.sql)
            }
            return
        }
        try restoreSession()
        let conn = try open()
        try withResult(
            LibPQ.prepare(conn, statement.name, statement.sql, statement.parameterTypes.map(\.oid)),
            statement: statement.sql
        ) { _ in }
        prepared[statement.name] = statement
        logger?.debug("prepared", metadata: ["name": "\(statement.name)"])
    }

    /// Runs a prepared statement (preparing it first if needed) with `parameters` in binary,
    /// converted to the statement's parameter types, and returns its rows in binary.
    /// The corresponding C function is `PQexecPrepared`.
    @discardableResult
    public func query(_ statement: PostgresStatement, _ parameters: [PostgresValue]) throws -> PostgresResult {
        let params = try encode(parameters, declared: statement.parameterTypes, statement: statement.sql)
        try prepare(statement)
        do {
            return try takeResult(
                LibPQ.execPrepared(try open(), statement.name, params, binaryResults: true), statement: statement.sql)
        } catch let error as PostgresError where error.sqlState == PostgresError.SQLState.invalidStatementName {
            // Dropped behind our back (DEALLOCATE ALL, DISCARD ALL; `check` forgot them all):
            // prepare again, once. Not inside a transaction: the failure aborted it, so
            // preparing would fail too ("current transaction is aborted") and hide this error.
            if isInTransaction { throw error }
            try prepare(statement)
            return try takeResult(
                LibPQ.execPrepared(try open(), statement.name, params, binaryResults: true), statement: statement.sql)
        }
    }

    /// `forEachRow` for a prepared statement.
    public func forEachRow(
        _ statement: PostgresStatement, _ parameters: [PostgresValue], _ body: (PostgresRow) throws -> Void
    ) throws {
        let params = try encode(parameters, declared: statement.parameterTypes, statement: statement.sql)
        try prepare(statement)
        guard LibPQ.sendQueryPrepared(try open(), statement.name, params, binaryResults: true) else {
            throw connectionError(statement: statement.sql)
        }
        try readRows(statement: statement.sql, body)
    }

    /// Forgets every prepared statement, on the server (`DEALLOCATE ALL`) and here.
    public func deallocateAll() throws {
        prepared = [:]
        try execute(script: "DEALLOCATE ALL")
        lost.statements = false
    }

    /// Runs `script` (session settings: `SET …`) now, and again whenever the connection finds
    /// its session was reset behind its back: `DISCARD ALL` (a pooler's reset query) drops the
    /// settings along with the prepared statements, and a prepared statement gone is how it shows.
    package func setUpSession(_ script: String) throws {
        try execute(script: script)
        sessionSetup = script
    }

    /// After the server said a prepared statement does not exist: it may have forgotten them
    /// all (`DEALLOCATE ALL`, `DISCARD ALL`), or only that one, and it keeps any prepared
    /// before the failure in the same pipeline. So every name is forgotten here, and
    /// `restoreSession` makes the server forget them all too before the next prepare: from
    /// then on both sides agree, and no statement is refused as missing or as already there.
    func forgetPreparedStatements() {
        prepared = [:]
        lost = (true, sessionSetup != nil)
    }

    /// What `forgetPreparedStatements` leaves to do, before anything is prepared: `DEALLOCATE
    /// ALL`, and `sessionSetup` again. The settings wait for the end of a transaction (`SET`
    /// in one that rolls back would be undone); prepared statements are not transactional.
    func restoreSession() throws {
        if lost.statements {
            try command("DEALLOCATE ALL")
            lost.statements = false
        }
        if lost.settings, !isInTransaction, let sessionSetup {
            try execute(script: sessionSetup)
            lost.settings = false
        }
    }
}
