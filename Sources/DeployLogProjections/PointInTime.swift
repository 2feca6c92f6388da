public import DeployLogEvents
public import DeployLogStore

/// A point of the log: `position:N`, `time:ISO` or `pipeline:ID` (also `head`).
public enum StatePoint: Sendable, Equatable, CustomStringConvertible {
    /// After the event at this position (0: before any event).
    case position(Int64)
    /// After every event of the longest prefix of the log whose events occurred at or before it.
    case time(Timestamp)
    /// After the last event of the pipeline's stream (when it finished, or was rolled back).
    case pipeline(String)
    case head

    /// Parses `position:N`, `time:ISO-8601`, `pipeline:ID` or `head`.
    public init(parsing text: String) throws(PointError) {
        if text == "head" {
            self = .head
            return
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw PointError(.badInput, "bad point '\(text)': expected position:N, time:ISO-8601, pipeline:ID or head")
        }
        let kind = text[..<colon]
        let value = String(text[text.index(after: colon)...])
        switch kind {
        case "position":
            guard let n = Int64(value), n >= 0 else {
                throw PointError(.badInput, "bad point '\(text)': position must be a whole number ≥ 0")
            }
            self = .position(n)
        case "time":
            guard let t = Timestamp(iso8601: value) else {
                throw PointError(.badInput, "bad point '\(text)': time must be RFC 3339, e.g. 2026-11-20T10:15:02Z")
            }
            self = .time(t)
        case "pipeline":
            guard !value.isEmpty else { throw PointError(.badInput, "bad point '\(text)': pipeline id is empty") }
            self = .pipeline(value)
        default:
            throw PointError(.badInput, "bad point '\(text)': expected position:N, time:ISO-8601, pipeline:ID or head")
        }
    }

    public var description: String {
        switch self {
        case .position(let n): "position:\(n)"
        case .time(let t): "time:\(t.canonicalText)"
        case .pipeline(let id): "pipeline:\(id)"
        case .head: "head"
        }
    }
}

/// A point that cannot be resolved.
public struct PointError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The point is malformed.
        case badInput
        /// It names something the log does not hold (a position past the head, an unknown pipeline).
        case notFound
    }

    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// The state of everything at any point of the log: from the nearest usable snapshot at or
/// before the point, then the events after it. Snapshots are taken every `snapshotInterval`
/// positions as folds pass them, and a snapshot of another projector version is never used
/// (and is deleted when snapshots are written).
public struct PointInTime: Sendable {
    public let store: any EventStore
    public let snapshots: SnapshotDirectory?
    public var snapshotInterval: Int64
    /// The state projector's version the snapshots must carry (a test can bump it).
    public var version: Int
    public var writesSnapshots: Bool

    public init(
        store: any EventStore, snapshots: SnapshotDirectory?, snapshotInterval: Int64 = 10_000,
        version: Int = StateProjector.version, writesSnapshots: Bool = true
    ) {
        self.store = store
        self.snapshots = snapshots
        self.snapshotInterval = max(1, snapshotInterval)
        self.version = version
        self.writesSnapshots = writesSnapshots
    }

    /// The state at a point, and how it was computed.
    public struct Result: Sendable {
        public var state: StateProjector
        public var position: Int64
        /// The position of the snapshot it started from (0: folded from the start).
        public var snapshotPosition: Int64
        public var eventsFolded: Int
        public var snapshotsWritten: Int
    }

    /// The position a point stands for.
    public func resolve(_ point: StatePoint) throws -> Int64 {
        let head = try store.head().position
        switch point {
        case .head:
            return head
        case .position(let n):
            guard n <= head else { throw PointError(.notFound, "position \(n) is past the head of the log (\(head))") }
            return n
        case .time(let t):
            // The first event that occurred after `t` ends the prefix.
            var after: Int64? = nil
            let filter = EventFilter(since: Timestamp(microsecondsSinceEpoch: t.microseconds + 1))
            try store.read(from: 1, filter: filter, limit: 1) { e in
                after = e.position
                return false
            }
            return after.map { $0 - 1 } ?? head
        case .pipeline(let id):
            var last: Int64? = nil
            try store.read(from: 1, filter: EventFilter(stream: "pipeline-\(id)"), limit: nil) { e in
                last = e.position
                return true
            }
            guard let last else { throw PointError(.notFound, "no pipeline '\(id)' in the log (stream pipeline-\(id))") }
            return last
        }
    }

    public func state(at point: StatePoint, progress: ((Int64) -> Void)? = nil) throws -> Result {
        try state(at: try resolve(point), progress: progress)
    }

    /// As `state(at:)`, calling `progress` with the position reached every few thousand events
    /// folded (for a progress line on long logs).
    public func state(at position: Int64, progress: ((Int64) -> Void)? = nil) throws -> Result {
        let head = try store.head().position
        guard position >= 0, position <= head else {
            throw PointError(.notFound, "position \(position) is past the head of the log (\(head))")
        }
        var state = StateProjector()
        var from: Int64 = 0
        var newest: Int64 = 0
        if let snapshots {
            let all = snapshots.entries().filter { $0.projector == StateProjector.name }
            if writesSnapshots { for stale in all where stale.version != version { snapshots.remove(stale) } }
            let usable = all.filter { $0.version == version }
            newest = usable.last?.position ?? 0
            for entry in usable.reversed() where entry.position <= position {
                if let s = try? load(entry, from: snapshots) {
                    state = s
                    from = entry.position
                    break
                }
                if writesSnapshots { snapshots.remove(entry) }
            }
        }
        var folded = 0
        var written = 0
        if position > from {
            // Only the events the state reads (the index skips the rest without decoding them),
            // and only up to the point.
            let filter = EventFilter(types: StateProjector.readsTypes, throughPosition: position)
            // Snapshots are a cache: one that cannot be written (a read-only store, a full disk)
            // stops further writes but never fails the answer.
            var snapshotTo = writesSnapshots ? snapshots : nil
            var boundary = (from / snapshotInterval + 1) * snapshotInterval
            /// Saves the state as it is at `boundary` (every event up to it folded).
            func saveBoundary() {
                guard let dir = snapshotTo else { return }
                if boundary > newest {
                    do {
                        var at = state
                        at.advance(to: boundary, occurredAt: try occurredAt(boundary))
                        try dir.save(
                            projector: StateProjector.name, version: version, position: boundary,
                            hash: try store.checkpoint(at: boundary).hash, payload: StateSnapshotCodec.encode(at))
                        written += 1
                    } catch {
                        snapshotTo = nil
                    }
                }
                boundary += snapshotInterval
            }
            try Projections.read(store, from: from + 1, filter: filter, limit: nil) { e in
                while e.position > boundary, snapshotTo != nil { saveBoundary() }
                state.apply(e)
                folded += 1
                if folded & 4095 == 0 { progress?(e.position) }
            }
            while boundary <= position, snapshotTo != nil { saveBoundary() }
            state.advance(to: position, occurredAt: try occurredAt(position))
        }
        return Result(state: state, position: position, snapshotPosition: from, eventsFolded: folded, snapshotsWritten: written)
    }

    /// The `occurredAt` of the event at `position` (nil for 0).
    private func occurredAt(_ position: Int64) throws -> Timestamp? {
        guard position > 0 else { return nil }
        var t: Timestamp? = nil
        try store.read(from: position, filter: EventFilter(), limit: 1) { e in
            t = e.occurredAt
            return false
        }
        return t
    }

    private func load(_ entry: SnapshotDirectory.Entry, from dir: SnapshotDirectory) throws -> StateProjector {
        let (hash, payload) = try dir.load(entry)
        guard try store.checkpoint(at: entry.position).hash == hash else {
            throw SnapshotError("\(entry.fileName): the log's hash at \(entry.position) differs (another log?)")
        }
        let state = try StateSnapshotCodec.decode(payload)
        guard state.position == entry.position else { throw SnapshotError("\(entry.fileName): position mismatch") }
        return state
    }
}
