import Logging

/// The statements of one pipeline, collected by `PostgresConnection.pipeline` and sent together.
///
/// Nothing is sent while the pipeline's closure runs: when it returns, every statement is sent
/// (`PQsendQueryPrepared` / `PQsendQueryParams`), followed by one sync (`PQpipelineSync`), and
/// all the results are read. If the closure throws, nothing is sent.
public final class PostgresPipeline {
    enum Command {
        case prepared(PostgresStatement, EncodedParameters)
        case unnamed(String, EncodedParameters)

        var sql: String {
            switch self {
            case .prepared(let statement, _): statement.sql
            case .unnamed(let sql, _): sql
            }
        }
    }

    private unowned let connection: PostgresConnection
    private(set) var commands: [Command] = []

    init(connection: PostgresConnection) { self.connection = connection }

    /// The number of statements queued so far.
    public var count: Int { commands.count }

    /// Queues a prepared statement (prepared in the same pipeline if this connection has not
    /// prepared it yet).
    public func query(_ statement: PostgresStatement, _ parameters: [PostgresValue]) throws {
        let params = try connection.encode(parameters, declared: statement.parameterTypes, statement: statement.sql)
        commands.append(.prepared(statement, params))
    }

    /// Queues a statement with parameters (unnamed, parsed by the server each time).
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) throws {
        let params = try connection.encode(parameters, declared: nil, statement: sql)
        commands.append(.unnamed(sql, params))
    }
}

extension PostgresConnection {
    /// Sends many statements in one round trip (libpq's pipeline mode) and returns their results
    /// in order, one per statement queued in `body`.
    ///
    /// Outside an explicit transaction, the statements of one pipeline run in one implicit
    /// transaction: all or none. Inside `transaction { }` they run in that transaction. If a
    /// statement fails, the ones after it are not run, and the first error is thrown (with
    /// that statement's SQL).
    ///
    /// A statement the server no longer knows (`DEALLOCATE ALL`, `DISCARD ALL`, a pooler's
    /// reset) fails the pipeline, which is not sent again: the statements before it may have
    /// run, and some may have committed (a COMMIT among them). The connection forgets its
    /// prepared statements (see `forgetPreparedStatements`), so its next call prepares anew.
    ///
    /// The connection stays in blocking mode: while sending, libpq reads whatever the server
    /// has already answered into its buffer, so a long pipeline cannot deadlock on full socket
    /// buffers.
    public func pipeline(_ body: (PostgresPipeline) throws -> Void) throws -> [PostgresResult] {
        let conn = try open()
        let pipeline = PostgresPipeline(connection: self)
        try body(pipeline)
        if pipeline.commands.isEmpty { return [] }
        if pipeline.commands.contains(where: { if case .prepared = $0 { true } else { false } }) {
            try restoreSession()
        }

        // Statement names are checked before anything is sent: an error found halfway would
        // leave commands sent without a sync, and the connection would have to be closed.
        var named: [String: PostgresStatement] = [:]
        for case .prepared(let statement, _) in pipeline.commands {
            if let other = prepared[statement.name] ?? named[statement.name], other != statement {
                throw PostgresError(
                    .client, "another statement is already prepared as \(statement.name)", statement: statement.sql)
            }
            named[statement.name] = statement
        }

        enum Expected { case prepare(PostgresStatement), command(String) }
        var expected: [Expected] = []
        expected.reserveCapacity(pipeline.commands.count + 1)
        guard LibPQ.enterPipelineMode(conn) else { throw connectionError(statement: nil) }
        var failure: PostgresError?
        var results: [PostgresResult] = []
        results.reserveCapacity(pipeline.commands.count)
        defer {
            if LibPQ.isInPipelineMode(conn) && !LibPQ.exitPipelineMode(conn) {
                // Left with results unread (a send failed): the connection is unusable.
                logger?.debug("could not leave pipeline mode; closing the connection")
                close()
            }
        }

        // Send everything.
        var preparing: Set<String> = []
        for command in pipeline.commands {
            switch command {
            case .prepared(let statement, let params):
                if prepared[statement.name] == nil && !preparing.contains(statement.name) {
                    guard LibPQ.sendPrepare(conn, statement.name, statement.sql, statement.parameterTypes.map(\.oid))
                    else { throw connectionError(statement: statement.sql) }
                    preparing.insert(statement.name)
                    expected.append(.prepare(statement))
                }
                guard LibPQ.sendQueryPrepared(conn, statement.name, params, binaryResults: true) else {
                    throw connectionError(statement: statement.sql)
                }
            case .unnamed(let sql, let params):
                guard LibPQ.sendQueryParams(conn, sql, params, binaryResults: true) else {
                    throw connectionError(statement: sql)
                }
            }
            expected.append(.command(command.sql))
        }
        guard LibPQ.pipelineSync(conn) else { throw connectionError(statement: nil) }

        // Read one result (then a NULL) per prepare and command, then the sync.
        for item in expected {
            let statement: String
            switch item {
            case .prepare(let s): statement = s.sql
            case .command(let sql): statement = sql
            }
            guard let res = LibPQ.getResult(conn) else { throw connectionError(statement: statement) }
            var taken = false
            do {
                try check(res, statement: statement)
                switch item {
                case .prepare(let s): prepared[s.name] = s
                case .command:
                    results.append(PostgresResult(taking: res, noticeContext: notices))
                    taken = true
                }
            } catch let error as PostgresError {
                if failure == nil || failure?.sqlState == nil && error.sqlState != nil { failure = error }
            }
            if !taken { LibPQ.clear(res) }
            while let extra = LibPQ.getResult(conn) { LibPQ.clear(extra) }
        }
        guard let sync = LibPQ.getResult(conn) else { throw connectionError(statement: nil) }
        let syncStatus = LibPQ.status(sync)
        LibPQ.clear(sync)
        guard syncStatus == .pipelineSync else {
            throw failure ?? PostgresError(.client, "pipeline out of step: expected its sync")
        }
        if let failure { throw failure }
        return results
    }
}
