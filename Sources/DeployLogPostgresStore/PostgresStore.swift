import DeployLogCompression
public import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation
public import Logging

/// The log in PostgreSQL: the same protocol and semantics as the file store, in
/// `deploylog.events` (one row per event) and `deploylog.dictionaries`, for shared and larger
/// deployments. The address is a `postgres://` / `postgresql://` URL (or libpq conninfo);
/// passwords never appear in its errors or logs (`address` is redacted).
///
/// Every event row holds exactly the bytes the file store would hold for it: the canonical
/// bytes, packed and LZ4-compressed against a dictionary, and the same SHA-256 chain hash, so
/// `copy` moves a log between the backends unchanged. See `PostgresStore+Append.swift` for how
/// positions stay gapless and in commit order under concurrent writers.
///
/// Every call blocks on libpq: call from threads of your own, not Swift's shared task pool.
/// Calls from many threads at once are fine: each takes a connection of its own.
public final class PostgresStore: EventStore, EventImporting, @unchecked Sendable {
    public struct Options: Sendable {
        /// The store's clock (for `recordedAt`).
        public var clock: @Sendable () -> Timestamp = { Timestamp.now() }
        /// Appends of at least this many new events are written with binary COPY; smaller ones
        /// with one multi-row INSERT sent in the same round trip as COMMIT.
        public var copyThreshold = 100
        /// Rows fetched per query when reading (a keyset cursor over `position`): what a read
        /// holds in memory at once. At least 1 (a smaller value is taken as 1: a page of none
        /// would read as the end of the log).
        public var readPageSize = 4096 { didSet { readPageSize = max(1, readPageSize) } }
        public var logger: Logger?
        public init() {}
    }

    /// The connection string with any password replaced by `***`.
    public let address: String
    let options: Options
    let pool: ConnectionPool
    /// The head and stream versions last seen under the writers' lock, for one-round-trip appends.
    let hints = AppendHints()
    /// Guards `dictionaries`.
    private let dictionaryLock = NSLock()
    private var dictionaries: [UInt32: LZ4Dictionary] = [:]
    /// The dictionary new events are compressed with.
    let currentDictionary: LZ4Dictionary
    /// Compressors loaded with it, kept between appends (loading the dictionary costs more
    /// than compressing a small event); one per concurrent append.
    private var compressors: [LZ4Compressor] = []

    // MARK: Creating and opening

    /// Creates the schema in the database at `url` if it is missing (idempotent) and opens it.
    ///
    /// A complete store is only read: its setup (`PostgresStoreSQL.schema`) runs when the
    /// events table or one of the append-only triggers is missing, and the current dictionary
    /// is inserted only when the store lacks it. So a role that may merely read and append
    /// (USAGE on the schema, SELECT and INSERT on its tables) can resume a `copy` into it, and
    /// appenders are never made to wait. A store whose triggers were dropped is repaired: the
    /// store is append-only by its triggers, and writing on into one without them would hide
    /// that it no longer is. A role that may not restore them gets an error saying so.
    public static func create(url: String, options: Options = Options()) throws(StoreError) -> PostgresStore {
        let address = PostgresURL.redacted(url)
        let connection = try connect(url, address: address, logger: options.logger)
        do {
            let state = try connection.query(PostgresStoreSQL.setUpState, [])[0]
            let exists = try state.bool(0)
            let missing = try state.array(1, of: String.self)
            if !exists || !missing.isEmpty {
                do {
                    try connection.execute(script: PostgresStoreSQL.schema)
                } catch let error as PostgresError where exists && error.sqlState == insufficientPrivilege {
                    let one = missing.count == 1
                    throw StoreError(
                        .io,
                        "the store in \(address) lacks its append-only trigger\(one ? "" : "s") "
                            + "\(missing.joined(separator: ", ")), and this role may not restore \(one ? "it" : "them") "
                            + "(\(error.message)); run `deploylog --store URL init` as the owner of deploylog.events")
                }
            }
            let d = StoredEventCodec.defaultDictionary
            if try !connection.query(PostgresStoreSQL.hasDictionary, [.int4(Int32(d.id))])[0].bool(0) {
                try connection.query(PostgresStoreSQL.insertDictionary, [.int4(Int32(d.id)), .bytea(d.bytes)])
            }
        } catch {
            throw PostgresStore.storeError(error, address: address, doing: "creating the store")
        }
        return try PostgresStore(url: url, address: address, connection: connection, options: options)
    }

    /// SQLSTATE 42501: the role may not do it (here: not the owner of what the setup replaces).
    private static let insufficientPrivilege = "42501"

    /// Opens the store in the database at `url`; `notFound` when `init` never ran there.
    public static func open(url: String, options: Options = Options()) throws(StoreError) -> PostgresStore {
        let address = PostgresURL.redacted(url)
        let connection = try connect(url, address: address, logger: options.logger)
        let exists: Bool
        do { exists = try connection.query(PostgresStoreSQL.exists, [])[0].bool(0) } catch {
            throw PostgresStore.storeError(error, address: address, doing: "opening the store")
        }
        guard exists else {
            throw StoreError(.notFound, "no deploylog store in \(address) (run `deploylog --store URL init`)")
        }
        return try PostgresStore(url: url, address: address, connection: connection, options: options)
    }

    private init(url: String, address: String, connection: PostgresConnection, options: Options) throws(StoreError) {
        self.address = address
        self.options = options
        pool = ConnectionPool(url: url, logger: options.logger, first: connection)
        currentDictionary = StoredEventCodec.defaultDictionary
        try reloadDictionaries()
        guard dictionaries[currentDictionary.id] == currentDictionary else {
            throw StoreError(
                .corruption, "dictionary \(currentDictionary.id) in \(address) is not the one this version writes with")
        }
    }

    deinit { pool.closeAll() }

    private static func connect(_ url: String, address: String, logger: Logger?) throws(StoreError)
        -> PostgresConnection
    {
        do { return try ConnectionPool.connect(url, logger: logger) } catch {
            throw storeError(error, address: address, doing: "connecting")
        }
    }

    /// Runs `body` with a connection; any error becomes a `StoreError` naming what was being done.
    ///
    /// Run again, once, when the server no longer knew a statement the connection had prepared
    /// (`DEALLOCATE ALL` or `DISCARD ALL` reached the session, a pooler's reset): the connection
    /// has forgotten them too and prepares anew. Safe because every operation of the store
    /// commits only at its end (its last COMMIT, or the sync of a pipeline's implicit
    /// transaction): a statement refused before that aborted the transaction, so nothing of the
    /// operation was stored, and an append is idempotent by event id anyway.
    func withConnection<T>(doing what: String, _ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        do {
            do { return try pool.with(body) } catch let e as PostgresError
                where e.sqlState == PostgresError.SQLState.invalidStatementName
            {
                options.logger?.debug("prepared statements dropped by the server; \(what) again")
                return try pool.with(body)
            }
        } catch {
            throw PostgresStore.storeError(error, address: address, doing: what)
        }
    }

    /// A store error for `error`: a lost or refused connection is `unavailable` (with the
    /// address, password redacted), a duplicate key a `conflict`, anything else from the server `io`.
    static func storeError(_ error: any Error, address: String, doing what: String) -> StoreError {
        switch error {
        case let e as StoreError:
            return e
        case let e as PostgresError where e.kind == .connection && e.message.hasPrefix("invalid connection string"):
            return StoreError(.invalidRequest, e.message)
        case let e as PostgresError
        where e.kind == .connection || e.sqlState?.hasPrefix("08") == true
            || e.sqlState == PostgresError.SQLState.adminShutdown || e.sqlState == "57P02" || e.sqlState == "57P03":
            // A write whose connection is lost may or may not have committed: say how to find out.
            let retry =
                what == "appending" || what == "importing"
                ? "; it may or may not have been stored: retry with the same event ids (a retry never duplicates)" : ""
            return StoreError(.unavailable, "\(address) is unavailable while \(what): \(e.message)\(retry)")
        case let e as PostgresError where e.sqlState == PostgresError.SQLState.uniqueViolation:
            return StoreError(
                .conflict, "\(what): another writer stored the same event or stream version (\(e.message))")
        case let e as PostgresError:
            return StoreError(
                .io,
                "database error while \(what) in \(address): \(e.message)"
                    + (e.sqlState.map { " (SQLSTATE \($0))" } ?? ""))
        default:
            return StoreError(.io, "\(what) in \(address): \(error)")
        }
    }

    // MARK: Dictionaries

    /// Reads every dictionary of the store.
    func reloadDictionaries() throws(StoreError) {
        let rows = try withConnection(doing: "reading dictionaries") { c in
            try c.query(PostgresStoreSQL.dictionaries, [])
        }
        var found = [UInt32: LZ4Dictionary]()
        do {
            for row in rows {
                let id = try row.int32(0)
                guard id > 0 else { continue }
                found[UInt32(id)] = LZ4Dictionary(id: UInt32(id), bytes: try row.bytes(1))
            }
        } catch {
            throw StoreError(.corruption, "unreadable dictionary row in \(address): \(error)")
        }
        dictionaryLock.lock()
        dictionaries = found
        dictionaryLock.unlock()
    }

    /// A decompressor that knows every dictionary read so far.
    func decompressor() -> LZ4Decompressor {
        dictionaryLock.lock()
        defer { dictionaryLock.unlock() }
        return LZ4Decompressor(dictionaries: Array(dictionaries.values))
    }

    /// Runs `body` with a compressor of the current dictionary that no other thread uses.
    func withCompressor<T>(_ body: (LZ4Compressor) throws -> T) rethrows -> T {
        dictionaryLock.lock()
        let compressor = compressors.popLast() ?? LZ4Compressor(dictionary: currentDictionary)
        dictionaryLock.unlock()
        defer {
            dictionaryLock.lock()
            if compressors.count < 4 { compressors.append(compressor) }
            dictionaryLock.unlock()
        }
        return try body(compressor)
    }

    func knowsDictionary(_ id: UInt32) -> Bool {
        dictionaryLock.lock()
        defer { dictionaryLock.unlock() }
        return id == 0 || dictionaries[id] != nil
    }

    // MARK: Head, checkpoints, stream versions

    public func head() throws(StoreError) -> Checkpoint {
        try withConnection(doing: "reading the head") { c in try Self.head(on: c) }
    }

    /// The head as `c` sees it now.
    static func head(on c: PostgresConnection) throws -> Checkpoint {
        let rows = try c.query(PostgresStoreSQL.head, [])
        guard let row = rows.first else { return Checkpoint(position: 0, hash: ChainHash.genesis.hex) }
        return Checkpoint(position: try row.int64(0), hash: Hex.encode(try row.bytes(1)))
    }

    public func checkpoint(at position: Int64) throws(StoreError) -> Checkpoint {
        if position == 0 { return Checkpoint(position: 0, hash: ChainHash.genesis.hex) }
        let hash: [UInt8]? = try withConnection(doing: "reading position \(position)") { c in
            guard position > 0, let row = try c.query(PostgresStoreSQL.hashAt, [.int8(position)]).first else {
                return nil
            }
            return try row.bytes(0)
        }
        guard let hash else {
            let head = try self.head().position
            throw StoreError(.invalidRequest, "position \(position) is beyond the head (\(head))", position: position)
        }
        return Checkpoint(position: position, hash: Hex.encode(hash))
    }

    public func streamVersion(of stream: String) throws(StoreError) -> Int64? {
        try withConnection(doing: "reading stream \(stream)") { c in
            try c.query(PostgresStoreSQL.streamVersion, [.text(stream)])[0].get(0, as: Int64?.self)
        }
    }

    /// The event at `position`.
    public func event(at position: Int64) throws -> RecordedEvent {
        var found: RecordedEvent?
        try read(from: position, filter: EventFilter(throughPosition: position), limit: 1) {
            found = $0; return false
        }
        guard let found, found.position == position else {
            throw StoreError(
                .invalidRequest, "no event at position \(position) (head is \(try head().position))", position: position
            )
        }
        return found
    }
}

extension EventID {
    /// As a Foundation UUID (the bytes PostgreSQL's `uuid` holds).
    var uuid: UUID {
        let h = high
        let l = low
        func b(_ v: UInt64, _ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: v >> (56 - 8 * i)) }
        return UUID(
            uuid: (
                b(h, 0), b(h, 1), b(h, 2), b(h, 3), b(h, 4), b(h, 5), b(h, 6), b(h, 7),
                b(l, 0), b(l, 1), b(l, 2), b(l, 3), b(l, 4), b(l, 5), b(l, 6), b(l, 7)
            ))
    }

    /// From a Foundation UUID, bytes as they are (no version bits set).
    init(_ uuid: UUID) {
        let u = uuid.uuid
        let bytes = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(bytes[i]) }
        self.init(high: hi, low: lo)
    }
}
