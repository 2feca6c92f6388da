/// A PostgreSQL data type, by its OID (the values of `pg_type.oid` for the built-in types).
///
/// The layer encodes and decodes in binary the types the store and the read models need; any
/// other type can still be read as text (a text-format result, or a `::text` cast).
public struct PostgresType: Sendable, Hashable, CustomStringConvertible {
    public var oid: UInt32

    public init(oid: UInt32) { self.oid = oid }

    /// No type given: the server infers it from the statement.
    public static let unspecified = PostgresType(oid: 0)
    public static let bool = PostgresType(oid: 16)
    public static let bytea = PostgresType(oid: 17)
    public static let name = PostgresType(oid: 19)
    public static let int8 = PostgresType(oid: 20)
    public static let int2 = PostgresType(oid: 21)
    public static let int4 = PostgresType(oid: 23)
    public static let text = PostgresType(oid: 25)
    public static let oidType = PostgresType(oid: 26)
    public static let json = PostgresType(oid: 114)
    public static let float4 = PostgresType(oid: 700)
    public static let float8 = PostgresType(oid: 701)
    public static let unknown = PostgresType(oid: 705)
    public static let bpchar = PostgresType(oid: 1042)
    public static let varchar = PostgresType(oid: 1043)
    public static let timestamp = PostgresType(oid: 1114)
    public static let timestamptz = PostgresType(oid: 1184)
    public static let numeric = PostgresType(oid: 1700)
    public static let uuid = PostgresType(oid: 2950)
    public static let jsonb = PostgresType(oid: 3802)
    public static let interval = PostgresType(oid: 1186)

    /// The array type of each element type this layer sends (`text` → `text[]` …).
    static let arrayTypes: [PostgresType: PostgresType] = [
        .bool: PostgresType(oid: 1000), .bytea: PostgresType(oid: 1001), .int2: PostgresType(oid: 1005),
        .int4: PostgresType(oid: 1007), .text: PostgresType(oid: 1009), .bpchar: PostgresType(oid: 1014),
        .varchar: PostgresType(oid: 1015), .int8: PostgresType(oid: 1016), .float8: PostgresType(oid: 1022),
        .timestamp: PostgresType(oid: 1115), .timestamptz: PostgresType(oid: 1185), .interval: PostgresType(oid: 1187),
        .numeric: PostgresType(oid: 1231), .uuid: PostgresType(oid: 2951), .jsonb: PostgresType(oid: 3807),
        .json: PostgresType(oid: 199),
    ]

    /// `text[]` for `text` …; nil for types without a known array type.
    public var arrayType: PostgresType? { Self.arrayTypes[self] }

    /// `text` for `text[]` …; nil when this is not a known array type.
    public var elementType: PostgresType? { Self.elementTypes[self] }
    static let elementTypes = Dictionary(uniqueKeysWithValues: arrayTypes.map { ($0.value, $0.key) })

    /// Types whose binary form is their text in UTF-8 (jsonb adds a version byte in front).
    var isTextLike: Bool {
        switch self {
        case .text, .varchar, .bpchar, .name, .json, .unknown: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unspecified: "unspecified"
        case .bool: "bool"
        case .bytea: "bytea"
        case .name: "name"
        case .int8: "int8"
        case .int2: "int2"
        case .int4: "int4"
        case .text: "text"
        case .oidType: "oid"
        case .json: "json"
        case .float4: "float4"
        case .float8: "float8"
        case .unknown: "unknown"
        case .bpchar: "bpchar"
        case .varchar: "varchar"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .numeric: "numeric"
        case .uuid: "uuid"
        case .jsonb: "jsonb"
        case .interval: "interval"
        default: elementType.map { "\($0)[]" } ?? "type \(oid)"
        }
    }
}
