import DeployLogEvents

/// The in-memory index of a file store, rebuilt from the segments on open and extended on every
/// commit: where each position's record is, its stream, type, time and chain hash; each
/// stream's positions; every event id.
struct LogIndex {
    struct Location: Equatable {
        var segment: Int32
        var offset: UInt32
        var length: UInt32
    }

    private(set) var head: Int64 = 0
    private(set) var headHash = ChainHash.genesis
    private var hashes: [UInt8] = []
    private var locations: [Location] = []
    private var streamOf: [UInt32] = []
    private var typeOf: [UInt32] = []
    private var occurredAt: [Int64] = []
    private var streams = NameTable()
    private var streamPositions: [[Int64]] = []
    private var types = NameTable()
    private var eventIds = EventIDTable()

    /// Adds the event at position `head + 1`.
    mutating func add(_ e: RecordedEvent, hash: Digest, location: Location) {
        add(position: e.position, stream: e.stream, type: e.type, occurredAt: e.occurredAt, eventId: e.eventId, hash: hash, location: location)
    }

    /// Adds the event at position `head + 1` (from a scan, which decodes only these fields).
    mutating func add(_ f: IndexFields, hash: Digest, location: Location) {
        add(position: f.position, stream: f.stream, type: f.type, occurredAt: f.occurredAt, eventId: f.eventId, hash: hash, location: location)
    }

    private mutating func add(
        position: Int64, stream: String, type: String, occurredAt at: Timestamp, eventId: EventID, hash: Digest, location: Location
    ) {
        precondition(position == head + 1, "positions are gapless")
        let (sid, newStream) = streams.id(for: stream)
        if newStream { streamPositions.append([]) }
        let tid = types.id(for: type).id
        streamPositions[Int(sid)].append(position)
        Swift.withUnsafeBytes(of: hash.value) { hashes.append(contentsOf: $0) }
        locations.append(location)
        streamOf.append(sid)
        typeOf.append(tid)
        occurredAt.append(at.microseconds)
        eventIds.add(eventId, at: position)
        head = position
        headHash = hash
    }

    /// The additions of one group, worked out while its sync runs (`prepare`), so that once
    /// it is durable `apply` has little left to do under the lock: the stream and type
    /// numbers are looked up (a string hash each), the fixed-width columns built, and the
    /// memory the additions will touch read once, so that it is in the cache.
    struct Prepared {
        fileprivate let first: Int64
        /// Each event's stream and type number; `LogIndex.unknown` for a name new to the index.
        fileprivate var streamIds: [UInt32] = []
        fileprivate var typeIds: [UInt32] = []
        fileprivate var hashes: [UInt8] = []
        fileprivate var locations: [Location] = []
        fileprivate var occurredAt: [Int64] = []
        fileprivate var lastHash = ChainHash.genesis
    }

    fileprivate static let unknown = UInt32.max

    /// The additions of `events` (positions `head + 1 …`, in order), without making them.
    func prepare(_ events: UnsafeBufferPointer<RecordedEvent>, hashes: [Digest], locations: [Location]) -> Prepared {
        var p = Prepared(first: head + 1)
        let n = events.count
        p.streamIds.reserveCapacity(n)
        p.typeIds.reserveCapacity(n)
        p.hashes.reserveCapacity(n * 32)
        p.occurredAt.reserveCapacity(n)
        p.locations = locations
        var lastStream: (name: String, id: UInt32)? = nil
        var lastType: (name: String, id: UInt32)? = nil
        var touched: UInt64 = 0
        for k in 0..<n {
            let e = events[k]
            let sid: UInt32
            if let l = lastStream, l.name == e.stream { sid = l.id } else {
                sid = streams.ids[e.stream] ?? LogIndex.unknown
                lastStream = (e.stream, sid)
            }
            let tid: UInt32
            if let l = lastType, l.name == e.type { tid = l.id } else {
                tid = types.ids[e.type] ?? LogIndex.unknown
                lastType = (e.type, tid)
            }
            p.streamIds.append(sid)
            p.typeIds.append(tid)
            if sid != LogIndex.unknown { touched &+= UInt64(streamPositions[Int(sid)].count) }
            touched &+= eventIds.touch(e.eventId)
            Swift.withUnsafeBytes(of: hashes[k].value) { p.hashes.append(contentsOf: $0) }
            p.occurredAt.append(e.occurredAt.microseconds)
        }
        p.lastHash = hashes.last ?? headHash
        keepAlive(touched)
        return p
    }

    /// Makes the additions `prepare` worked out for `events`, which must still follow the head.
    mutating func apply(_ p: Prepared, _ events: UnsafeBufferPointer<RecordedEvent>) {
        precondition(p.first == head + 1 && p.streamIds.count == events.count, "prepared for another head")
        for k in 0..<events.count {
            let e = events[k]
            let position = p.first + Int64(k)
            var sid = p.streamIds[k]
            if sid == LogIndex.unknown {
                let (id, isNew) = streams.id(for: e.stream)
                if isNew { streamPositions.append([]) }
                sid = id
            }
            var tid = p.typeIds[k]
            if tid == LogIndex.unknown { tid = types.id(for: e.type).id }
            streamPositions[Int(sid)].append(position)
            streamOf.append(sid)
            typeOf.append(tid)
            eventIds.add(e.eventId, at: position)
        }
        hashes.append(contentsOf: p.hashes)
        locations.append(contentsOf: p.locations)
        occurredAt.append(contentsOf: p.occurredAt)
        if !events.isEmpty {
            head = p.first + Int64(events.count) - 1
            headHash = p.lastHash
        }
    }

    /// What an index checkpoint stores: everything but the stream positions, which follow
    /// from `streamOf`.
    struct Columns {
        var hashes: [UInt8]
        var locations: [Location]
        var streamOf: [UInt32]
        var typeOf: [UInt32]
        var occurredAt: [Int64]
        var streamNames: [String]
        var typeNames: [String]
        var eventIds: EventIDTable.Stored
    }

    /// The columns (shared, not copied: the arrays are copy-on-write).
    var columns: Columns {
        Columns(
            hashes: hashes, locations: locations, streamOf: streamOf, typeOf: typeOf, occurredAt: occurredAt,
            streamNames: streams.names, typeNames: types.names, eventIds: eventIds.stored)
    }

    init() {}

    /// The index holding `columns` (of positions 1 through their count); nil when they do not
    /// agree with each other: lengths, name and stream numbers, the event-id table.
    init?(columns c: Columns) {
        let n = c.locations.count
        guard c.hashes.count == n * 32, c.streamOf.count == n, c.typeOf.count == n, c.occurredAt.count == n,
            let streams = NameTable(names: c.streamNames), let types = NameTable(names: c.typeNames),
            let eventIds = EventIDTable(stored: c.eventIds), c.eventIds.ids.count == n
        else { return nil }
        let streamCount = UInt32(c.streamNames.count)
        let typeCount = UInt32(c.typeNames.count)
        // Each stream's positions, counted first so that each array is allocated once.
        var counts = [Int](repeating: 0, count: Int(streamCount))
        var bad = false
        c.streamOf.withUnsafeBufferPointer { s in
            for sid in s {
                if sid >= streamCount { bad = true; break }
                counts[Int(sid)] += 1
            }
        }
        guard !bad, c.typeOf.allSatisfy({ $0 < typeCount }), !counts.contains(0) else { return nil }
        var positions = counts.map { k -> [Int64] in
            var a = [Int64]()
            a.reserveCapacity(k)
            return a
        }
        for (i, sid) in c.streamOf.enumerated() { positions[Int(sid)].append(Int64(i + 1)) }
        head = Int64(n)
        hashes = c.hashes
        headHash = n == 0 ? ChainHash.genesis : c.hashes.withUnsafeBytes { Digest(UnsafeRawBufferPointer(rebasing: $0[(n * 32 - 32)...])) }
        locations = c.locations
        streamOf = c.streamOf
        typeOf = c.typeOf
        occurredAt = c.occurredAt
        self.streams = streams
        streamPositions = positions
        self.types = types
        self.eventIds = eventIds
    }

    /// The last version of a stream (its event count − 1), nil when it has none.
    func lastVersion(of stream: String) -> Int64? {
        guard let s = streams.ids[stream] else { return nil }
        return Int64(streamPositions[Int(s)].count) - 1
    }

    func position(of id: EventID) -> Int64? { eventIds.position(of: id) }

    /// The position of each of `ids`, 0 for those not stored (looked up together: faster).
    func positions(of ids: UnsafeBufferPointer<EventID>) -> [Int64] { eventIds.positions(of: ids) }

    func streamVersion(at position: Int64) -> Int64 {
        let sid = Int(streamOf[Int(position - 1)])
        // Positions in a stream are ascending: binary search.
        let ps = streamPositions[sid]
        var lo = 0
        var hi = ps.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if ps[mid] < position { lo = mid + 1 } else { hi = mid }
        }
        return Int64(lo)
    }

    func location(of position: Int64) -> Location { locations[Int(position - 1)] }

    func eventId(at position: Int64) -> EventID { eventIds.id(at: position) }
    func stream(at position: Int64) -> String { streams.names[Int(streamOf[Int(position - 1)])] }
    func type(at position: Int64) -> String { types.names[Int(typeOf[Int(position - 1)])] }
    func occurredMicroseconds(at position: Int64) -> Int64 { occurredAt[Int(position - 1)] }

    func hash(at position: Int64) -> Digest {
        if position == 0 { return ChainHash.genesis }
        let i = Int(position - 1) * 32
        return hashes.withUnsafeBytes { Digest(UnsafeRawBufferPointer(rebasing: $0[i..<(i + 32)])) }
    }


    /// The positions at or after `from` that match `filter` (every condition is decided here,
    /// from the index), at most `limit`.
    func positions(from: Int64, filter: EventFilter, limit: Int?) -> [Int64] {
        let start = max(from, 1)
        // The last position a read may return: the head, or the filter's upper bound.
        let last = min(head, filter.throughPosition ?? head)
        guard start <= last else { return [] }
        let cap = limit ?? Int.max
        var out = [Int64]()
        if let stream = filter.stream {
            guard let sid = streams.ids[stream] else { return [] }
            if let cats = filter.categories, !cats.contains(ProposedEvent.category(of: stream)) { return [] }
            for p in streamPositions[Int(sid)] where p >= start {
                if p > last { break }
                if matches(p, filter) { out.append(p) }
                if out.count >= cap { break }
            }
            return out
        }
        if filter.types == nil, filter.categories == nil, filter.since == nil, filter.until == nil {
            let end = min(last, start + Int64(min(cap, Int(last))) - 1)
            return Array(start...end)
        }
        let typeSet: Set<UInt32>? = filter.types.map { Set($0.compactMap { types.ids[$0] }) }
        var categoryStreams: Set<UInt32>? = nil
        if let cats = filter.categories {
            var s = Set<UInt32>()
            for (i, name) in streams.names.enumerated() where cats.contains(ProposedEvent.category(of: name)) { s.insert(UInt32(i)) }
            categoryStreams = s
        }
        var p = start
        while p <= last, out.count < cap {
            let i = Int(p - 1)
            if let typeSet, !typeSet.contains(typeOf[i]) { p += 1; continue }
            if let categoryStreams, !categoryStreams.contains(streamOf[i]) { p += 1; continue }
            if let since = filter.since, occurredAt[i] < since.microseconds { p += 1; continue }
            if let until = filter.until, occurredAt[i] >= until.microseconds { p += 1; continue }
            out.append(p)
            p += 1
        }
        return out
    }

    private func matches(_ p: Int64, _ f: EventFilter) -> Bool {
        let i = Int(p - 1)
        if let wanted = f.types, !wanted.contains(types.names[Int(typeOf[i])]) { return false }
        if let since = f.since, occurredAt[i] < since.microseconds { return false }
        if let until = f.until, occurredAt[i] >= until.microseconds { return false }
        return true
    }
}

/// Names (streams, types) numbered in order of first appearance.
struct NameTable {
    private(set) var names: [String] = []
    private(set) var ids: [String: UInt32] = [:]
    /// The last name looked up: consecutive events mostly share a stream and often a type,
    /// and comparing is cheaper than hashing.
    private var last: (name: String, id: UInt32)?

    init() {}

    /// The table numbering `names` in order; nil when a name repeats.
    init?(names: [String]) {
        var ids = [String: UInt32](minimumCapacity: names.count)
        for (i, name) in names.enumerated() where ids.updateValue(UInt32(i), forKey: name) != nil { return nil }
        self.names = names
        self.ids = ids
    }

    /// The id of `name`, numbering it when new.
    mutating func id(for name: String) -> (id: UInt32, isNew: Bool) {
        if let last, last.name == name { return (last.id, false) }
        var isNew = false
        let id: UInt32
        if let known = ids[name] {
            id = known
        } else {
            id = UInt32(names.count)
            ids[name] = id
            names.append(name)
            isNew = true
        }
        last = (name, id)
        return (id, isNew)
    }
}

/// Keeps a value computed only for its memory reads from being optimised away.
@inline(never)
private func keepAlive(_ value: UInt64) { withExtendedLifetime(value) {} }
