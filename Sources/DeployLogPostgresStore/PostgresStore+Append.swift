import DeployLogCompression
public import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation

// How positions stay gapless and in commit order under concurrent writers.
//
// A position is part of the hashed bytes and of the chain, so it must be known before the row
// is written, and a reader that has seen position N must never later find a new event below N.
// A sequence or an identity column gives neither: numbers are taken at insert and committed in
// any order (a reader can see 7 before 6 commits), and a rolled-back transaction leaves a gap.
// Marten answers with a "high-water mark" daemon that holds readers back to the highest
// position below which nothing is missing, waiting out gaps; Message DB takes an advisory lock
// per stream only, which orders a stream but not the global log.
//
// We serialise writers, as the Python `eventsourcing` library's PostgreSQL recorder does: every
// writer takes one lock inside its transaction and holds it until COMMIT. Under it, the writer
// reads the head (its position and hash), assigns head + 1 … and computes the chain from the
// head hash. The next writer's lock is granted only after this commit, and its next statement
// takes a new snapshot that includes it (READ COMMITTED, which every store connection sets
// whatever the database's default: see `ConnectionPool.connect`), so positions are assigned and
// become visible strictly in order: no gap, no reordering, no daemon, and the hash chain is computed
// where it is written. The price is that writers are serialised, so the lock is held as briefly
// as we can: large appends are batched (binary COPY), and a small append is one round trip
// when the store guessed right. Its rows (positions, chain hashes) are computed before the lock
// from what this store last saw under it (`AppendHints`: the head, each stream's version); then
// the lock and one statement are sent together in a pipeline, and commit at its sync (one
// implicit transaction). The statement runs after the lock is granted, so its snapshot includes
// the last writer's commit, and it inserts the rows only if the guess still holds there: the
// head is the assumed position and hash, no id is stored, every stream is at the assumed
// version. Otherwise it inserts nothing and returns the truth, read under the lock, and the
// append is decided again from it. (One event — the commonest append — is checked by a leaner
// statement that returns only whether it inserted, from two index probes and the unique
// indexes; see `insertRowIfHeadHolds`. When it did not, the append takes the locked path
// below.) So a position is still assigned from the head as read under the lock, only checked
// rather than read; a wrong guess costs a round trip or two, never a row. (One
// thing is read before the lock: the clock, for `recordedAt`. So writers racing can record it a
// few microseconds out of position order; time filters use `occurredAt`, and recordedAt was
// never ordered across machines anyway.) After three misses (writers racing for the lock), the
// append takes the path that cannot miss: BEGIN, the lock and the look-ups pipelined, then the
// rows and COMMIT.
//
// The lock is a transaction-scoped advisory lock on one fixed key rather than `eventsourcing`'s
// `LOCK TABLE … IN EXCLUSIVE MODE`: both serialise our writers and neither blocks readers, but
// EXCLUSIVE also conflicts with the SHARE UPDATE EXCLUSIVE lock of (auto)VACUUM and ANALYZE. On a
// busy log every append would then wait up to `deadlock_timeout` for autovacuum to be cancelled,
// autovacuum would keep being cancelled, and the anti-wraparound vacuum, which is not
// cancelled, would stop all appends while it runs. Only the store writes rows (init, append,
// import all take the lock); anyone inserting behind its back is still stopped from
// duplicating an id or a stream version by the unique indexes.
//
// Idempotent retries and expected versions are decided under the same lock, so they cannot
// race either; the unique indexes on `event_id` and `(stream, stream_version)` are the last
// line of defence against anyone writing without it.

extension PostgresStore {
    @discardableResult
    public func append(_ events: [ProposedEvent]) throws(StoreError) -> AppendResult {
        if events.isEmpty { return AppendResult(positions: [], streamVersions: [], appendedCount: 0) }
        return try withConnection(doing: "appending") { c in
            if events.count < options.copyThreshold, let result = try appendUnlessChanged(events, on: c) {
                return result
            }
            return try appendLocked(events, on: c)
        }
    }

    /// An append in two round trips: the lock and the look-ups, then the rows and COMMIT.
    ///
    /// A large one (COPY) does not look every id up: that costs about a microsecond per id
    /// under the lock (about 10 ms of a 10,000-event batch), and a batch of new events finds
    /// nothing. It asks about its first and last id only, which finds the usual retry (the
    /// same batch again), and looks every id up when either is stored. A batch with other
    /// stored ids fails on the unique index of `event_id` instead, before anything is
    /// committed; it is rolled back and appended again looking every id up. A batch whose
    /// events conflict is likewise appended again looking every id up (a stored one is a
    /// repeat, not a conflict). So an id is still never stored twice, and a retry still gets
    /// the original positions. A large append also decides each event as it sends it
    /// (`writeDeciding`), so that the server stores rows from the first chunk on instead of
    /// waiting for the whole batch to be decided.
    private func appendLocked(_ events: [ProposedEvent], everyId: Bool = false, on c: PostgresConnection) throws
        -> AppendResult
    {
        var ids = [EventID]()
        var streams = [String]()
        ids.reserveCapacity(events.count)
        streams.reserveCapacity(events.count)
        for e in events {
            ids.append(e.eventId)
            streams.append(e.stream)
        }
        let large = events.count >= options.copyThreshold
        var everyIdLookedUp = everyId || !large
        var locked = try lockAndLookUp(ids: everyIdLookedUp ? ids : [ids.first!, ids.last!], streams: streams, on: c)
        if !everyIdLookedUp && !locked.stored.isEmpty {
            locked.stored = try lookUp(ids: ids, on: c).stored
            everyIdLookedUp = true
        }
        let now = options.clock()
        if large {
            var planner = Planner(against: locked, now: now, capacity: events.count)
            do {
                let hash = try writeDeciding(events, planner: &planner, after: locked.headHash, on: c)
                if planner.acceptedCount == 0 {
                    remember(locked, streams: planner.streams)
                } else {
                    hints.learn(
                        head: locked.head + Int64(planner.acceptedCount), hash: hash, streams: planner.streams,
                        versions: planner.versions)
                }
                return planner.result
            } catch let error where !everyIdLookedUp && Self.mayBeAStoredId(error) {
                try c.execute(script: "ROLLBACK")
                return try appendLocked(events, everyId: true, on: c)
            }
        }
        let plan = try self.plan(events, against: locked, now: now)
        if plan.accepted.isEmpty {
            try c.query(PostgresStoreSQL.commit, [])
            remember(locked, streams: plan.streams)
            return plan.result
        }
        let hash = try write(plan.accepted, after: locked.headHash, checkingHashes: false, on: c)
        remember(plan, hash: hash)
        return plan.result
    }

    /// Whether a large append that did not look every id up may have failed for an id stored
    /// before: a duplicate event id, or a conflict (a stored event is a repeat, whatever its
    /// expected version says).
    private static func mayBeAStoredId(_ error: any Error) -> Bool {
        switch error {
        case let e as StoreError: e.code == .conflict
        case let e as PostgresError:
            e.sqlState == PostgresError.SQLState.uniqueViolation && e.constraint == PostgresStoreSQL.eventIdConstraint
        default: false
        }
    }

    /// A small append in one round trip, when the store's hints are right: its rows are
    /// computed from what the hints assume (the head, no id stored, each stream's version),
    /// then the lock and one statement that inserts them only if that still holds are sent
    /// together, and commit with the pipeline's sync. When something else was true, the
    /// statement reads the truth under the lock instead, the append is decided again from it
    /// (an idempotent repeat or a conflict ends here) and tried again. After a few misses
    /// (writers racing), or one of a single event's leaner statement, nil: the caller takes
    /// the two-round-trip path, which cannot miss.
    private func appendUnlessChanged(_ events: [ProposedEvent], on c: PostgresConnection) throws -> AppendResult? {
        var assumed = hints.assumption(for: events)
        var isTruth = false
        let now = options.clock()
        for _ in 0..<3 {
            let plan: Plan
            do { plan = try self.plan(events, against: assumed, now: now) } catch {
                // A conflict with the truth read under the lock is the answer; with a guess it
                // may be wrong, or name other versions than the truth would: ask under the lock.
                if isTruth { throw error }
                return nil
            }
            if plan.accepted.isEmpty { return plan.result }
            switch try writeUnlessChanged(plan, assuming: assumed, on: c) {
            case .written(let hash):
                remember(plan, hash: hash)
                return plan.result
            case .missed:
                return nil
            case .changed(var truth):
                remember(truth, streams: plan.streams)
                // Only the ids written were asked about; those found stored before still are.
                truth.stored.merge(assumed.stored) { now, _ in now }
                assumed = truth
                isTruth = true
            }
        }
        return nil
    }

    enum UnlessChanged {
        /// Stored; the chain hash of the last row.
        case written(Digest)
        /// Not stored: the state read under the lock.
        case changed(Locked)
        /// Not stored (one row, whose statement does not read the state): ask under the lock.
        case missed
    }

    /// Sends the lock and `insertRowIfHeadHolds` or `insertRowsUnlessChanged` for `plan`'s rows
    /// in one pipeline (one round trip, one implicit transaction committed at its sync).
    private func writeUnlessChanged(_ plan: Plan, assuming assumed: Locked, on c: PostgresConnection) throws
        -> UnlessChanged
    {
        let (rows, hash) = try withCompressor { compressor in
            var encoder = RowEncoder(after: assumed.headHash, compressor: compressor, checkingHashes: false)
            let rows = try plan.accepted.map { try encoder.encode($0) }
            return (rows, encoder.chain)
        }
        let streams = plan.streams
        func version(_ stream: String) -> PostgresValue { assumed.versions[stream].map { .int8($0) } ?? .null }
        let head: [PostgresValue] = [.int8(assumed.head), assumed.head == 0 ? .null : .bytea(assumed.headHash.bytes)]
        if rows.count == 1 {
            let results = try c.pipeline { p in
                try p.query(PostgresStoreSQL.lock, [.text(PostgresStoreSQL.lockKey)])
                try p.query(PostgresStoreSQL.insertRowIfHeadHolds, rows[0] + [version(streams[0])] + head)
            }
            switch results[1].affectedRows {
            case 1: return .written(hash)
            case 0: return .missed
            case let n:
                throw StoreError(.io, "appending in \(address): \(n.map(String.init) ?? "no count of") rows inserted")
            }
        }
        let results = try c.pipeline { p in
            try p.query(PostgresStoreSQL.lock, [.text(PostgresStoreSQL.lockKey)])
            try p.query(
                PostgresStoreSQL.insertRowsUnlessChanged,
                RowEncoder.columnArrays(rows) + [
                    .array(streams.map { .text($0) }, of: .text), .array(streams.map(version), of: .int8),
                ] + head)
        }
        guard let count = try results[1].first(where: { try $0.int32(0) == 3 }) else {
            throw StoreError(.io, "appending in \(address): the insert gave no count")
        }
        let written = try count.int64(1)
        if written == Int64(rows.count) { return .written(hash) }
        guard written == 0 else {
            throw StoreError(.io, "appending in \(address): \(written) of \(rows.count) rows inserted")
        }
        return .changed(try Locked(lookUp: results[1]))
    }

    /// Keeps what a writer saw under the lock as the hints for the next append.
    private func remember(_ locked: Locked, streams: [String]) {
        hints.learn(head: locked.head, hash: locked.headHash, streams: streams, versions: locked.versions)
    }

    private func remember(_ plan: Plan, hash: Digest) {
        hints.learn(head: plan.accepted.last!.position, hash: hash, streams: plan.streams, versions: plan.versions)
    }

    /// What an append stores, decided against `locked`.
    struct Plan {
        /// The new events, positions from the head on.
        var accepted: [RecordedEvent] = []
        var result = AppendResult(positions: [], streamVersions: [], appendedCount: 0)
        /// The streams of the new events, each once, in order.
        var streams: [String] = []
        /// The last version of each stream after the append (from `locked` for the others).
        var versions: [String: Int64]
    }

    /// Decides, in order, for each event: an idempotent repeat (stored before, or earlier in
    /// the call), or a new event after its stream's version, which must be the one it expects.
    func plan(_ events: [ProposedEvent], against locked: Locked, now: Timestamp) throws -> Plan {
        var planner = Planner(against: locked, now: now, capacity: events.count)
        var accepted = [RecordedEvent]()
        accepted.reserveCapacity(events.count)
        for p in events {
            if let e = try planner.next(p) { accepted.append(e) }
        }
        return Plan(
            accepted: accepted, result: planner.result, streams: planner.streams, versions: planner.versions)
    }

    /// The decisions of `plan`, one event at a time, so that a large append can decide each
    /// event as it encodes and sends it (see `writeDeciding`).
    struct Planner {
        private let head: Int64
        private let stored: [EventID: (position: Int64, streamVersion: Int64)]
        private let now: Timestamp
        /// The last version of each stream so far (from `locked` for the others).
        private(set) var versions: [String: Int64]
        /// The streams of the new events, each once, in order.
        private(set) var streams: [String] = []
        private var streamSeen = Set<String>()
        /// The new events so far, by id: position and stream version.
        private var inCall: [EventID: (position: Int64, streamVersion: Int64)] = [:]
        private var positions: [Int64] = []
        private var streamVersions: [Int64] = []
        /// How many new events so far.
        private(set) var acceptedCount = 0

        init(against locked: Locked, now: Timestamp, capacity: Int) {
            head = locked.head
            stored = locked.stored
            versions = locked.versions
            self.now = now
            inCall.reserveCapacity(capacity)
            positions.reserveCapacity(capacity)
            streamVersions.reserveCapacity(capacity)
        }

        /// The next event of the call: its record when it is new, nil when it repeats one
        /// stored before or earlier in the call.
        mutating func next(_ p: ProposedEvent) throws -> RecordedEvent? {
            if let known = inCall[p.eventId] ?? stored[p.eventId] {
                positions.append(known.position)
                streamVersions.append(known.streamVersion)
                return nil
            }
            let current = versions[p.stream]
            // A stream at `Int64.max` has no next version. Only a guess can say it is (the
            // hints take an `exact(v)` for the stream's version), or a row written behind the
            // store's back: a conflict either way, never an overflow.
            let (version, full) = (current ?? -1).addingReportingOverflow(1)
            switch p.expectedVersion {
            case .any where !full: break
            case .noStream where current == nil: break
            case .exact(let v) where current == v && !full: break
            default:
                throw StoreError.wrongExpectedVersion(stream: p.stream, expected: p.expectedVersion, actual: current)
            }
            versions[p.stream] = version
            if streamSeen.insert(p.stream).inserted { streams.append(p.stream) }
            acceptedCount += 1
            let position = head + Int64(acceptedCount)
            inCall[p.eventId] = (position, version)
            positions.append(position)
            streamVersions.append(version)
            return RecordedEvent(
                position: position, stream: p.stream, streamVersion: version, eventId: p.eventId, type: p.type,
                schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? now, recordedAt: now,
                metadata: p.metadata, data: p.data, extra: p.extra)
        }

        /// The positions and stream versions of the events so far, new or repeated.
        var result: AppendResult {
            AppendResult(positions: positions, streamVersions: streamVersions, appendedCount: acceptedCount)
        }
    }

    /// Stores events recorded elsewhere exactly as they are (see `EventImporting`).
    public func importRecorded(_ events: [RecordedEvent]) throws(StoreError) {
        if events.isEmpty { return }
        try withConnection(doing: "importing") { c in
            let locked = try lockAndLookUp(ids: events.map(\.eventId), streams: events.map(\.stream), on: c)
            var versions = locked.versions
            var seen = Set<EventID>()
            for (i, e) in events.enumerated() {
                let position = locked.head + Int64(i) + 1
                guard e.position == position else {
                    throw StoreError(
                        .conflict, "cannot import position \(e.position): the store's next position is \(position)",
                        position: e.position)
                }
                guard locked.stored[e.eventId] == nil, seen.insert(e.eventId).inserted else {
                    throw StoreError(
                        .conflict, "cannot import position \(e.position): event id \(e.eventId) is already stored",
                        stream: e.stream, position: e.position)
                }
                let current = versions[e.stream]
                // Overflow only past a row written behind the store's back: it follows nothing.
                let next = (current ?? -1).addingReportingOverflow(1)
                guard !next.overflow, e.streamVersion == next.partialValue else {
                    throw StoreError(
                        .conflict,
                        "cannot import position \(e.position): stream version \(e.streamVersion) does not follow \(current ?? -1) (Stream: \(e.stream))",
                        stream: e.stream, position: e.position)
                }
                versions[e.stream] = e.streamVersion
            }
            try write(events, after: locked.headHash, checkingHashes: true, on: c)
        }
    }

    /// What a writer learns under the lock.
    struct Locked {
        var head: Int64
        var headHash: Digest
        /// Of the ids asked about, those stored: position and stream version.
        var stored: [EventID: (position: Int64, streamVersion: Int64)]
        /// Of the streams asked about, the last version of those that exist.
        var versions: [String: Int64]

        init(
            head: Int64, headHash: Digest, stored: [EventID: (position: Int64, streamVersion: Int64)],
            versions: [String: Int64]
        ) {
            self.head = head
            self.headHash = headHash
            self.stored = stored
            self.versions = versions
        }

        /// From the rows of `PostgresStoreSQL.lookUp` (other kinds of rows are skipped).
        init(lookUp rows: PostgresResult) throws {
            self.init(head: 0, headHash: ChainHash.genesis, stored: [:], versions: [:])
            for row in rows {
                switch try row.int32(0) {
                case 0:
                    head = try row.int64(1)
                    let hash = try row.bytes(2)
                    guard hash.count == 32 else {
                        throw StoreError(
                            .corruption, "position \(head): the stored hash is not 32 bytes", position: head)
                    }
                    headHash = hash.withUnsafeBytes { Digest($0) }
                case 1:
                    stored[EventID(try row.get(3, as: UUID.self))] = (try row.int64(1), try row.int64(4))
                case 2:
                    if let v = try row.get(1, as: Int64?.self) { versions[try row.string(5)] = v }
                default:
                    continue
                }
            }
        }
    }

    /// Opens the transaction, takes the writers' lock, reads the head, which of `ids` are
    /// stored and the last version of `streams`: one round trip.
    func lockAndLookUp(ids: [EventID], streams: [String], on c: PostgresConnection) throws -> Locked {
        var uniqueStreams = [String]()
        var seenStreams = Set<String>()
        for s in streams where seenStreams.insert(s).inserted { uniqueStreams.append(s) }
        var uniqueIds = [EventID]()
        var seenIds = Set<EventID>()
        for id in ids where seenIds.insert(id).inserted { uniqueIds.append(id) }
        let results = try c.pipeline { p in
            try p.query(PostgresStoreSQL.begin, [])
            try p.query(PostgresStoreSQL.lock, [.text(PostgresStoreSQL.lockKey)])
            try p.query(
                PostgresStoreSQL.lookUp,
                [
                    .array(uniqueIds.map { .uuid($0.uuid) }, of: .uuid),
                    .array(uniqueStreams.map { .text($0) }, of: .text),
                ])
        }
        return try Locked(lookUp: results[2])
    }

    /// Which of `ids` are stored, in the transaction open on `c`.
    func lookUp(ids: [EventID], on c: PostgresConnection) throws -> Locked {
        var unique = [EventID]()
        var seen = Set<EventID>()
        for id in ids where seen.insert(id).inserted { unique.append(id) }
        return try Locked(
            lookUp: try c.query(
                PostgresStoreSQL.lookUp,
                [.array(unique.map { .uuid($0.uuid) }, of: .uuid), .array([], of: .text)]))
    }

    /// Decides `events` one by one with `planner` as it encodes and sends the new ones (binary
    /// COPY in chunks), then commits: the server stores the first chunk's rows while this
    /// thread decides and encodes the next. Returns the chain hash of the last new row (the
    /// head's when none is new). A conflict aborts the COPY: nothing is stored.
    func writeDeciding(
        _ events: [ProposedEvent], planner: inout Planner, after headHash: Digest, on c: PostgresConnection
    ) throws -> Digest {
        try withCompressor { compressor in
            var encoder = RowEncoder(after: headHash, compressor: compressor, checkingHashes: false)
            try c.copyIn(PostgresStoreSQL.copyRows, columnTypes: PostgresStoreSQL.columnTypes) { w in
                for p in events {
                    guard let e = try planner.next(p) else { continue }
                    try w.writeEncodedRow { row in try encoder.encode(e, copyRowInto: &row) }
                }
            }
            try c.query(PostgresStoreSQL.commit, [])
            return encoder.chain
        }
    }

    /// Encodes `events` (positions from the head on, under the lock), writes them and commits.
    /// With `checkingHashes`, each event's hash (when it has one) must be the chain's.
    /// A large batch is encoded while it is sent (binary COPY in chunks), so that this thread
    /// encodes the next rows while the server stores the previous ones.
    @discardableResult
    func write(_ events: [RecordedEvent], after headHash: Digest, checkingHashes: Bool, on c: PostgresConnection) throws
        -> Digest
    {
        try withCompressor { compressor in
            var encoder = RowEncoder(after: headHash, compressor: compressor, checkingHashes: checkingHashes)
            if events.count < options.copyThreshold {
                let rows = try events.map { try encoder.encode($0) }
                _ = try c.pipeline { p in
                    if rows.count == 1 {
                        try p.query(PostgresStoreSQL.insertRow, rows[0])
                    } else {
                        try p.query(PostgresStoreSQL.insertRows, RowEncoder.columnArrays(rows))
                    }
                    try p.query(PostgresStoreSQL.commit, [])
                }
            } else {
                try c.copyIn(PostgresStoreSQL.copyRows, columnTypes: PostgresStoreSQL.columnTypes) { w in
                    for e in events { try w.writeEncodedRow { row in try encoder.encode(e, copyRowInto: &row) } }
                }
                try c.query(PostgresStoreSQL.commit, [])
            }
            return encoder.chain
        }
    }
}

/// Encodes events for their rows, in order: canonical bytes, the chain hash, the payload
/// (packed and LZ4-compressed), the metadata as JSON text.
struct RowEncoder {
    /// The chain hash of the last event encoded (the head's before the first).
    private(set) var chain: Digest
    private let compressor: LZ4Compressor
    private let checkingHashes: Bool
    private let dictionaryId: Int32
    private var writer = CanonicalJSONWriter(reservingCapacity: 2048)
    private var metadataWriter = CanonicalJSONWriter(reservingCapacity: 256)
    private var scratch = [UInt8]()

    init(after headHash: Digest, compressor: LZ4Compressor, checkingHashes: Bool) {
        chain = headHash
        self.compressor = compressor
        self.checkingHashes = checkingHashes
        dictionaryId = Int32(compressor.dictionary?.id ?? 0)
    }

    /// Writes the canonical bytes of `e` to `writer` and moves the chain on; checks the
    /// hash an imported event carries.
    private mutating func advanceChain(_ e: RecordedEvent) throws -> [UInt8] {
        writer.bytes.removeAll(keepingCapacity: true)
        if e.hash == nil {
            e.writeCanonical(into: &writer)
        } else {
            var plain = e
            plain.hash = nil
            plain.writeCanonical(into: &writer)
        }
        chain = writer.bytes.withUnsafeBytes { ChainHash.next(previous: chain, canonical: $0) }
        let hash = chain.bytes
        if checkingHashes, let given = e.hash, given != hash {
            throw StoreError(
                .corruption, "cannot import position \(e.position): its hash does not follow the chain",
                position: e.position)
        }
        return hash
    }

    /// The fields of `e` that its row holds in other forms than the payload, checked: the
    /// `schema_version` column is an `integer`, and a `timestamptz` counts microseconds from
    /// 2000-01-01, which a time near `Int64.min` µs since 1970 cannot be. Clamped or wrapped,
    /// the row would differ from its payload (`verify` reports that as corruption); so the
    /// event is refused, before its transaction commits, whether its row goes by INSERT or COPY.
    private static func checkedFields(of e: RecordedEvent) throws -> (
        schemaVersion: Int32, occurredAt: Int64, recordedAt: Int64
    ) {
        func refused(_ what: String) -> StoreError {
            StoreError(
                .invalidRequest,
                "cannot store event \(e.eventId) (Stream: \(e.stream)): \(what) is out of PostgreSQL's range",
                stream: e.stream)
        }
        guard let schemaVersion = Int32(exactly: e.schemaVersion) else {
            throw refused("schemaVersion \(e.schemaVersion) (\(Int32.min)…\(Int32.max))")
        }
        func time(_ t: Timestamp, _ name: String) throws(StoreError) -> Int64 {
            do { return try PostgresBinary.toPostgresEpoch(t.microseconds) } catch {
                throw refused("\(name) (\(t.microseconds) µs since 1970)")
            }
        }
        return (schemaVersion, try time(e.occurredAt, "occurredAt"), try time(e.recordedAt, "recordedAt"))
    }

    /// The next event's row, in `PostgresStoreSQL.columns` order.
    mutating func encode(_ e: RecordedEvent) throws -> [PostgresValue] {
        let checked = try Self.checkedFields(of: e)
        let hash = try advanceChain(e)
        var payload = [UInt8]()
        let packedLength = writer.bytes.withUnsafeBytes { canonical in
            payload.reserveCapacity(LZ4Compressor.bound(canonical.count))
            return StoredEventCodec.encodePayload(
                canonical, compressor: compressor, scratch: &scratch, appendingTo: &payload)
        }
        return [
            .int8(e.position), .text(e.stream), .int8(e.streamVersion), .uuid(e.eventId.uuid), .text(e.type),
            .int4(checked.schemaVersion), .timestamptz(e.occurredAt.microseconds),
            .timestamptz(e.recordedAt.microseconds), .json(JSONValue.object(e.metadata).canonicalString),
            .bytea(payload), .int4(Int32(packedLength)), .int4(dictionaryId), .bytea(hash),
        ]
    }

    /// The next event's row in binary COPY form (the same fields as `encode`), appended to
    /// `row`: no array per row or per field, the payload compressed straight into place.
    mutating func encode(_ e: RecordedEvent, copyRowInto row: inout [UInt8]) throws {
        let checked = try Self.checkedFields(of: e)
        let hash = try advanceChain(e)
        row.be(Int16(PostgresStoreSQL.columns.count))
        row.field(e.position)
        row.field(e.stream)
        row.field(e.streamVersion)
        row.be(Int32(16))
        row.be(e.eventId.high)
        row.be(e.eventId.low)
        row.field(e.type)
        row.field(checked.schemaVersion)
        row.field(checked.occurredAt)
        row.field(checked.recordedAt)
        metadataWriter.bytes.removeAll(keepingCapacity: true)
        metadataWriter.write(e.metadata)
        row.field(bytes: metadataWriter.bytes)
        // The payload: its length is known once compressed.
        let lengthAt = row.count
        row.be(Int32(0))
        let packedLength = writer.bytes.withUnsafeBytes { canonical in
            StoredEventCodec.encodePayload(canonical, compressor: compressor, scratch: &scratch, appendingTo: &row)
        }
        let payloadLength = Int32(row.count - lengthAt - 4)
        withUnsafeBytes(of: payloadLength.bigEndian) { b in for k in 0..<4 { row[lengthAt + k] = b[k] } }
        row.field(Int32(packedLength))
        row.field(dictionaryId)
        row.field(bytes: hash)
    }

    /// The rows as one array per column, for the multi-row INSERT.
    static func columnArrays(_ rows: [[PostgresValue]]) -> [PostgresValue] {
        zip(PostgresStoreSQL.columnTypes.indices, PostgresStoreSQL.columnTypes).map { column, type in
            .array(rows.map { $0[column] }, of: type)
        }
    }
}

extension [UInt8] {
    /// Appends `v` big-endian.
    fileprivate mutating func be<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }

    /// A binary COPY field: its length, then its bytes.
    fileprivate mutating func field(_ v: Int64) {
        be(Int32(8))
        be(v)
    }

    fileprivate mutating func field(_ v: Int32) {
        be(Int32(4))
        be(v)
    }

    fileprivate mutating func field(_ s: String) {
        var s = s
        s.withUTF8 { field(bytes: $0) }
    }

    fileprivate mutating func field<C: Collection>(bytes: C) where C.Element == UInt8 {
        be(Int32(bytes.count))
        append(contentsOf: bytes)
    }
}
