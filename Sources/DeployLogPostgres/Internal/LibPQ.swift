internal import CLibPQ

/// Every libpq call this module makes, as one-line wrappers: the only file that imports `CLibPQ`.
///
/// `PGconn *` and `PGresult *` are incomplete C types, so Swift sees them as `OpaquePointer`;
/// the rest of the module holds them as such and never sees a C type. Strings cross as Swift
/// `String`s; byte buffers as raw pointers that only live for the call.
enum LibPQ {
    typealias Connection = OpaquePointer
    typealias Result = OpaquePointer

    // MARK: Connections

    /// `PQconnectdb`: blocks until the connection is made or fails. Never returns nil except
    /// when libpq cannot allocate.
    static func connect(_ conninfo: String) -> Connection? { PQconnectdb(conninfo) }
    static func finish(_ conn: Connection) { PQfinish(conn) }
    static func isConnected(_ conn: Connection) -> Bool { PQstatus(conn) == CONNECTION_OK }
    /// `PQconsumeInput`: reads what the server sent, without blocking; false on a read error
    /// (the server closed the connection).
    static func consumeInput(_ conn: Connection) -> Bool { PQconsumeInput(conn) == 1 }
    static func errorMessage(_ conn: Connection) -> String { string(PQerrorMessage(conn)) }
    static func serverVersion(_ conn: Connection) -> Int { Int(PQserverVersion(conn)) }
    static func backendPID(_ conn: Connection) -> Int32 { PQbackendPID(conn) }
    static func socket(_ conn: Connection) -> Int32 { PQsocket(conn) }
    static func parameterStatus(_ conn: Connection, _ name: String) -> String? {
        PQparameterStatus(conn, name).map { String(cString: $0) }
    }

    enum TransactionStatus { case idle, active, inTransaction, inError, unknown }
    static func transactionStatus(_ conn: Connection) -> TransactionStatus {
        switch PQtransactionStatus(conn) {
        case PQTRANS_IDLE: .idle
        case PQTRANS_ACTIVE: .active
        case PQTRANS_INTRANS: .inTransaction
        case PQTRANS_INERROR: .inError
        default: .unknown
        }
    }

    /// `PQconninfoParse`: the keyword/value pairs of a URL or conninfo string (only those
    /// given), or libpq's message when it cannot be parsed.
    static func parseConninfo(_ conninfo: String) -> Swift.Result<[(String, String)], ParseError> {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &message) else {
            defer { if let message { PQfreemem(message) } }
            return .failure(ParseError(message: message.map { String(cString: $0) } ?? "out of memory"))
        }
        return .success(pairs(of: options))
    }
    struct ParseError: Error { var message: String }

    /// `PQconninfo`: the connection parameters in effect on `conn` (those with a value).
    static func conninfo(_ conn: Connection) -> [(String, String)] {
        guard let options = PQconninfo(conn) else { return [] }
        return pairs(of: options)
    }

    /// The keywords that have a value in a `PQconninfoOption` array, which it frees.
    private static func pairs(of options: UnsafeMutablePointer<PQconninfoOption>) -> [(String, String)] {
        defer { PQconninfoFree(options) }
        var pairs: [(String, String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { pairs.append((String(cString: keyword), String(cString: value))) }
            option += 1
        }
        return pairs
    }

    /// Routes the server's notices (`NOTICE: … already exists, skipping`) to `receiver` instead of
    /// libpq's default, which prints them on standard error. `context` must outlive `conn`
    /// and every result made on it (libpq copies the hooks into each `PGresult`).
    static func setNoticeProcessor(
        _ conn: Connection, context: UnsafeMutableRawPointer,
        _ receiver: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void
    ) {
        _ = PQsetNoticeProcessor(conn, receiver, context)
    }

    // MARK: Commands

    /// `PQexec`: simple protocol, text results, one or more statements (returns the last result).
    static func exec(_ conn: Connection, _ sql: String) -> Result? { PQexec(conn, sql) }

    /// `PQexecParams` with explicit parameter types, lengths and formats, and one result format.
    static func execParams(
        _ conn: Connection, _ sql: String, _ params: EncodedParameters, binaryResults: Bool
    ) -> Result? {
        params.withCArrays { count, types, values, lengths, formats in
            PQexecParams(conn, sql, count, types, values, lengths, formats, binaryResults ? 1 : 0)
        }
    }

    /// `PQprepare`.
    static func prepare(_ conn: Connection, _ name: String, _ sql: String, _ types: [UInt32]) -> Result? {
        types.withUnsafeBufferPointer { PQprepare(conn, name, sql, Int32($0.count), $0.baseAddress) }
    }

    /// `PQexecPrepared`.
    static func execPrepared(
        _ conn: Connection, _ name: String, _ params: EncodedParameters, binaryResults: Bool
    ) -> Result? {
        params.withCArrays { count, _, values, lengths, formats in
            PQexecPrepared(conn, name, count, values, lengths, formats, binaryResults ? 1 : 0)
        }
    }

    // MARK: Asynchronous commands (single-row mode and pipelines)

    static func sendQuery(_ conn: Connection, _ sql: String) -> Bool { PQsendQuery(conn, sql) == 1 }
    static func sendQueryParams(
        _ conn: Connection, _ sql: String, _ params: EncodedParameters, binaryResults: Bool
    ) -> Bool {
        params.withCArrays { count, types, values, lengths, formats in
            PQsendQueryParams(conn, sql, count, types, values, lengths, formats, binaryResults ? 1 : 0)
        } == 1
    }
    static func sendPrepare(_ conn: Connection, _ name: String, _ sql: String, _ types: [UInt32]) -> Bool {
        types.withUnsafeBufferPointer { PQsendPrepare(conn, name, sql, Int32($0.count), $0.baseAddress) } == 1
    }
    static func sendQueryPrepared(
        _ conn: Connection, _ name: String, _ params: EncodedParameters, binaryResults: Bool
    ) -> Bool {
        params.withCArrays { count, _, values, lengths, formats in
            PQsendQueryPrepared(conn, name, count, values, lengths, formats, binaryResults ? 1 : 0)
        } == 1
    }
    static func setSingleRowMode(_ conn: Connection) -> Bool { PQsetSingleRowMode(conn) == 1 }
    static func getResult(_ conn: Connection) -> Result? { PQgetResult(conn) }
    static func enterPipelineMode(_ conn: Connection) -> Bool { PQenterPipelineMode(conn) == 1 }
    static func exitPipelineMode(_ conn: Connection) -> Bool { PQexitPipelineMode(conn) == 1 }
    static func pipelineSync(_ conn: Connection) -> Bool { PQpipelineSync(conn) == 1 }
    static func sendFlushRequest(_ conn: Connection) -> Bool { PQsendFlushRequest(conn) == 1 }
    static func isInPipelineMode(_ conn: Connection) -> Bool { PQpipelineStatus(conn) != PQ_PIPELINE_OFF }

    // MARK: COPY

    /// `PQputCopyData`: 1 queued, 0 would block (non-blocking only), -1 error. Sent in pieces
    /// of at most 1 GiB (its length is a C `int`; a buffer can outgrow one with a huge row).
    static func putCopyData(_ conn: Connection, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return PQputCopyData(conn, nil, 0) }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            let sent = PQputCopyData(conn, (base + offset).assumingMemoryBound(to: CChar.self), Int32(n))
            if sent != 1 { return sent }
            offset += n
        }
        return 1
    }
    /// `PQputCopyEnd`; a non-nil `failure` aborts the COPY with that message.
    static func putCopyEnd(_ conn: Connection, failure: String?) -> Int32 { PQputCopyEnd(conn, failure) }
    /// `PQgetCopyData` (blocking): the row's bytes to `body`, -1 at the end, -2 on error.
    static func getCopyData(_ conn: Connection, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Int32 {
        var buffer: UnsafeMutablePointer<CChar>?
        let count = PQgetCopyData(conn, &buffer, 0)
        guard count > 0, let buffer else { return count }
        defer { PQfreemem(buffer) }
        try body(UnsafeRawBufferPointer(start: buffer, count: Int(count)))
        return count
    }

    // MARK: Results

    static func clear(_ res: Result) { PQclear(res) }

    enum Status {
        case emptyQuery, commandOK, tuplesOK, copyOut, copyIn, badResponse, nonfatalError, fatalError
        case copyBoth, singleTuple, pipelineSync, pipelineAborted, other
    }
    static func status(_ res: Result) -> Status {
        switch PQresultStatus(res) {
        case PGRES_EMPTY_QUERY: .emptyQuery
        case PGRES_COMMAND_OK: .commandOK
        case PGRES_TUPLES_OK: .tuplesOK
        case PGRES_COPY_OUT: .copyOut
        case PGRES_COPY_IN: .copyIn
        case PGRES_BAD_RESPONSE: .badResponse
        case PGRES_NONFATAL_ERROR: .nonfatalError
        case PGRES_FATAL_ERROR: .fatalError
        case PGRES_COPY_BOTH: .copyBoth
        case PGRES_SINGLE_TUPLE: .singleTuple
        case PGRES_PIPELINE_SYNC: .pipelineSync
        case PGRES_PIPELINE_ABORTED: .pipelineAborted
        default: .other
        }
    }
    static func resultErrorMessage(_ res: Result) -> String { string(PQresultErrorMessage(res)) }
    /// `PQresultErrorField` with a `PG_DIAG_…` code (`'C'` SQLSTATE, `'M'` primary message,
    /// `'n'` constraint name); written as characters because the macros are char literals.
    static func errorField(_ res: Result, _ code: Character) -> String? {
        PQresultErrorField(res, Int32(code.asciiValue!)).map { String(cString: $0) }
    }
    static func rowCount(_ res: Result) -> Int { Int(PQntuples(res)) }
    static func columnCount(_ res: Result) -> Int { Int(PQnfields(res)) }
    static func columnName(_ res: Result, _ column: Int) -> String { string(PQfname(res, Int32(column))) }
    static func columnType(_ res: Result, _ column: Int) -> UInt32 { PQftype(res, Int32(column)) }
    static func columnIsBinary(_ res: Result, _ column: Int) -> Bool { PQfformat(res, Int32(column)) == 1 }
    static func isNull(_ res: Result, _ row: Int, _ column: Int) -> Bool {
        PQgetisnull(res, Int32(row), Int32(column)) == 1
    }
    static func length(_ res: Result, _ row: Int, _ column: Int) -> Int {
        Int(PQgetlength(res, Int32(row), Int32(column)))
    }
    static func value(_ res: Result, _ row: Int, _ column: Int) -> UnsafeRawPointer? {
        PQgetvalue(res, Int32(row), Int32(column)).map { UnsafeRawPointer($0) }
    }
    static func commandStatus(_ res: Result) -> String { string(PQcmdStatus(res)) }
    static func commandTuples(_ res: Result) -> String { string(PQcmdTuples(res)) }

    private static func string(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
    private static func string(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
}
