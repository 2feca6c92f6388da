public import DeployLogEvents

/// Who and what an engine run records in every event's metadata.
public struct EventMetadata: Sendable, Hashable {
    /// The person or system acting (`alice@laptop`, `ci@build-17`).
    public var actor: String
    /// Ties the events of one run together (the deployment or rollback id).
    public var correlationId: String?
    /// The event or run that caused this one (a pipeline id for a migrate step).
    public var causationId: String?
    /// The command that wrote it (`deploylog migrate up`).
    public var source: String

    public init(actor: String, correlationId: String? = nil, causationId: String? = nil, source: String) {
        self.actor = actor
        self.correlationId = correlationId
        self.causationId = causationId
        self.source = source
    }

    public var object: JSONObject {
        var o = JSONObject()
        o["actor"] = .string(actor)
        if let correlationId { o["correlationId"] = .string(correlationId) }
        if let causationId { o["causationId"] = .string(causationId) }
        o["source"] = .string(source)
        return o
    }
}

extension ProposedEvent {
    /// A catalog event as it is appended to its own stream, with passwords removed from any
    /// URL in its data (the catalog types never need one).
    public init<E: DeployLogEvent>(
        _ event: E, metadata: EventMetadata, expectedVersion: ExpectedVersion = .any
    ) throws(EngineError) {
        let data: JSONValue
        do { data = try JSONValueEncoder().encode(event) } catch {
            throw EngineError(.internalError, "cannot encode \(E.eventType): \(error)")
        }
        self.init(
            stream: event.stream, type: E.eventType, data: CredentialRedaction.redact(data),
            expectedVersion: expectedVersion, metadata: CredentialRedaction.redact(metadata.object),
            schemaVersion: E.schemaVersion)
    }
}

extension ExpectedVersion {
    /// The expected version for the next append to a stream whose last version is `version`.
    public static func after(_ version: Int64?) -> ExpectedVersion { version.map { .exact($0) } ?? .noStream }
}
