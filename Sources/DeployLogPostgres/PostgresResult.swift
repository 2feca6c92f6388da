/// The rows and command tag of one statement: plain values that may be kept, passed between
/// threads and read in any order (concurrently too).
///
/// The rows stay in libpq's `PGresult`, which the result owns (cleared when the last copy of
/// it goes): read where they lie, not copied out first. A read of many rows spent a tenth of
/// its fetching thread's time copying them.
public struct PostgresResult: Sendable, RandomAccessCollection {
    /// The command tag, e.g. `INSERT 0 3`, `SELECT 2`, `COPY 10000`.
    public let commandTag: String
    /// Rows inserted, updated, deleted, selected, copied …; nil for commands without a count.
    public let affectedRows: Int?
    let storage: Storage

    public var columns: [PostgresColumn] { storage.columns }
    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.rowCount }
    public subscript(row: Int) -> PostgresRow {
        precondition(row >= 0 && row < storage.rowCount, "row \(row) out of range 0..<\(storage.rowCount)")
        return PostgresRow(storage: storage, row: row)
    }

    init(commandTag: String, affectedRows: Int?, storage: Storage) {
        self.commandTag = commandTag
        self.affectedRows = affectedRows
        self.storage = storage
    }

    /// A result without rows (a command in a pipeline, an empty result).
    static func empty(commandTag: String = "", affectedRows: Int? = nil) -> PostgresResult {
        PostgresResult(
            commandTag: commandTag, affectedRows: affectedRows,
            storage: Storage(columns: [], rowCount: 0, bytes: [], starts: [], lengths: []))
    }

    /// The field bytes of all rows: a `PGresult` this owns, or bytes of its own (a row of a
    /// binary COPY). Read-only once made, so any number of threads may read it at once.
    final class Storage: @unchecked Sendable {
        let columns: [PostgresColumn]
        let rowCount: Int
        private let result: LibPQ.Result?
        /// What the result's notice hook points to (libpq copies the connection's hooks into
        /// every `PGresult` and may call them from `PQgetvalue` …): kept alive with it, since
        /// a result may outlive its connection.
        private let noticeContext: AnyObject?
        /// Without a `PGresult`: the bytes, and each field's start in them and length (-1: NULL),
        /// row-major.
        private let bytes: UnsafeMutableRawBufferPointer
        private let starts: [Int]
        private let lengths: [Int32]

        init(columns: [PostgresColumn], rowCount: Int, bytes: some Collection<UInt8>, starts: [Int], lengths: [Int32]) {
            self.columns = columns
            self.rowCount = rowCount
            result = nil
            noticeContext = nil
            self.bytes = .allocate(byteCount: bytes.count, alignment: 8)
            _ = self.bytes.initializeMemory(as: UInt8.self, from: bytes)
            self.starts = starts
            self.lengths = lengths
        }

        /// Takes `res` over: it is cleared when this goes. `noticeContext` is the context of
        /// the notice processor of the connection that made it.
        init(taking res: LibPQ.Result, noticeContext: AnyObject?) {
            self.noticeContext = noticeContext
            columns = (0..<LibPQ.columnCount(res)).map {
                PostgresColumn(
                    name: LibPQ.columnName(res, $0), type: PostgresType(oid: LibPQ.columnType(res, $0)),
                    isBinary: LibPQ.columnIsBinary(res, $0))
            }
            rowCount = LibPQ.rowCount(res)
            result = res
            bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            starts = []
            lengths = []
        }

        deinit {
            if let result { LibPQ.clear(result) }
            bytes.deallocate()
        }

        /// The bytes of a field (valid while this lives), nil for NULL. `row` and `column` must
        /// be in range.
        @inline(__always)
        func field(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
            if let result {
                if LibPQ.isNull(result, row, column) { return nil }
                return UnsafeRawBufferPointer(start: LibPQ.value(result, row, column), count: LibPQ.length(result, row, column))
            }
            let index = row * columns.count + column
            let length = lengths[index]
            if length < 0 { return nil }
            return UnsafeRawBufferPointer(rebasing: bytes[starts[index]..<starts[index] + Int(length)])
        }
    }
}

/// A result column: its name, type, and whether its values came in binary or text.
public struct PostgresColumn: Sendable, Hashable {
    public var name: String
    public var type: PostgresType
    public var isBinary: Bool

    public init(name: String, type: PostgresType, isBinary: Bool) {
        self.name = name
        self.type = type
        self.isBinary = isBinary
    }
}

extension PostgresResult {
    /// Takes a `PGresult` over: the caller must not clear it.
    init(taking res: LibPQ.Result, noticeContext: AnyObject?) {
        let tag = LibPQ.commandStatus(res)
        self.init(commandTag: tag, affectedRows: Int(LibPQ.commandTuples(res)), storage: Storage(taking: res, noticeContext: noticeContext))
    }
}
