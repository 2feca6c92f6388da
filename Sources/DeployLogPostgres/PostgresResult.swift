/// The rows and command tag of one statement, copied out of libpq's `PGresult` (which is freed
/// before this is returned), so a result and its rows are plain values that may be kept, passed
/// between threads and read in any order.
///
/// All field bytes sit in one buffer; a row is an index into it.
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

    /// The field bytes of all rows, row-major.
    final class Storage: Sendable {
        let columns: [PostgresColumn]
        let rowCount: Int
        let bytes: [UInt8]
        let starts: [Int]
        /// -1 for NULL.
        let lengths: [Int32]

        init(columns: [PostgresColumn], rowCount: Int, bytes: [UInt8], starts: [Int], lengths: [Int32]) {
            self.columns = columns
            self.rowCount = rowCount
            self.bytes = bytes
            self.starts = starts
            self.lengths = lengths
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
    /// Copies a `PGresult` (which the caller still owns and clears).
    init(copying res: LibPQ.Result) {
        let rowCount = LibPQ.rowCount(res)
        let columnCount = LibPQ.columnCount(res)
        let columns = (0..<columnCount).map {
            PostgresColumn(
                name: LibPQ.columnName(res, $0), type: PostgresType(oid: LibPQ.columnType(res, $0)),
                isBinary: LibPQ.columnIsBinary(res, $0))
        }
        var total = 0
        var starts = [Int]()
        var lengths = [Int32]()
        starts.reserveCapacity(rowCount * columnCount)
        lengths.reserveCapacity(rowCount * columnCount)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                starts.append(total)
                if LibPQ.isNull(res, row, column) {
                    lengths.append(-1)
                } else {
                    let length = LibPQ.length(res, row, column)
                    lengths.append(Int32(length))
                    total += length
                }
            }
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            var cell = 0
            for row in 0..<rowCount {
                for column in 0..<columnCount {
                    defer { cell += 1 }
                    let length = Int(lengths[cell])
                    guard length > 0, let value = LibPQ.value(res, row, column) else { continue }
                    UnsafeMutableRawPointer(buffer.baseAddress! + starts[cell]).copyMemory(
                        from: value, byteCount: length)
                }
            }
            initialized = total
        }
        let tag = LibPQ.commandStatus(res)
        self.init(
            commandTag: tag, affectedRows: Int(LibPQ.commandTuples(res)),
            storage: Storage(columns: columns, rowCount: rowCount, bytes: bytes, starts: starts, lengths: lengths))
    }
}
