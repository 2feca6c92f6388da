import Foundation

/// One field as it came from the server, handed to `PostgresDecodable` initialisers.
public struct PostgresField {
    public var type: PostgresType
    /// Binary (the type's `send` format) or text (its output format).
    public var isBinary: Bool
    /// The field's bytes, nil for NULL; valid only during the call that receives the field.
    public var bytes: UnsafeRawBufferPointer?

    public init(type: PostgresType, isBinary: Bool, bytes: UnsafeRawBufferPointer?) {
        self.type = type
        self.isBinary = isBinary
        self.bytes = bytes
    }

    /// The bytes, or an error for NULL.
    func nonNull() throws -> UnsafeRawBufferPointer {
        guard let bytes else { throw PostgresError(.client, "unexpected NULL") }
        return bytes
    }

    func mismatch(_ expected: String) -> PostgresError {
        PostgresError(.client, "cannot read \(type)\(isBinary ? "" : " (text)") as \(expected)")
    }

    /// The text of a text-format field.
    func text() throws -> String { String(decoding: try nonNull(), as: UTF8.self) }

    func bigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let bytes = try nonNull()
        guard bytes.count == MemoryLayout<T>.size else {
            throw PostgresError(.client, "\(type) field of \(bytes.count) bytes, expected \(MemoryLayout<T>.size)")
        }
        return T(bigEndian: bytes.loadUnaligned(as: T.self))
    }
}

/// A Swift type that can be read from a result field: `Int64`, `Int32`, `Int`, `Bool`, `Double`,
/// `String`, `[UInt8]`, `UUID`, `PostgresInterval`, and `Optional` of any of them (NULL reads
/// as nil). Arrays are read with `PostgresRow.array(_:of:)`.
public protocol PostgresDecodable {
    init(postgresField field: PostgresField) throws
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        self = field.bytes == nil ? nil : try Wrapped(postgresField: field)
    }
}

extension Int64: PostgresDecodable {
    /// From int2, int4, int8 and oid; from timestamptz and timestamp as microseconds since the
    /// Unix epoch; from the text of an integer.
    public init(postgresField field: PostgresField) throws {
        guard field.isBinary else {
            guard let value = Int64(try field.text()) else { throw field.mismatch("Int64") }
            self = value
            return
        }
        switch field.type {
        case .int8: self = try field.bigEndian(Int64.self)
        case .int4: self = Int64(try field.bigEndian(Int32.self))
        case .int2: self = Int64(try field.bigEndian(Int16.self))
        case .oidType: self = Int64(try field.bigEndian(UInt32.self))
        case .timestamptz, .timestamp: self = try PostgresBinary.toUnixEpoch(try field.bigEndian(Int64.self))
        default: throw field.mismatch("Int64")
        }
    }
}

extension Int32: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        guard let value = Int32(exactly: try Int64(postgresField: field)) else {
            throw PostgresError(.client, "value does not fit in Int32")
        }
        self = value
    }
}

extension Int: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        self = Int(try Int64(postgresField: field))
    }
}

extension Bool: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        if field.isBinary {
            guard field.type == .bool else { throw field.mismatch("Bool") }
            self = try field.bigEndian(UInt8.self) != 0
        } else {
            switch try field.text() {
            case "t", "true": self = true
            case "f", "false": self = false
            default: throw field.mismatch("Bool")
            }
        }
    }
}

extension Double: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        guard field.isBinary else {
            guard let value = Double(try field.text()) else { throw field.mismatch("Double") }
            self = value
            return
        }
        switch field.type {
        case .float8: self = Double(bitPattern: try field.bigEndian(UInt64.self))
        case .float4: self = Double(Float(bitPattern: try field.bigEndian(UInt32.self)))
        case .int2, .int4, .int8: self = Double(try Int64(postgresField: field))
        case .numeric:
            guard let value = Double(try PostgresNumeric.text(try field.nonNull())) else {
                throw field.mismatch("Double")
            }
            self = value
        default: throw field.mismatch("Double")
        }
    }
}

extension String: PostgresDecodable {
    /// From text-like types and json/jsonb in binary, and from any field of a text-format result.
    public init(postgresField field: PostgresField) throws {
        let bytes = try field.nonNull()
        if !field.isBinary || field.type.isTextLike {
            self = String(decoding: bytes, as: UTF8.self)
        } else if field.type == .numeric {
            self = try PostgresNumeric.text(bytes)
        } else if field.type == .jsonb {
            guard bytes.first == 1 else { throw PostgresError(.client, "unknown jsonb binary version") }
            self = String(decoding: UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), as: UTF8.self)
        } else {
            throw field.mismatch("String")
        }
    }
}

extension [UInt8]: PostgresDecodable {
    /// A bytea (binary, or the text form's `\x` hex), or the binary form of any other type.
    public init(postgresField field: PostgresField) throws {
        let bytes = try field.nonNull()
        if field.isBinary {
            self = Array(bytes)
            return
        }
        guard field.type == .bytea else { throw field.mismatch("[UInt8]") }
        guard bytes.count >= 2, bytes.count % 2 == 0, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x")
        else {
            throw PostgresError(.client, "bytea text is not in hex format")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw PostgresError(.client, "bytea text is not in hex format")
            }
        }
        var result = [UInt8]()
        result.reserveCapacity((bytes.count - 2) / 2)
        var index = 2
        while index < bytes.count {
            result.append(try nibble(bytes[index]) << 4 | nibble(bytes[index + 1]))
            index += 2
        }
        self = result
    }
}

extension UUID: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        if field.isBinary {
            guard field.type == .uuid else { throw field.mismatch("UUID") }
            let bytes = try field.nonNull()
            guard bytes.count == 16 else { throw PostgresError(.client, "uuid field of \(bytes.count) bytes") }
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: bytes) }
            self.init(uuid: value)
        } else {
            guard let value = UUID(uuidString: try field.text()) else { throw field.mismatch("UUID") }
            self = value
        }
    }
}

extension PostgresInterval: PostgresDecodable {
    public init(postgresField field: PostgresField) throws {
        guard field.isBinary, field.type == .interval else { throw field.mismatch("PostgresInterval") }
        let bytes = try field.nonNull()
        guard bytes.count == 16 else { throw PostgresError(.client, "interval field of \(bytes.count) bytes") }
        self.init(
            months: Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: Int32.self)),
            days: Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int32.self)),
            microseconds: Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)))
    }
}

extension PostgresField {
    /// The elements of a one-dimensional binary array (`array_send`), each as a field of the
    /// element type; an empty array has none.
    func arrayElements<T>(_ body: (PostgresField) throws -> T) throws -> [T] {
        let bytes = try nonNull()
        guard isBinary, type.elementType != nil else { throw mismatch("an array (of a binary result)") }
        func int32(_ offset: Int) throws -> Int32 {
            guard offset + 4 <= bytes.count else { throw PostgresError(.client, "truncated array field") }
            return Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
        }
        let dimensions = try int32(0)
        let element = PostgresType(oid: UInt32(bitPattern: try int32(8)))
        guard dimensions <= 1 else {
            throw PostgresError(.client, "\(dimensions)-dimensional arrays are not supported")
        }
        if dimensions == 0 { return [] }
        let count = Int(try int32(12))
        // Each element takes at least its 4-byte length: a count the field cannot hold is
        // malformed (and a negative one would trap in the loop below).
        guard count >= 0, count <= (bytes.count - 20) / 4 else {
            throw PostgresError(.client, "malformed array field: \(count) elements in \(bytes.count) bytes")
        }
        var offset = 20
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try int32(offset))
            offset += 4
            if length < 0 {
                result.append(try body(PostgresField(type: element, isBinary: true, bytes: nil)))
                continue
            }
            guard offset + length <= bytes.count else { throw PostgresError(.client, "truncated array field") }
            result.append(
                try body(
                    PostgresField(
                        type: element, isBinary: true,
                        bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))))
            offset += length
        }
        return result
    }
}
