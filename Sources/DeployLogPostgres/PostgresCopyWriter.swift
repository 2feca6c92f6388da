/// Rows for `COPY … FROM STDIN (FORMAT binary)`, encoded in PostgreSQL's binary COPY format
/// and sent in chunks of about 256 KiB (`PQputCopyData`).
///
/// The format: a header (`PGCOPY\n\377\r\n\0`, 32-bit flags, 32-bit extension length), then per
/// row a 16-bit field count and per field a 32-bit length (-1 for NULL) and the value's binary
/// form, then a 16-bit -1 trailer. Binary COPY does not convert types: each value must be sent
/// as its column's exact type, so give `columnTypes` to `copyIn` to have values converted
/// (an `.int8` into an `int4` column …), or use values of the column types.
public final class PostgresCopyWriter {
    static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
    static let chunkSize = 256 * 1024

    private unowned let connection: PostgresConnection
    private let statement: String
    /// The columns' types, when the caller gave them.
    public let columnTypes: [PostgresType]?
    private var buffer: [UInt8] = []
    private var fieldCount: Int?
    /// Rows written so far.
    public private(set) var rowCount = 0

    init(connection: PostgresConnection, statement: String, columnTypes: [PostgresType]?) {
        self.connection = connection
        self.statement = statement
        self.columnTypes = columnTypes
        fieldCount = columnTypes?.count
        buffer.reserveCapacity(Self.chunkSize + 4096)
        buffer.append(contentsOf: Self.signature)
        buffer.appendBigEndian(Int32(0))  // flags: no OIDs
        buffer.appendBigEndian(Int32(0))  // header extension length
    }

    /// Appends one row: one value per column, in the COPY's column order.
    public func writeRow(_ values: [PostgresValue]) throws {
        if let fieldCount, fieldCount != values.count {
            throw PostgresError(
                .client, "row \(rowCount + 1) has \(values.count) fields, expected \(fieldCount)", statement: statement)
        }
        fieldCount = values.count
        guard let count = Int16(exactly: values.count) else {
            throw PostgresError(.client, "too many fields: \(values.count)", statement: statement)
        }
        let rowStart = buffer.count
        buffer.appendBigEndian(count)
        for (index, value) in values.enumerated() {
            if value.isNull {
                buffer.appendBigEndian(Int32(-1))
                continue
            }
            let lengthAt = buffer.count
            buffer.appendBigEndian(Int32(0))
            do {
                try value.appendBinary(as: columnTypes?[index] ?? .unspecified, to: &buffer)
            } catch var error as PostgresError {
                buffer.removeSubrange(rowStart...)
                error.message = "row \(rowCount + 1), field \(index + 1): " + error.message
                error.statement = statement
                throw error
            }
            guard let length = Int32(exactly: buffer.count - lengthAt - 4) else {
                buffer.removeSubrange(rowStart...)
                throw PostgresError(
                    .client, "row \(rowCount + 1), field \(index + 1) is too large", statement: statement)
            }
            withUnsafeBytes(of: length.bigEndian) { bytes in
                for i in 0..<4 { buffer[lengthAt + i] = bytes[i] }
            }
        }
        rowCount += 1
        if buffer.count >= Self.chunkSize { try flush() }
    }

    /// Appends one row that `encode` writes itself, already in the binary COPY form: a 16-bit
    /// field count, then per field a 32-bit length (-1 for NULL) and the value's binary bytes,
    /// all big-endian. For callers that encode many rows of known types without a
    /// `PostgresValue` per field; nothing is checked here, the server refuses a malformed row.
    public func writeEncodedRow(_ encode: (inout [UInt8]) throws -> Void) throws {
        let rowStart = buffer.count
        do { try encode(&buffer) } catch {
            buffer.removeSubrange(rowStart...)
            throw error
        }
        rowCount += 1
        if buffer.count >= Self.chunkSize { try flush() }
    }

    /// Sends what is buffered.
    func flush() throws {
        guard !buffer.isEmpty else { return }
        let conn = try connection.open()
        let sent = buffer.withUnsafeBytes { LibPQ.putCopyData(conn, $0) }
        guard sent == 1 else { throw connection.connectionError(statement: statement) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Appends the trailer and sends the rest.
    func finish() throws {
        buffer.appendBigEndian(Int16(-1))
        try flush()
    }
}

extension PostgresConnection {
    /// Runs `COPY … FROM STDIN (FORMAT binary)` (the statement in `sql`) and lets `body` write
    /// its rows; returns the number of rows the server stored. If `body` throws, the COPY is
    /// aborted (nothing is stored) and the error is rethrown.
    /// The corresponding C functions are `PQputCopyData` and `PQputCopyEnd`.
    @discardableResult
    public func copyIn(
        _ sql: String, columnTypes: [PostgresType]? = nil, _ body: (PostgresCopyWriter) throws -> Void
    ) throws -> Int {
        let conn = try open()
        guard let start = LibPQ.exec(conn, sql) else { throw connectionError(statement: sql) }
        let status = LibPQ.status(start)
        if status != .copyIn {
            defer { LibPQ.clear(start) }
            // A failed statement throws its own error; any other (a query, an empty one)
            // is not a COPY. Either way `start` is cleared once, by the defer.
            try check(start, statement: sql)
            throw PostgresError(.client, "not a COPY … FROM STDIN statement", statement: sql)
        }
        LibPQ.clear(start)
        let writer = PostgresCopyWriter(connection: self, statement: sql, columnTypes: columnTypes)
        do {
            try body(writer)
            try writer.finish()
        } catch {
            _ = LibPQ.putCopyEnd(conn, failure: "aborted by the client")
            drainResults()
            throw error
        }
        guard LibPQ.putCopyEnd(conn, failure: nil) == 1 else {
            let error = connectionError(statement: sql)
            drainResults()
            throw error
        }
        var failure: PostgresError?
        var stored = 0
        while let res = LibPQ.getResult(conn) {
            defer { LibPQ.clear(res) }
            do {
                try check(res, statement: sql)
                stored = Int(LibPQ.commandTuples(res)) ?? writer.rowCount
            } catch let error as PostgresError {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return stored
    }

    /// `copyIn` into `table`'s `columns`, each name quoted: `COPY "schema"."table" ("a", "b")
    /// FROM STDIN (FORMAT binary)`.
    @discardableResult
    public func copyIn(
        schema: String? = nil, table: String, columns: [String], columnTypes: [PostgresType]? = nil,
        _ body: (PostgresCopyWriter) throws -> Void
    ) throws -> Int {
        let name = try schema.map { try PostgresIdentifier.quote(schema: $0, table) } ?? PostgresIdentifier.quote(table)
        let list = try columns.map(PostgresIdentifier.quote).joined(separator: ", ")
        return try copyIn("COPY \(name) (\(list)) FROM STDIN (FORMAT binary)", columnTypes: columnTypes, body)
    }
}
