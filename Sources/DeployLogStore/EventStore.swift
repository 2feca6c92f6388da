public import DeployLogEvents

/// The log: one protocol, every backend with the same semantics (proven by one conformance
/// suite run against each).
public protocol EventStore: AnyObject, Sendable {
    /// Appends `events` atomically: all or none, durable when this returns.
    ///
    /// Events are checked in order: an `eventId` already stored is an idempotent no-op that
    /// reports the original position; otherwise the event's `expectedVersion` is checked
    /// against its stream (including events earlier in the same call). Any conflict fails
    /// the whole call and nothing is written.
    @discardableResult
    func append(_ events: [ProposedEvent]) throws(StoreError) -> AppendResult

    /// Events from `position` (inclusive) in global order, filtered; `body` returns false to stop.
    func read(from position: Int64, filter: EventFilter, limit: Int?, _ body: (RecordedEvent) throws -> Bool) throws

    /// The last committed position (0 when empty) and its chain hash.
    func head() throws(StoreError) -> Checkpoint

    /// The chain hash at `position` (0 gives the genesis hash); beyond the head is an
    /// `invalidRequest`.
    func checkpoint(at position: Int64) throws(StoreError) -> Checkpoint

    /// The last `streamVersion` of `stream`, or nil when it does not exist.
    func streamVersion(of stream: String) throws(StoreError) -> Int64?

    /// A catch-up subscription: every matching event from `position` (history), then new ones
    /// as they are committed (live), in order, once each; `handler` returns false to stop.
    func subscribe(
        from position: Int64, filter: EventFilter, pollInterval: Double,
        handler: @escaping @Sendable (RecordedEvent) throws -> Bool
    ) -> Subscription
}

extension EventStore {
    /// Appends `events` to one stream, checking `expectedVersion` for the first of them.
    @discardableResult
    public func append(_ events: [ProposedEvent], to stream: String, expectedVersion: ExpectedVersion) throws(StoreError) -> AppendResult {
        var batch = events
        for i in batch.indices {
            batch[i].stream = stream
            batch[i].expectedVersion = .any
        }
        if !batch.isEmpty { batch[0].expectedVersion = expectedVersion }
        return try append(batch)
    }

    /// All matching events from `position`, as an array.
    public func readAll(from position: Int64 = 1, filter: EventFilter = EventFilter(), limit: Int? = nil) throws -> [RecordedEvent] {
        var out = [RecordedEvent]()
        try read(from: position, filter: filter, limit: limit) { out.append($0); return true }
        return out
    }

    /// One stream's events from `version` (inclusive).
    public func readStream(_ stream: String, fromVersion version: Int64 = 0) throws -> [RecordedEvent] {
        var f = EventFilter()
        f.stream = stream
        return try readAll(filter: f).filter { $0.streamVersion >= version }
    }
}

/// What an append did.
public struct AppendResult: Sendable, Equatable {
    /// The position of each proposed event, in order (the original one for an idempotent repeat).
    public var positions: [Int64]
    /// The stream version of each proposed event.
    public var streamVersions: [Int64]
    /// How many were new (the rest were already stored).
    public var appendedCount: Int

    public init(positions: [Int64], streamVersions: [Int64], appendedCount: Int) {
        self.positions = positions
        self.streamVersions = streamVersions
        self.appendedCount = appendedCount
    }
}

/// A position and the chain hash of the event there: what an auditor keeps elsewhere.
public struct Checkpoint: Sendable, Equatable, Codable {
    public var position: Int64
    /// Lowercase hex SHA-256; 64 zeros for position 0.
    public var hash: String

    public init(position: Int64, hash: String) {
        self.position = position
        self.hash = hash
    }
}

/// Which events a read returns. Every condition set must hold.
public struct EventFilter: Sendable, Equatable {
    public var stream: String?
    /// Stream categories (the part of the stream name before the first `-`); any of them.
    public var categories: Set<String>?
    /// Event types; any of them.
    public var types: Set<String>?
    /// `occurredAt` at or after.
    public var since: Timestamp?
    /// `occurredAt` strictly before.
    public var until: Timestamp?
    /// Positions at or before (a read of a range: `from` to this).
    public var throughPosition: Int64?

    public init(
        stream: String? = nil, categories: Set<String>? = nil, types: Set<String>? = nil,
        since: Timestamp? = nil, until: Timestamp? = nil, throughPosition: Int64? = nil
    ) {
        self.stream = stream
        self.categories = categories
        self.types = types
        self.since = since
        self.until = until
        self.throughPosition = throughPosition
    }

    public var isEmpty: Bool { self == EventFilter() }

    public func matches(stream s: String, type t: String, occurredAt: Timestamp) -> Bool {
        if let stream, stream != s { return false }
        if let categories, !categories.contains(ProposedEvent.category(of: s)) { return false }
        if let types, !types.contains(t) { return false }
        if let since, occurredAt < since { return false }
        if let until, !(occurredAt < until) { return false }
        return true
    }

    public func matches(_ e: RecordedEvent) -> Bool {
        if let throughPosition, e.position > throughPosition { return false }
        return matches(stream: e.stream, type: e.type, occurredAt: e.occurredAt)
    }
}

/// An error of the log, with a code the CLI maps to an exit status.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A wrong expected version.
        case conflict
        /// Stored bytes that fail framing, checksum, decompression, decoding or the hash chain.
        case corruption
        /// A request the store refuses (bad arguments).
        case invalidRequest
        /// No store at the address.
        case notFound
        /// Another process holds what is needed.
        case locked
        /// The operating system failed us (I/O, permissions, space).
        case io
        /// The store's server cannot be reached, or the connection to it was lost: the outcome
        /// of a write in flight is unknown (retry it with the same event ids).
        case unavailable
    }

    public var code: Code
    public var message: String
    public var stream: String?
    public var position: Int64?

    public init(_ code: Code, _ message: String, stream: String? = nil, position: Int64? = nil) {
        self.code = code
        self.message = message
        self.stream = stream
        self.position = position
    }

    public var description: String { message }

    /// A stored event found at `position` whose own envelope names another position (`found`):
    /// the error every store's read gives for it.
    package static func positionMismatch(at position: Int64, found: Int64) -> StoreError {
        StoreError(.corruption, "position \(position): the event says position \(found)", position: position)
    }

    /// No event at `position` where a read of every position expected one (positions are
    /// gapless from 1): the next one stored is at `next`, or none is up to where the read ends
    /// (nil). The error every store's read gives for a gap (the PostgreSQL store's, whose rows a
    /// superuser can delete behind the triggers' back; the file store's index has none).
    package static func missingPosition(_ position: Int64, next: Int64?) -> StoreError {
        StoreError(
            .corruption,
            "position \(position) is missing" + (next.map { " (the next event stored is at position \($0))" } ?? ""),
            position: position)
    }

    /// Message DB's wording: "Wrong expected version: 4 (Stream: pipeline-7f3c, Stream Version: 6)".
    public static func wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: Int64?) -> StoreError {
        let actualText = actual.map(String.init) ?? "-1 (no stream)"
        return StoreError(
            .conflict,
            "Wrong expected version: \(expected) (Stream: \(stream), Stream Version: \(actualText))",
            stream: stream)
    }
}

/// A name-based event id (UUID version 5 layout) from the SHA-256 of `bytes`: the same bytes
/// always give the same id, so a producer without ids can still retry safely.
public func derivedEventID(from bytes: [UInt8]) -> EventID {
    EventID(bytes: ChainHash.digest(bytes), nameBased: true)
}
