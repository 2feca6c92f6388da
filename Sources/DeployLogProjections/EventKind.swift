public import DeployLogEvents

/// The v1 event types a projector knows, resolved from the envelope's `type` once per event so
/// that every projector can switch on a small enum instead of comparing strings.
public enum EventKind: UInt8, Sendable, CaseIterable {
    case environmentConfigured, environmentDeactivated
    case migrationRegistered, migrationStarted, migrationApplied, migrationFailed, migrationRolledBack
    case pipelineStarted, stageStarted, stageCompleted, stageFailed, stageSkipped
    case pipelineCompleted, pipelineFailed, pipelineRolledBack
    case blueGreenConfigured, deployToInactiveStarted, healthChecksRecorded, trafficSwitchStarted, trafficSwitched
    case blueGreenDeployFailed
    case rollbackStarted, rollbackStepExecuted, rollbackCompleted, rollbackFailed
    /// A type this version does not know: every projector ignores it.
    case unknown

    /// The wire name of each known kind (the catalog's `type`).
    public var typeName: String {
        switch self {
        case .environmentConfigured: "EnvironmentConfigured"
        case .environmentDeactivated: "EnvironmentDeactivated"
        case .migrationRegistered: "MigrationRegistered"
        case .migrationStarted: "MigrationStarted"
        case .migrationApplied: "MigrationApplied"
        case .migrationFailed: "MigrationFailed"
        case .migrationRolledBack: "MigrationRolledBack"
        case .pipelineStarted: "PipelineStarted"
        case .stageStarted: "StageStarted"
        case .stageCompleted: "StageCompleted"
        case .stageFailed: "StageFailed"
        case .stageSkipped: "StageSkipped"
        case .pipelineCompleted: "PipelineCompleted"
        case .pipelineFailed: "PipelineFailed"
        case .pipelineRolledBack: "PipelineRolledBack"
        case .blueGreenConfigured: "BlueGreenConfigured"
        case .deployToInactiveStarted: "DeployToInactiveStarted"
        case .healthChecksRecorded: "HealthChecksRecorded"
        case .trafficSwitchStarted: "TrafficSwitchStarted"
        case .trafficSwitched: "TrafficSwitched"
        case .blueGreenDeployFailed: "BlueGreenDeployFailed"
        case .rollbackStarted: "RollbackStarted"
        case .rollbackStepExecuted: "RollbackStepExecuted"
        case .rollbackCompleted: "RollbackCompleted"
        case .rollbackFailed: "RollbackFailed"
        case .unknown: ""
        }
    }

    private static let byName: [String: EventKind] = {
        var m = [String: EventKind]()
        for k in allCases where k != .unknown { m[k.typeName] = k }
        return m
    }()

    /// The kind of an event of `type` at `schemaVersion`. Only schema version 1 is known to
    /// these projectors; a newer version is `unknown` until an upcaster and a projector bump say
    /// otherwise, so a newer writer never breaks this reader.
    public init(type: String, schemaVersion: Int = 1) {
        guard schemaVersion == 1 else {
            self = .unknown
            return
        }
        self = EventKind.byName[type] ?? .unknown
    }
}

/// One event as the projectors see it: its kind, resolved once, its position, `occurredAt` and
/// `data` (what every projector reads; the rest of the envelope is not kept).
public struct ProjectedEvent: Sendable {
    public var kind: EventKind
    public var position: Int64
    public var occurredAt: Timestamp
    /// The event's `data` object (empty when `data` is not an object).
    public var data: EventData

    public init(_ event: RecordedEvent) {
        self.init(
            kind: EventKind(type: event.type, schemaVersion: event.schemaVersion), position: event.position,
            occurredAt: event.occurredAt, data: event.data)
    }

    init(kind: EventKind, position: Int64, occurredAt: Timestamp, data: JSONValue) {
        self.kind = kind
        self.position = position
        self.occurredAt = occurredAt
        self.data = EventData(data.objectValue ?? JSONObject())
    }

    /// The event a fold read from a file store (`typeCode` from `classify`).
    init(_ f: FoldFields) {
        self.init(
            kind: f.schemaVersion == 1 ? EventKind(rawValue: f.typeCode) ?? .unknown : .unknown, position: f.position,
            occurredAt: f.occurredAt, data: f.data)
    }

    /// The `typeCode` of `type` for `FileStore.readFoldFields`: its kind at schema version 1.
    @Sendable
    static func classify(_ type: String) -> UInt8 { EventKind(type: type).rawValue }
}

/// Lenient access to the fields of an event's `data`: a projector is a total function, so a
/// missing field or a value of another JSON type reads as absent rather than failing the fold
/// (the CLI validates known types against the catalog before appending).
public struct EventData: Sendable {
    public let object: JSONObject

    public init(_ object: JSONObject) { self.object = object }

    public func string(_ key: String) -> String? { object[key]?.stringValue }
    public func int(_ key: String) -> Int64? { object[key]?.numberValue?.int64Value }
    public func bool(_ key: String) -> Bool? { object[key]?.boolValue }
    public func value(_ key: String) -> JSONValue? { object[key] }
    public func objectValue(_ key: String) -> JSONObject? { object[key]?.objectValue }
    public func array(_ key: String) -> [JSONValue]? { object[key]?.arrayValue }
    public func timestamp(_ key: String) -> Timestamp? { string(key).flatMap { Timestamp(iso8601: $0) } }
    /// An array of strings (non-strings are left out).
    public func strings(_ key: String) -> [String] { array(key)?.compactMap(\.stringValue) ?? [] }
}
