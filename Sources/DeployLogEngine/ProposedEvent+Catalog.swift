public import DeployLogEvents

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
        // A string longer than its read-model column could never be projected: refuse it here,
        // before anything is appended, as `append` refuses it from a producer.
        do { try EventRegistry.checkLengths(of: E.self, data, type: E.eventType, schemaVersion: E.schemaVersion) } catch {
            throw EngineError(.badInput, error.description)
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
