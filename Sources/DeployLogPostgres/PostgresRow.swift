/// One row of a `PostgresResult`: fields read by column index (0-based), with typed accessors.
///
/// `get(_:as:)` decodes any `PostgresDecodable` type, optional types reading NULL as nil:
///
///     let position: Int64 = try row.get(0)
///     let causation = try row.get(3, as: String?.self)
public struct PostgresRow: Sendable {
    let storage: PostgresResult.Storage
    let row: Int

    public var count: Int { storage.columns.count }
    public var columns: [PostgresColumn] { storage.columns }

    public func isNull(_ column: Int) throws -> Bool {
        try cell(column).length < 0
    }

    /// The field at `column` decoded as `T` (a NULL is an error unless `T` is optional).
    public func get<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        let (start, length) = try cell(column)
        let info = storage.columns[column]
        do {
            return try storage.bytes.withUnsafeBytes { raw in
                let bytes = length < 0 ? nil : UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(length)])
                return try T(postgresField: PostgresField(type: info.type, isBinary: info.isBinary, bytes: bytes))
            }
        } catch var error as PostgresError {
            error.message = "column \(column) (\(info.name)): " + error.message
            throw error
        }
    }

    /// Calls `body` with the field's bytes as they came from the server (binary or text form,
    /// see `columns`), without copying them; nil for NULL. The buffer is valid only in `body`.
    public func withBytes<R>(_ column: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        let (start, length) = try cell(column)
        return try storage.bytes.withUnsafeBytes { raw in
            try body(length < 0 ? nil : UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(length)]))
        }
    }

    public func int64(_ column: Int) throws -> Int64 { try get(column) }
    public func int32(_ column: Int) throws -> Int32 { try get(column) }
    public func int(_ column: Int) throws -> Int { try get(column) }
    public func bool(_ column: Int) throws -> Bool { try get(column) }
    public func double(_ column: Int) throws -> Double { try get(column) }
    /// text, varchar, json, jsonb (its text), or any column of a text-format result.
    public func string(_ column: Int) throws -> String { try get(column) }
    public func bytes(_ column: Int) throws -> [UInt8] { try get(column) }
    /// A timestamptz or timestamp as microseconds since 1970-01-01 00:00:00 UTC.
    public func timestamp(_ column: Int) throws -> Int64 {
        _ = try cell(column)
        let info = storage.columns[column]
        guard info.type == .timestamptz || info.type == .timestamp else {
            throw PostgresError(.client, "column \(column) (\(info.name)): expected a timestamp, got \(info.type)")
        }
        return try get(column)
    }

    /// The field as a `PostgresValue`, chosen by the column's type; text for other types.
    public func value(_ column: Int) throws -> PostgresValue {
        if try isNull(column) { return .null }
        let info = storage.columns[column]
        guard info.isBinary else { return .text(try get(column)) }
        switch info.type {
        case .bool: return .bool(try get(column))
        case .int2: return .int2(Int16(try get(column, as: Int32.self)))
        case .int4: return .int4(try get(column))
        case .int8: return .int8(try get(column))
        case .float4, .float8: return .float8(try get(column))
        case .bytea: return .bytea(try get(column))
        case .timestamptz, .timestamp: return .timestamptz(try get(column))
        case .jsonb: return .jsonb(try get(column))
        case .json: return .json(try get(column))
        case .uuid: return .uuid(try get(column))
        case let type where type.isTextLike: return .text(try get(column))
        default: throw PostgresError(.client, "column \(column) (\(info.name)): no binary decoding for \(info.type)")
        }
    }

    private func cell(_ column: Int) throws -> (start: Int, length: Int32) {
        guard column >= 0 && column < count else {
            throw PostgresError(.client, "column \(column) out of range: the row has \(count) columns")
        }
        let index = row * count + column
        return (storage.starts[index], storage.lengths[index])
    }
}
