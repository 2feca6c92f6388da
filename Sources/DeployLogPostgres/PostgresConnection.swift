public import Logging
import DeployLogEvents
import Foundation

/// One connection to PostgreSQL through libpq, owning its `PGconn` (closed in `deinit`).
///
/// Opened from a URL (`postgres://user@host:5432/db?sslmode=require`, `postgresql://…`) or a
/// conninfo string (`host=… dbname=…`); every libpq parameter passes through, and libpq finds a
/// password missing from the string in `PGPASSWORD` or `~/.pgpass`. Passwords are never logged
/// and are scrubbed from error messages; `address` is the string with the password redacted.
///
/// Every call blocks the calling thread until the server answers. Not thread-safe: use a
/// connection from one thread at a time, and not from Swift's shared task pool —
/// `PostgresWorker` runs a connection on its own queue for async code.
///
/// Statements: `query` (parameters and results in binary), `query(_: PostgresStatement, …)`
/// (prepared once per connection, cached by name), `forEachRow` (rows one at a time, for large
/// reads), `execute(script:)` (several statements, simple protocol, text results), and, in the
/// other files, `transaction`, `pipeline`, `copyIn` and `copyOut`.
public final class PostgresConnection {
    /// The connection string with any password replaced by `***`.
    public let address: String
    let logger: Logger?
    private(set) var handle: LibPQ.Connection?
    /// Written forms of the password, to scrub from libpq's messages.
    private let secrets: [String]
    /// The notice processor's context: results keep it alive too.
    let notices: NoticeSink
    /// Prepared statements on this connection, by name.
    var prepared: [String: PostgresStatement] = [:]
    /// What the server may have forgotten of this session: it said a prepared statement does
    /// not exist (`DEALLOCATE ALL`, or `DISCARD ALL`, which also resets the settings made with
    /// `setUpSession`). See `forgetPreparedStatements`.
    var lost: (statements: Bool, settings: Bool) = (false, false)
    /// The script `setUpSession` ran, to run again after `DISCARD ALL`.
    var sessionSetup: String?

    /// Connects (blocking) to the server named by `connectionString`.
    ///
    /// `defaults` are libpq parameters (`connect_timeout`, `keepalives_idle` …) used when the
    /// string does not set them itself (see `timeouts`).
    ///
    /// - Throws: `PostgresError` of kind `.connection` when the string cannot be parsed or the
    ///   server cannot be reached or refuses the login; its message never contains the password.
    public init(_ connectionString: String, defaults: KeyValuePairs<String, String> = [:], logger: Logger? = nil) throws {
        var connectionString = PostgresURL.normalized(connectionString)
        address = PostgresURL.redacted(connectionString)
        self.logger = logger
        notices = NoticeSink(logger: logger)
        var secrets = PostgresURL.rawPasswords(in: connectionString)
        if PostgresURL.isMistypedURL(connectionString) {
            throw PostgresError(
                .connection,
                "invalid connection string \(address): not a postgres:// or postgresql:// URL, nor keyword=value conninfo")
        }
        if let problem = PostgresURL.credentialProblem(connectionString) {
            throw PostgresError(.connection, "invalid connection string \(address): \(problem)")
        }
        switch LibPQ.parseConninfo(connectionString) {
        case .failure(let error):
            let message = Self.scrub(error.message, secrets)
            // conninfo that libpq cannot parse is not shown: where its password is (after a
            // word without `=`, say) is exactly what could not be read. A URL is: its
            // credentials are found by position.
            let shown = PostgresURL.isURL(connectionString) ? " \(address)" : ""
            throw PostgresError(.connection, "invalid connection string\(shown): \(message)")
        case .success(let options):
            secrets += options.filter { $0.0 == "password" && !$0.1.isEmpty }.map(\.1)
            let given = Set(options.filter { !$0.1.isEmpty }.map(\.0))
            let missing = defaults.filter { !given.contains($0.key) }
            if !missing.isEmpty {
                // Names and values of our own (no quoting needed), after what the string says.
                let isURL = PostgresURL.isURL(connectionString)
                var separator = isURL ? (connectionString.contains("?") ? "&" : "?") : " "
                for (key, value) in missing {
                    connectionString += separator + key + "=" + value
                    separator = isURL ? "&" : " "
                }
            }
        }
        self.secrets = secrets
        logger?.debug("connecting", metadata: ["address": "\(address)"])
        guard let conn = LibPQ.connect(connectionString) else {
            throw PostgresError(.connection, "could not connect to \(address): out of memory")
        }
        guard LibPQ.isConnected(conn) else {
            let message = Self.scrub(LibPQ.errorMessage(conn), secrets)
            LibPQ.finish(conn)
            throw PostgresError(.connection, "could not connect to \(address): \(message)")
        }
        handle = conn
        LibPQ.setNoticeProcessor(conn, context: Unmanaged.passUnretained(notices).toOpaque(), receiveNotice)
    }

    deinit { close() }

    /// libpq parameters that bound how long a connection waits on a server gone silent (a
    /// failover whose old host vanished, a partition), for `defaults`: 10 s to connect (libpq's
    /// default waits for the operating system, minutes for a host that does not answer);
    /// keepalive probes after 30 s of silence, every 10 s, 3 unanswered ending the connection;
    /// 60 s for sent data to be acknowledged. So it fails within about a minute instead of the
    /// system's TCP defaults (some fifteen minutes for a statement sent, hours when waiting
    /// for an answer). Neither ends a slow but live statement: the server's kernel answers
    /// probes and acknowledges data however long the statement runs.
    public static let timeouts: KeyValuePairs<String, String> = [
        "connect_timeout": "10", "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
        "keepalives_count": "3", "tcp_user_timeout": "60000",
    ]

    /// Closes the connection (`PQfinish`); later calls throw. Closing twice is harmless.
    public func close() {
        guard let conn = handle else { return }
        handle = nil
        prepared = [:]
        LibPQ.finish(conn)
        logger?.debug("closed", metadata: ["address": "\(address)"])
    }

    /// Whether the connection is open and healthy (libpq's `CONNECTION_OK`).
    public var isOpen: Bool { handle.map(LibPQ.isConnected) ?? false }

    /// For an idle connection (no statement running): reads, without blocking, whatever the
    /// server sent while it sat unused, and tells whether it is still open. A server that
    /// restarted or ended this session (`pg_terminate_backend`, a failover) has sent its FATAL
    /// message and closed the socket, which only reads notice: `isOpen` alone stays true
    /// until the next statement fails. (libpq hands an error that arrives while idle to the
    /// notice processor and reads the end of the stream on a later call: so it reads as long
    /// as the socket has something.) One `poll` when nothing arrived.
    public func isAlive() -> Bool {
        guard let handle, !isInTransaction else { return isOpen }
        let fd = LibPQ.socket(handle)
        guard fd >= 0 else { return false }
        for _ in 0..<8 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 0) > 0 else { break }
            guard LibPQ.consumeInput(handle), LibPQ.isConnected(handle) else { return false }
        }
        return LibPQ.isConnected(handle)
    }

    /// The value of the libpq connection parameter `name` in effect (`PQconninfo`), or nil
    /// when it is not set (a password is never returned).
    public func connectionParameter(_ name: String) -> String? {
        guard name != "password", let handle else { return nil }
        return LibPQ.conninfo(handle).first { $0.0 == name }?.1
    }

    /// The server's version as a number (`150018` for 15.18).
    public var serverVersion: Int { handle.map(LibPQ.serverVersion) ?? 0 }

    /// The server process serving this connection (`pg_backend_pid()`).
    public var backendPID: Int32 { handle.map(LibPQ.backendPID) ?? 0 }

    /// A server setting reported at connection (`server_version`, `TimeZone`, `DateStyle` …).
    public func parameterStatus(_ name: String) -> String? { handle.flatMap { LibPQ.parameterStatus($0, name) } }

    // MARK: Statements

    /// Runs one statement with `parameters` (`$1`, `$2` …, sent in binary, typed by each value)
    /// and returns its rows, in binary (read them with `PostgresRow`'s typed accessors).
    /// The corresponding C function is `PQexecParams`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) throws -> PostgresResult {
        let conn = try open()
        let params = try encode(parameters, declared: nil, statement: sql)
        return try takeResult(LibPQ.execParams(conn, sql, params, binaryResults: true), statement: sql)
    }

    /// Runs `sql` through the simple protocol: any number of statements separated by `;`, no
    /// parameters, results in text. For schema files and migrations. Stops at the first error
    /// (the statements before it in the same implicit transaction are rolled back).
    /// The corresponding C function is `PQsendQuery`.
    @discardableResult
    public func execute(script sql: String) throws -> [PostgresResult] {
        let conn = try open()
        guard LibPQ.sendQuery(conn, sql) else { throw connectionError(statement: sql) }
        var results: [PostgresResult] = []
        var failure: PostgresError?
        while let res = LibPQ.getResult(conn) {
            do {
                try check(res, statement: sql)
                results.append(PostgresResult(taking: res, noticeContext: notices))
            } catch {
                LibPQ.clear(res)
                failure = failure ?? (error as? PostgresError ?? PostgresError(.client, "\(error)", statement: sql))
            }
        }
        if let failure { throw failure }
        return results
    }

    /// Runs one statement and gives its rows to `body` one at a time as they arrive (libpq's
    /// single-row mode), so a large result is never held whole. If `body` throws, the remaining
    /// rows are read and dropped, and the error is rethrown.
    public func forEachRow(
        _ sql: String, _ parameters: [PostgresValue] = [], _ body: (PostgresRow) throws -> Void
    ) throws {
        let conn = try open()
        let params = try encode(parameters, declared: nil, statement: sql)
        guard LibPQ.sendQueryParams(conn, sql, params, binaryResults: true) else {
            throw connectionError(statement: sql)
        }
        try readRows(statement: sql, body)
    }

    // MARK: Internals shared by the other files

    /// The open handle, or an error when the connection was closed.
    func open() throws -> LibPQ.Connection {
        guard let handle else { throw PostgresError(.connection, "the connection to \(address) is closed") }
        return handle
    }

    func encode(_ values: [PostgresValue], declared: [PostgresType]?, statement: String) throws -> EncodedParameters {
        do {
            return try EncodedParameters(values, declared: declared)
        } catch var error as PostgresError {
            error.statement = statement
            throw error
        }
    }

    /// Reads single-row results until the end of the statement (after a send and
    /// `setSingleRowMode`), handing each row to `body`.
    func readRows(statement: String, _ body: (PostgresRow) throws -> Void) throws {
        let conn = try open()
        if !LibPQ.setSingleRowMode(conn) {
            logger?.debug("single-row mode refused; reading the whole result")
        }
        var failure: (any Error)?
        while let res = LibPQ.getResult(conn) {
            guard failure == nil else {
                LibPQ.clear(res)
                continue
            }
            do {
                try check(res, statement: statement)
            } catch {
                LibPQ.clear(res)
                failure = error
                continue
            }
            do {
                for row in PostgresResult(taking: res, noticeContext: notices) { try body(row) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// A result that must be a success, taken over (cleared when the last copy of it goes).
    func takeResult(_ res: LibPQ.Result?, statement: String?) throws -> PostgresResult {
        guard let res else { throw connectionError(statement: statement) }
        do {
            try check(res, statement: statement)
        } catch {
            LibPQ.clear(res)
            throw error
        }
        return PostgresResult(taking: res, noticeContext: notices)
    }

    /// Runs `body` on a result that must be a success, clearing it afterwards.
    func withResult<T>(_ res: LibPQ.Result?, statement: String?, _ body: (LibPQ.Result) throws -> T) throws -> T {
        guard let res else { throw connectionError(statement: statement) }
        defer { LibPQ.clear(res) }
        try check(res, statement: statement)
        return try body(res)
    }

    /// Throws the result's error unless it is a success (a command, rows, or an empty query).
    func check(_ res: LibPQ.Result, statement: String?) throws {
        switch LibPQ.status(res) {
        case .commandOK, .tuplesOK, .singleTuple, .emptyQuery, .pipelineSync:
            return
        case .copyIn, .copyBoth:
            if let handle { _ = LibPQ.putCopyEnd(handle, failure: "COPY is not supported here") }
            drainResults()
            throw PostgresError(.client, "COPY needs copyIn or copyOut", statement: statement)
        case .copyOut:
            if let handle { while LibPQ.getCopyData(handle, { _ in }) > 0 {} }
            drainResults()
            throw PostgresError(.client, "COPY needs copyIn or copyOut", statement: statement)
        case .pipelineAborted:
            throw PostgresError(.server, "not run: an earlier statement in the pipeline failed", statement: statement)
        default:
            let error = error(from: res, statement: statement)
            // Every prepared statement runs through here: whichever call finds one gone, the
            // next call on the connection prepares again rather than failing the same way.
            if error.sqlState == PostgresError.SQLState.invalidStatementName { forgetPreparedStatements() }
            throw error
        }
    }

    /// The error a failed result carries: SQLSTATE, primary message, constraint, statement.
    func error(from res: LibPQ.Result, statement: String?) -> PostgresError {
        let sqlState = LibPQ.errorField(res, "C")
        let message = LibPQ.errorField(res, "M") ?? LibPQ.resultErrorMessage(res)
        let lost = !isOpen || sqlState?.hasPrefix("08") == true
        return PostgresError(
            lost ? .connection : (sqlState == nil ? .client : .server),
            Self.scrub(message.trimmingTrailingNewlines(), secrets), sqlState: sqlState, statement: statement,
            constraint: LibPQ.errorField(res, "n"))
    }

    /// The connection's last error (when libpq returns no result or refuses to send).
    func connectionError(statement: String?) -> PostgresError {
        let message = handle.map { Self.scrub(LibPQ.errorMessage($0).trimmingTrailingNewlines(), secrets) }
        return PostgresError(
            isOpen ? .client : .connection, message ?? "the connection to \(address) is closed", statement: statement)
    }

    /// Reads and drops the results of the command in progress.
    func drainResults() {
        guard let handle else { return }
        while let res = LibPQ.getResult(handle) { LibPQ.clear(res) }
    }

    static func scrub(_ message: String, _ secrets: [String]) -> String {
        var message = message
        for secret in secrets where !secret.isEmpty { message = message.replacing(secret, with: "***") }
        return CredentialRedaction.mask(string: message)
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last.isNewline || last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// Where the server's notices go: the connection's logger at debug, or nowhere.
final class NoticeSink {
    let logger: Logger?
    init(logger: Logger?) { self.logger = logger }
}

private func receiveNotice(_ context: UnsafeMutableRawPointer?, _ message: UnsafePointer<CChar>?) {
    guard let context, let message else { return }
    let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
    sink.logger?.debug("notice: \(String(cString: message).trimmingTrailingNewlines())")
}
