import Foundation

/// PostgreSQL's binary formats (`send`/`recv` functions): big-endian integers, IEEE floats,
/// timestamps as microseconds since 2000-01-01, `jsonb` as a version byte (1) and the text.
enum PostgresBinary {
    /// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
    static let epochOffset: Int64 = 946_684_800_000_000

    static func toPostgresEpoch(_ unixMicros: Int64) throws -> Int64 {
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
        default:
            throw PostgresError(.client, "cannot send \(type) as \(target)")
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
        default: throw PostgresError(.client, "cannot send \(type) as \(target)")
        }
    }
}
