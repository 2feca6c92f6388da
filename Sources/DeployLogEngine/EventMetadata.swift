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
