import DeployLogEvents

/// The sample history of `pipelines` pipelines as recorded events, for the decoders' tests:
/// positions from 1, a stream version that varies (`position % 7`), a distinct recording
/// time for each, and the event's own fields otherwise.
public func recordedSampleHistory(pipelines: Int) -> [RecordedEvent] {
    SampleHistory.generate(pipelines: pipelines).enumerated().map { k, p in
        let position = Int64(k + 1)
        return RecordedEvent(
            position: position, stream: p.stream, streamVersion: position % 7, eventId: p.eventId, type: p.type,
            schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? Timestamp(microsecondsSinceEpoch: 0),
            recordedAt: Timestamp(microsecondsSinceEpoch: 1_764_000_000_000_000 + position), metadata: p.metadata,
            data: p.data)
    }
}
