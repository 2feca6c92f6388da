extension PostgresConnection {
    /// Runs `COPY … TO STDOUT (FORMAT binary)` (the statement in `sql`) and gives `body` each row
    /// as it arrives; returns the number of rows. Binary COPY carries no types, so
    /// `columnTypes` names them (one per column, in order) for the row accessors.
    /// If `body` throws, the remaining rows are read and dropped and the error is rethrown.
    /// The corresponding C function is `PQgetCopyData`.
    @discardableResult
    public func copyOut(
        _ sql: String, columnTypes: [PostgresType], _ body: (PostgresRow) throws -> Void
    ) throws -> Int {
        let conn = try open()
        guard let start = LibPQ.exec(conn, sql) else { throw connectionError(statement: sql) }
        let status = LibPQ.status(start)
        if status != .copyOut {
            defer { LibPQ.clear(start) }
            // A failed statement throws its own error; any other (a query, an empty one)
            // is not a COPY. Either way `start` is cleared once, by the defer.
            try check(start, statement: sql)
            throw PostgresError(.client, "not a COPY … TO STDOUT statement", statement: sql)
        }
        LibPQ.clear(start)

        let columns = columnTypes.enumerated().map {
            PostgresColumn(name: "\($0.offset + 1)", type: $0.element, isBinary: true)
        }
        var parser = BinaryCopyParser(columns: columns)
        var failure: (any Error)?
        var rows = 0
        while true {
            let count = LibPQ.getCopyData(conn) { chunk in
                guard failure == nil else { return }
                do {
                    try parser.consume(chunk) { row in
                        rows += 1
                        try body(row)
                    }
                } catch {
                    failure = error
                }
            }
            if count == -1 { break }
            if count < -1 {
                failure = failure ?? connectionError(statement: sql)
                break
            }
        }
        while let res = LibPQ.getResult(conn) {
            defer { LibPQ.clear(res) }
            do { try check(res, statement: sql) } catch { failure = failure ?? error }
        }
        if let failure {
            if var error = failure as? PostgresError, error.statement == nil {
                error.statement = sql
                throw error
            }
            throw failure
        }
        if !parser.finished {
            throw PostgresError(.client, "binary COPY data ended without its trailer", statement: sql)
        }
        return rows
    }
}

/// Reads PostgreSQL's binary COPY format from chunks in any split: the header, then rows
/// (16-bit field count, then per field a 32-bit length or -1 and the bytes), then the -1 trailer.
struct BinaryCopyParser {
    let columns: [PostgresColumn]
    private var pending: [UInt8] = []
    private var headerRead = false
    private(set) var finished = false

    init(columns: [PostgresColumn]) { self.columns = columns }

    mutating func consume(_ chunk: UnsafeRawBufferPointer, _ row: (PostgresRow) throws -> Void) throws {
        pending.append(contentsOf: chunk)
        var offset = 0
        defer { pending.removeSubrange(0..<offset) }
        func int<T: FixedWidthInteger>(_: T.Type, at position: Int) -> T? {
            guard position + MemoryLayout<T>.size <= pending.count else { return nil }
            return pending.withUnsafeBytes { T(bigEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
        }
        if !headerRead {
            let fixed = PostgresCopyWriter.signature.count + 8
            guard let extensionLength = int(Int32.self, at: fixed - 4) else { return }
            guard pending.starts(with: PostgresCopyWriter.signature) else {
                throw PostgresError(.client, "not binary COPY data (bad signature)")
            }
            guard pending.count >= fixed + Int(extensionLength) else { return }
            offset = fixed + Int(extensionLength)
            headerRead = true
        }
        while !finished, let fieldCount = int(Int16.self, at: offset) {
            if fieldCount == -1 {
                finished = true
                offset += 2
                break
            }
            guard Int(fieldCount) == columns.count else {
                throw PostgresError(.client, "COPY row has \(fieldCount) fields, \(columns.count) column types given")
            }
            var position = offset + 2
            var starts: [Int] = []
            var lengths: [Int32] = []
            var complete = true
            for _ in 0..<Int(fieldCount) {
                guard let length = int(Int32.self, at: position) else { complete = false; break }
                position += 4
                starts.append(position - offset)
                lengths.append(length)
                if length > 0 { position += Int(length) }
                if position > pending.count { complete = false; break }
            }
            guard complete else { break }
            let storage = PostgresResult.Storage(
                columns: columns, rowCount: 1, bytes: Array(pending[offset..<position]), starts: starts,
                lengths: lengths)
            offset = position
            try row(PostgresRow(storage: storage, row: 0))
        }
    }
}
