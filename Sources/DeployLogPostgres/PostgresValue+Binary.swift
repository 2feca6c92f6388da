import Foundation

/// PostgreSQL's binary formats (`send`/`recv` functions): big-endian integers, IEEE floats,
/// timestamps as microseconds since 2000-01-01, `jsonb` as a version byte (1) and the text.
package enum PostgresBinary {
    /// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
    static let epochOffset: Int64 = 946_684_800_000_000

    /// A `timestamptz`'s binary value (microseconds since 2000-01-01) for microseconds since
    /// 1970-01-01; `Int64.max` and `.min` are ±infinity. Package-wide for encoders that write
    /// binary COPY rows themselves, so that they convert exactly as parameters do.
    ///
    /// - Throws: a client error when the time is too far before 2000-01-01 to be counted from it.
    package static func toPostgresEpoch(_ unixMicros: Int64) throws -> Int64 {
        if unixMicros == .max || unixMicros == .min { return unixMicros }  // ±infinity
        let (value, overflow) = unixMicros.subtractingReportingOverflow(epochOffset)
        guard !overflow else { throw PostgresError(.client, "timestamp \(unixMicros) µs is out of range") }
        return value
    }

    static func toUnixEpoch(_ postgresMicros: Int64) throws -> Int64 {
        if postgresMicros == .max || postgresMicros == .min { return postgresMicros }
        let (value, overflow) = postgresMicros.addingReportingOverflow(epochOffset)
        guard !overflow else { throw PostgresError(.client, "timestamp \(postgresMicros) µs is out of range") }
        return value
    }
}

extension [UInt8] {
    @inline(__always) mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension PostgresValue {
    /// Appends the binary form of the value as `target` (its own type when `.unspecified`).
    /// `.null` appends nothing: callers write NULL their own way.
    func appendBinary(as target: PostgresType, to buffer: inout [UInt8]) throws {
        let target = target == .unspecified ? type : target
        switch (self, target) {
        case (.null, _):
            return
        case (.bool(let b), .bool):
            buffer.append(b ? 1 : 0)
        case (.int2(let i), _):
            try Self.appendInteger(i, as: target, to: &buffer, from: type)
        case (.int4(let i), _):
            try Self.appendInteger(i, as: target, to: &buffer, from: type)
        case (.int8(let i), _):
            try Self.appendInteger(i, as: target, to: &buffer, from: type)
        case (.float8(let d), .float8):
            buffer.appendBigEndian(d.bitPattern)
        case (.float8(let d), .float4):
            buffer.appendBigEndian(Float(d).bitPattern)
        case (.text(let s), .jsonb), (.json(let s), .jsonb), (.jsonb(let s), .jsonb):
            buffer.append(1)
            buffer.append(contentsOf: s.utf8)
        case (.text(let s), _) where target.isTextLike,
            (.json(let s), _) where target.isTextLike,
            (.jsonb(let s), _) where target.isTextLike:
            buffer.append(contentsOf: s.utf8)
        case (.bytea(let b), .bytea):
            buffer.append(contentsOf: b)
        case (.timestamptz(let t), .timestamptz), (.timestamptz(let t), .timestamp):
            buffer.appendBigEndian(try PostgresBinary.toPostgresEpoch(t))
        case (.uuid(let u), .uuid):
            Swift.withUnsafeBytes(of: u.uuid) { buffer.append(contentsOf: $0) }
        case (.numeric(let text), .numeric), (.text(let text), .numeric):
            try PostgresNumeric.append(text, to: &buffer)
        case (.interval(let i), .interval):
            buffer.appendBigEndian(i.microseconds)
            buffer.appendBigEndian(i.days)
            buffer.appendBigEndian(i.months)
        case (.array(let elements, let element), let arrayType) where arrayType.elementType != nil:
            try Self.appendArray(elements, declared: element, as: arrayType.elementType!, to: &buffer)
        default:
            throw PostgresError(.client, "cannot send \(type) as \(target)")
        }
    }

    /// `array_send`: dimensions (1, or 0 when empty), a has-NULL flag, the element type, the
    /// length and lower bound (1), then each element as a length (-1 for NULL) and its bytes.
    private static func appendArray(
        _ elements: [PostgresValue], declared: PostgresType, as element: PostgresType, to buffer: inout [UInt8]
    ) throws {
        let element = element == .unspecified ? declared : element
        buffer.appendBigEndian(Int32(elements.isEmpty ? 0 : 1))
        buffer.appendBigEndian(Int32(elements.contains(.null) ? 1 : 0))
        buffer.appendBigEndian(element.oid)
        if !elements.isEmpty {
            buffer.appendBigEndian(Int32(elements.count))
            buffer.appendBigEndian(Int32(1))
        }
        for value in elements {
            if value.isNull {
                buffer.appendBigEndian(Int32(-1))
                continue
            }
            let lengthAt = buffer.count
            buffer.appendBigEndian(Int32(0))
            try value.appendBinary(as: element, to: &buffer)
            let length = Int32(buffer.count - lengthAt - 4)
            Swift.withUnsafeBytes(of: length.bigEndian) { for i in 0..<4 { buffer[lengthAt + i] = $0[i] } }
        }
    }

    private static func appendInteger(
        _ value: some BinaryInteger, as target: PostgresType, to buffer: inout [UInt8], from type: PostgresType
    ) throws {
        func fit<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let v = T(exactly: value) else { throw PostgresError(.client, "\(value) does not fit in \(target)") }
            return v
        }
        switch target {
        case .int8: buffer.appendBigEndian(try fit(Int64.self))
        case .int4: buffer.appendBigEndian(try fit(Int32.self))
        case .int2: buffer.appendBigEndian(try fit(Int16.self))
        case .oidType: buffer.appendBigEndian(try fit(UInt32.self))
        case .float8: buffer.appendBigEndian(Double(value).bitPattern)
        case .numeric: try PostgresNumeric.append(String(value), to: &buffer)
        default: throw PostgresError(.client, "cannot send \(type) as \(target)")
        }
    }
}
