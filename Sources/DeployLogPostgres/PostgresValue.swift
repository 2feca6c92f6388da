public import Foundation

/// One parameter or field value, sent to PostgreSQL in binary.
///
/// Every value a statement uses goes through here, never through the SQL text. Each case names
/// the PostgreSQL type it is sent as; when a statement declares other parameter types (a
/// `PostgresStatement`, a COPY with column types), compatible values are converted (an `.int8`
/// to an `int4` column when it fits, `.text` to `jsonb`, `.timestamptz` to `timestamp` …).
public enum PostgresValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int2(Int16)
    case int4(Int32)
    case int8(Int64)
    case float8(Double)
    case text(String)
    case bytea([UInt8])
    /// Microseconds since 1970-01-01 00:00:00 UTC (`Int64.max` / `Int64.min` are ±infinity).
    case timestamptz(Int64)
    /// JSON text, stored as `jsonb` (the server parses and normalises it).
    case jsonb(String)
    /// JSON text, stored as `json` (kept as written).
    case json(String)
    case uuid(UUID)
    /// A decimal number as text (`-12.3400`), stored as `numeric` / `decimal` exactly.
    case numeric(String)
    case interval(PostgresInterval)
    /// A one-dimensional array of elements of `type` (each a value of that type, or `.null`).
    case array([PostgresValue], of: PostgresType)

    /// The type the value is sent as when the statement does not declare one.
    public var type: PostgresType {
        switch self {
        case .null: .unspecified
        case .bool: .bool
        case .int2: .int2
        case .int4: .int4
        case .int8: .int8
        case .float8: .float8
        case .text: .text
        case .bytea: .bytea
        case .timestamptz: .timestamptz
        case .jsonb: .jsonb
        case .json: .json
        case .uuid: .uuid
        case .numeric: .numeric
        case .interval: .interval
        case .array(_, let element): element.arrayType ?? .unspecified
        }
    }

    public var isNull: Bool { self == .null }
}

extension PostgresValue: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .int8(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .float8(value) }
}

extension PostgresValue: CustomStringConvertible {
    /// The type and size only: values may be secrets and are never shown.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .text(let s), .json(let s), .jsonb(let s): "\(type)(\(s.utf8.count) bytes)"
        case .bytea(let b): "bytea(\(b.count) bytes)"
        case .array(let elements, let element): "\(element)[\(elements.count)]"
        default: "\(type)"
        }
    }
}

/// An `interval`: months, days and microseconds, kept apart as PostgreSQL keeps them (a month
/// is not a fixed number of days).
public struct PostgresInterval: Sendable, Hashable {
    public var months: Int32
    public var days: Int32
    public var microseconds: Int64

    public init(months: Int32 = 0, days: Int32 = 0, microseconds: Int64 = 0) {
        self.months = months
        self.days = days
        self.microseconds = microseconds
    }
}
