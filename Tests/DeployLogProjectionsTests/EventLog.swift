import DeployLogEvents
import DeployLogProjections

/// A hand-written log for projector tests: recorded events with gapless positions from 1,
/// stream versions from 0, fixed event ids, and `occurredAt` on one day (2026-11-20, UTC)
/// unless a full RFC 3339 text is given.
struct EventLog {
    private(set) var events: [RecordedEvent] = []
    private var versions: [String: Int64] = [:]

    /// The instant of `time`: `HH:MM:SS` on 2026-11-20, or a full RFC 3339 text.
    static func instant(_ time: String) -> Timestamp {
        let text = time.contains("T") ? time : "2026-11-20T\(time)Z"
        guard let t = Timestamp(iso8601: text) else { fatalError("bad test time \(time)") }
        return t
    }

    /// Appends one event; `schemaVersion` other than 1 for events of a newer writer.
    @discardableResult
    mutating func add(
        _ stream: String, _ type: String, _ time: String, _ data: JSONValue, schemaVersion: Int = 1
    ) -> RecordedEvent {
        let position = Int64(events.count + 1)
        let version = versions[stream].map { $0 + 1 } ?? 0
        versions[stream] = version
        let t = Self.instant(time)
        let e = RecordedEvent(
            position: position, stream: stream, streamVersion: version,
            eventId: EventID(high: 0x0123_4567_89AB_4DEF, low: 0x8000_0000_0000_0000 | UInt64(position)), type: type,
            schemaVersion: schemaVersion, occurredAt: t,
            // Recorded a little later than it occurred: projectors must use occurredAt.
            recordedAt: Timestamp(microsecondsSinceEpoch: t.microseconds + 3_600_000_000),
            metadata: JSONObject([("actor", "test"), ("source", "deploylog-tests")]), data: data)
        events.append(e)
        return e
    }

    /// Folds the events into a fresh `P`.
    func fold<P: Projector>(_ type: P.Type) -> P { P.fold(events) }

    /// Folds the first `count` events into a fresh `P`.
    func fold<P: Projector>(_ type: P.Type, first count: Int) -> P { P.fold(events.prefix(count)) }
}

/// The canonical text of a time on 2026-11-20 as a table cell: `HH:MM:SS` → the string
/// `2026-11-20THH:MM:SS.000000Z` (written out here, not by the code under test).
func cell(_ time: String) -> JSONValue { .string("2026-11-20T\(time).000000Z") }

/// The object of a dictionary literal (a row written out by hand).
func row(_ value: JSONValue) -> JSONObject { value.objectValue! }

/// A table by name among `tables`.
func table(_ name: String, in tables: [Table]) -> Table? { tables.first { $0.name == name } }

extension EventLog {
    /// `proposed` as a log that starts empty would record them: positions from 1, stream
    /// versions from 0, `recordedAt` = `occurredAt` (the sample history always sets it).
    static func recorded(_ proposed: [ProposedEvent]) -> [RecordedEvent] {
        var versions: [String: Int64] = [:]
        return proposed.enumerated().map { i, p in
            let version = versions[p.stream].map { $0 + 1 } ?? 0
            versions[p.stream] = version
            let t = p.occurredAt ?? Timestamp(microsecondsSinceEpoch: 0)
            return RecordedEvent(
                position: Int64(i + 1), stream: p.stream, streamVersion: version, eventId: p.eventId, type: p.type,
                schemaVersion: p.schemaVersion, occurredAt: t, recordedAt: t, metadata: p.metadata, data: p.data,
                extra: p.extra)
        }
    }
}
