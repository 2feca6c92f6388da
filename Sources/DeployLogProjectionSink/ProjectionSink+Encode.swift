import DeployLogEvents
import DeployLogPostgres

/// Encodes a projector's rows straight from their `JSONValue` cells into the binary COPY
/// buffer, by column type, without a `PostgresValue` per cell. A cell the fast path does not
/// take (a type it does not know, a value that does not fit or is refused) sends its whole
/// row through `ProjectionSink.value(_:as:column:table:)` and `writeRow` instead, so the bytes
/// and the errors are those of that path.
struct CopyRowEncoder {
    enum Kind {
        case int2, int4, int8, bool, timestamp, jsonb, text, other
        /// text[] or varchar[] (their element type's OID): arrays of strings and NULLs.
        case textArray(UInt32)
    }

    struct SlowPath: Error {}

    let kinds: [Kind]
    let fieldCount: Int16
    /// Reused for jsonb cells: its `bytes` is swapped with the COPY buffer while it writes.
    var json = CanonicalJSONWriter(reservingCapacity: 0)

    init(types: [PostgresType]) {
        kinds = types.map { type in
            switch type {
            case .int2: .int2
            case .int4: .int4
            case .int8: .int8
            case .bool: .bool
            case .timestamp, .timestamptz: .timestamp
            case .jsonb: .jsonb
            case .text, .varchar, .bpchar: .text
            case _ where type.elementType == .text || type.elementType == .varchar: .textArray(type.elementType!.oid)
            default: .other
            }
        }
        fieldCount = Int16(truncatingIfNeeded: types.count)
    }

    /// Appends one row (field count, then per field its length and bytes); throws `SlowPath`
    /// (the caller drops what was appended) when a cell needs the general path.
    mutating func encode(_ row: [JSONValue], to b: inout [UInt8]) throws {
        guard row.count == kinds.count else { throw SlowPath() }
        b.appendBE(fieldCount)
        for index in 0..<kinds.count {
            let cell = row[index]
            if case .null = cell {
                b.appendBE(Int32(-1))
                continue
            }
            switch kinds[index] {
            case .int8:
                guard case .number(let n) = cell, n.isInteger, let v = Int64(n.text) else { throw SlowPath() }
                b.appendBE(Int32(8))
                b.appendBE(v)
            case .int4:
                guard case .number(let n) = cell, n.isInteger, let v = Int32(n.text) else { throw SlowPath() }
                b.appendBE(Int32(4))
                b.appendBE(v)
            case .int2:
                guard case .number(let n) = cell, n.isInteger, let v = Int16(n.text) else { throw SlowPath() }
                b.appendBE(Int32(2))
                b.appendBE(v)
            case .bool:
                guard case .bool(let v) = cell else { throw SlowPath() }
                b.appendBE(Int32(1))
                b.append(v ? 1 : 0)
            case .timestamp:
                guard case .string(var s) = cell,
                    let t = s.withUTF8({ Timestamp(iso8601Bytes: UnsafeRawBufferPointer($0)) })
                else { throw SlowPath() }
                var micros = t.microseconds
                if micros != .max && micros != .min {
                    let (v, overflow) = micros.subtractingReportingOverflow(946_684_800_000_000)
                    guard !overflow else { throw SlowPath() }
                    micros = v
                }
                b.appendBE(Int32(8))
                b.appendBE(micros)
            case .jsonb:
                let lengthAt = b.count
                b.appendBE(Int32(0))
                b.append(1)
                swap(&json.bytes, &b)
                json.write(cell)
                swap(&json.bytes, &b)
                try Self.patchLength(at: lengthAt, in: &b)
            case .text:
                let lengthAt = b.count
                b.appendBE(Int32(0))
                switch cell {
                case .string(let s): b.append(contentsOf: s.utf8)
                case .number(let n): b.append(contentsOf: n.text.utf8)
                case .bool(let v): b.append(contentsOf: (v ? "true" : "false").utf8)
                default:
                    swap(&json.bytes, &b)
                    json.write(cell)
                    swap(&json.bytes, &b)
                }
                try Self.patchLength(at: lengthAt, in: &b)
            case .textArray(let element):
                // `array_send`, as `PostgresValue.array` writes it: dimensions (1, or 0 when
                // empty), a has-NULL flag, the element type, length and lower bound (1), then
                // each element as a length (-1 for NULL) and its bytes.
                guard case .array(let items) = cell else { throw SlowPath() }
                let lengthAt = b.count
                b.appendBE(Int32(0))
                b.appendBE(Int32(items.isEmpty ? 0 : 1))
                b.appendBE(Int32(items.contains(where: \.isNull) ? 1 : 0))
                b.appendBE(element)
                if !items.isEmpty {
                    b.appendBE(Int32(items.count))
                    b.appendBE(Int32(1))
                }
                for item in items {
                    switch item {
                    case .null:
                        b.appendBE(Int32(-1))
                    case .string(let s):
                        let itemAt = b.count
                        b.appendBE(Int32(0))
                        b.append(contentsOf: s.utf8)
                        try Self.patchLength(at: itemAt, in: &b)
                    default:
                        throw SlowPath()
                    }
                }
                try Self.patchLength(at: lengthAt, in: &b)
            case .other:
                throw SlowPath()
            }
        }
    }

    @inline(__always) static func patchLength(at lengthAt: Int, in b: inout [UInt8]) throws {
        guard let length = Int32(exactly: b.count - lengthAt - 4) else { throw SlowPath() }
        withUnsafeBytes(of: length.bigEndian) { bytes in
            for i in 0..<4 { b[lengthAt + i] = bytes[i] }
        }
    }
}

extension [UInt8] {
    @inline(__always) fileprivate mutating func appendBE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
