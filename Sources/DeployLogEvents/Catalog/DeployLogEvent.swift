/// A typed event of the catalog: the shape of the `data` of one event type at one schema version.
///
/// The log itself stores `data` as the producer sent it (a `JSONValue`); these types are how
/// the catalog validates it and how projectors read it. Each conforming type has a file
/// `events/<eventType>.v<schemaVersion>.json` describing the same fields as data, and
/// `CatalogAgreementTests` proves the two agree.
///
/// Decoding is strict about the fields a type knows (a wrong JSON type, a missing required
/// field or a value outside an enumeration fails) and ignores fields it does not know.
public protocol DeployLogEvent: Codable, Sendable, Hashable {
    /// The wire name written in the envelope's `type`: a string constant, never derived from
    /// the Swift type's name, so renaming a Swift type cannot change the log.
    static var eventType: String { get }
    /// The current schema version of `data`; older versions are upcast to it before decoding.
    static var schemaVersion: Int { get }
    /// The category of the streams that hold this type:
    /// `environment`, `migrations`, `pipeline`, `bluegreen` or `rollback`.
    static var streamCategory: String { get }
    /// The `data` field whose value names the stream, after the category and a `-`
    /// (`pipelineId` for `pipeline-<pipelineId>`).
    static var streamIDField: String { get }
    /// The fields of `data`, in catalog order.
    static var fields: [EventField] { get }
    /// The record types (objects nested in `data`, such as `HealthCheck`) that `fields` names.
    static var records: [any EventRecord.Type] { get }

    /// The value of the `streamIDField` field.
    var streamID: String { get }
}

extension DeployLogEvent {
    public static var records: [any EventRecord.Type] { [] }

    /// The stream this event belongs in: `<streamCategory>-<streamID>`.
    public var stream: String { "\(Self.streamCategory)-\(streamID)" }
}

/// A named object type nested inside event data (for example each element of
/// `HealthChecksRecorded.checks`), listed in the catalog file's `records`.
public protocol EventRecord: Codable, Sendable, Hashable {
    /// The name a field type refers to, as in `array<HealthCheck>`.
    static var recordName: String { get }
    /// The record's fields, in catalog order.
    static var fields: [EventField] { get }
}

/// A closed set of string values in event data (a catalog `enum(a|b|c)` field).
///
/// Decoding a value outside the set fails with a message listing the allowed values.
public protocol CatalogEnum: RawRepresentable, CaseIterable, Codable, Sendable, Hashable
where RawValue == String {}

extension CatalogEnum {
    /// The allowed values, in declaration order.
    public static var allowedValues: [String] { allCases.map(\.rawValue) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected one of \(Self.allowedValues.joined(separator: "|")), found \"\(raw)\"")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
