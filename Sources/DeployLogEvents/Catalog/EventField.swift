/// One field of an event's `data` (or of a record nested in it), as the catalog describes it.
public struct EventField: Sendable, Hashable, CustomStringConvertible {
    /// The JSON key, camelCase.
    public var name: String
    public var type: FieldType
    /// False for the fields EVENTS.md marks with `?`: they may be absent (or `null`).
    public var required: Bool
    /// What the field means, for auditors and report writers.
    public var description: String
    /// For a string: the most characters (Unicode code points, as PostgreSQL counts them) it
    /// may have, because the read model keeps it in a `VARCHAR(n)` column of the seed's
    /// tables (`column`). A longer value could never be projected, and the log is immutable:
    /// it is refused when appended instead.
    public var maxLength: Int?
    /// The read model's column (`table.column`) that bounds `maxLength`.
    public var column: String?

    public init(
        name: String, type: FieldType, required: Bool, description: String, maxLength: Int? = nil,
        column: String? = nil
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.description = description
        self.maxLength = maxLength
        self.column = column
    }

    public static func required(_ name: String, _ type: FieldType, _ description: String) -> EventField {
        EventField(name: name, type: type, required: true, description: description)
    }

    public static func optional(_ name: String, _ type: FieldType, _ description: String) -> EventField {
        EventField(name: name, type: type, required: false, description: description)
    }

    /// This string field, at most `length` characters: the width of the read model's
    /// `column` (`VARCHAR(length)`).
    public func bounded(_ length: Int, by column: String) -> EventField {
        var f = self
        f.maxLength = length
        f.column = column
        return f
    }

    /// The problem with `value` for this field's `maxLength`, or nil.
    public func lengthProblem(_ value: JSONValue?) -> String? {
        guard let maxLength, case .string(let s)? = value else { return nil }
        let count = s.unicodeScalars.count
        guard count > maxLength else { return nil }
        return "data.\(name): \(count) characters, at most \(maxLength)"
            + (column.map { " (the read model's \($0) is VARCHAR(\(maxLength)))" } ?? "")
    }
}

/// The type of a catalog field. Its text form is what the `events/` files write in `type`:
///
/// | text | JSON value | Swift |
/// | --- | --- | --- |
/// | `string` | string | `String` |
/// | `integer` | number without fraction or exponent, 64-bit | `Int` (`Int64` for durations and positions) |
/// | `boolean` | `true` or `false` | `Bool` |
/// | `object` | any object, kept as given | `JSONObject` |
/// | `timestamp` | string `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, six fraction digits) | `Timestamp` |
/// | `enum(a\|b\|c)` | one of the listed strings | a `CatalogEnum` |
/// | `array<T>` | array whose every element is a `T` | `[T]` |
/// | `Name` | object with the fields of the record `Name` (capitalised) | an `EventRecord` |
public indirect enum FieldType: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    case string
    case integer
    case boolean
    case object
    case timestamp
    /// One of a closed set of strings.
    case enumeration(values: [String])
    case array(FieldType)
    /// An object described by a named record (see `EventRecord`).
    case record(name: String)

    public static func enumeration<E: CatalogEnum>(_ type: E.Type) -> FieldType {
        .enumeration(values: E.allowedValues)
    }

    public static func record<R: EventRecord>(_ type: R.Type) -> FieldType {
        .record(name: R.recordName)
    }

    public var description: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .boolean: "boolean"
        case .object: "object"
        case .timestamp: "timestamp"
        case .enumeration(let values): "enum(\(values.joined(separator: "|")))"
        case .array(let element): "array<\(element)>"
        case .record(let name): name
        }
    }

    /// Parses the text form; `nil` when it is not in the vocabulary.
    public init?(_ text: String) {
        switch text {
        case "string": self = .string
        case "integer": self = .integer
        case "boolean": self = .boolean
        case "object": self = .object
        case "timestamp": self = .timestamp
        default:
            if text.hasPrefix("enum("), text.hasSuffix(")") {
                let inner = text.dropFirst(5).dropLast()
                let values = inner.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard !values.isEmpty, !values.contains(where: \.isEmpty), Set(values).count == values.count else {
                    return nil
                }
                self = .enumeration(values: values)
            } else if text.hasPrefix("array<"), text.hasSuffix(">") {
                guard let element = FieldType(String(text.dropFirst(6).dropLast())) else { return nil }
                self = .array(element)
            } else if FieldType.isRecordName(text) {
                self = .record(name: text)
            } else {
                return nil
            }
        }
    }

    /// A record name: an ASCII letter-or-digit identifier starting with a capital letter.
    private static func isRecordName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}
