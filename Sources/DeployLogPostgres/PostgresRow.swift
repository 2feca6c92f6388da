import Foundation

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
        try cell(column) == nil
    }

    /// The field at `column` decoded as `T` (a NULL is an error unless `T` is optional).
    public func get<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        let bytes = try cell(column)
        let info = storage.columns[column]
        do {
            return try withExtendedLifetime(storage) {
                try T(postgresField: PostgresField(type: info.type, isBinary: info.isBinary, bytes: bytes))
            }
        } catch var error as PostgresError {
            error.message = "column \(column) (\(info.name)): " + error.message
            throw error
        }
    }

    /// Calls `body` with the field's bytes as they came from the server (binary or text form,
    /// see `columns`), without copying them; nil for NULL. The buffer is valid only in `body`.
    public func withBytes<R>(_ column: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        let bytes = try cell(column)
        return try withExtendedLifetime(storage) { try body(bytes) }
    }

    public func int64(_ column: Int) throws -> Int64 {
        if let v = binaryInteger(column, of: .int8, as: Int64.self) { return v }
        return try get(column)
    }

    public func int32(_ column: Int) throws -> Int32 {
        if let v = binaryInteger(column, of: .int4, as: Int32.self) { return v }
        return try get(column)
    }
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

    /// A one-dimensional array field (binary results) as `[T]` (`[String?]` when it may hold NULLs).
    public func array<T: PostgresDecodable>(_ column: Int, of type: T.Type = T.self) throws -> [T] {
        let bytes = try cell(column)
        let info = storage.columns[column]
        do {
            return try withExtendedLifetime(storage) {
                try PostgresField(type: info.type, isBinary: info.isBinary, bytes: bytes).arrayElements {
                    try T(postgresField: $0)
                }
            }
        } catch var error as PostgresError {
            error.message = "column \(column) (\(info.name)): " + error.message
            throw error
        }
    }

    /// The field as a `PostgresValue`, chosen by the column's type; text for types without a
    /// binary decoding here, and for every column of a text-format result.
    public func value(_ column: Int) throws -> PostgresValue {
        let bytes = try cell(column)
        let info = storage.columns[column]
        do {
            return try withExtendedLifetime(storage) {
                try Self.value(of: PostgresField(type: info.type, isBinary: info.isBinary, bytes: bytes))
            }
        } catch var error as PostgresError {
            error.message = "column \(column) (\(info.name)): " + error.message
            throw error
        }
    }

    static func value(of field: PostgresField) throws -> PostgresValue {
        if field.bytes == nil { return .null }
        guard field.isBinary else { return .text(try String(postgresField: field)) }
        switch field.type {
        case .bool: return .bool(try Bool(postgresField: field))
        case .int2: return .int2(Int16(try Int32(postgresField: field)))
        case .int4: return .int4(try Int32(postgresField: field))
        case .int8: return .int8(try Int64(postgresField: field))
        case .float4, .float8: return .float8(try Double(postgresField: field))
        case .bytea: return .bytea(try [UInt8](postgresField: field))
        case .timestamptz, .timestamp: return .timestamptz(try Int64(postgresField: field))
        case .jsonb: return .jsonb(try String(postgresField: field))
        case .json: return .json(try String(postgresField: field))
        case .uuid: return .uuid(try UUID(postgresField: field))
        case .numeric: return .numeric(try String(postgresField: field))
        case .interval: return .interval(try PostgresInterval(postgresField: field))
        case let type where type.isTextLike: return .text(try String(postgresField: field))
        case let type where type.elementType != nil:
            return .array(try field.arrayElements { try value(of: $0) }, of: type.elementType!)
        default: throw PostgresError(.client, "no binary decoding for \(field.type)")
        }
    }

    /// The common case of `int64` and `int32`, read straight from the bytes: a binary field of
    /// exactly `type` and its size. Nil for anything else (NULL, text, another type, a bad
    /// length), which `get` then converts or explains, so the result is `get`'s either way;
    /// this only skips building a `PostgresField` and its conversions for a read's every row.
    @inline(__always)
    private func binaryInteger<T: FixedWidthInteger>(_ column: Int, of type: PostgresType, as: T.Type) -> T? {
        let columns = storage.columns
        guard column >= 0 && column < columns.count else { return nil }
        let matches = columns.withUnsafeBufferPointer { $0[column].type == type && $0[column].isBinary }
        guard matches, let bytes = storage.field(row, column), bytes.count == MemoryLayout<T>.size else { return nil }
        return withExtendedLifetime(storage) { T(bigEndian: bytes.loadUnaligned(as: T.self)) }
    }

    /// The field's bytes (nil: NULL), valid while `storage` lives.
    private func cell(_ column: Int) throws -> UnsafeRawBufferPointer? {
        guard column >= 0 && column < count else {
            throw PostgresError(.client, "column \(column) out of range: the row has \(count) columns")
        }
        return storage.field(row, column)
    }
}
