import DeployLogCompression
public import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation

extension PostgresStore {
    public func read(from position: Int64, filter: EventFilter, limit: Int?, _ body: (RecordedEvent) throws -> Bool)
        throws
    {
        _ = try readExamining(from: position, filter: filter, limit: limit, body)
    }

    /// `read`, returning the last position it examined: the head it saw (or the filter's
    /// `throughPosition`) when fewer than `limit` events matched, else the last one delivered.
    ///
    /// The head is read first; every position up to it is committed and visible (positions are
    /// assigned and committed in order, see `PostgresStore+Append.swift`). Rows then come in
    /// pages of `readPageSize` by position (a keyset cursor: `position > last one seen`), each
    /// page one prepared query whose rows are decoded on every core and handed to `body`
    /// in order with no connection held, so `body` may call the store.
    ///
    /// Why pages rather than a server-side cursor (`DECLARE … FETCH`) held for the whole read:
    /// a cursor lives in a transaction, which would stay open while `body` runs — a slow
    /// consumer, `log --follow`, a projection rebuild — and hold back VACUUM for the whole
    /// database. Pages hold nothing between them and need no common snapshot: rows at or below
    /// the head never change, so consecutive pages are one consistent read.
    ///
    /// Three stages overlap (`PageReader`): the server sends page k+2 while page k+1 is decoded
    /// on a thread of its own while `body` consumes page k. Before, a page was decoded only
    /// once `body` had finished the last one, so a consumer that does work (a projection
    /// rebuild's fold: about as much per event as decoding) left the second core idle while it
    /// ran. At most `PageReader.ahead` decoded pages wait, so memory stays bounded by a few
    /// pages however slow `body` is.
    ///
    /// A read whose filter skips no position (none, or only `throughPosition`) must see
    /// `from`, `from` + 1, … up to the head it read: positions are gapless, and only a
    /// superuser disabling the append-only triggers can delete a row. Such a hole is not
    /// skipped — a subscription, a projection rebuild or `copy` would carry on without the
    /// event — but delivered up to: the events before it, then `corruption` naming the first
    /// missing position (`StoreError.missingPosition`), as for any other bad row. Filtered
    /// reads skip positions by design and are not checked. The check costs two comparisons
    /// per chunk of decoded rows, nothing per row.
    func readExamining(
        from position: Int64, filter: EventFilter, limit: Int?, _ body: (RecordedEvent) throws -> Bool
    ) throws -> Int64 {
        try readExamining(
            from: position, filter: filter, limit: limit, decode: PageDecoder.recordedEvent,
            matches: { filter.matches($0) }, position: \.position,
            interning: (limit ?? Int.max) > PostgresStore.internFrom, body)
    }

    /// Reads of more events than this share the strings that come back from event to event
    /// (ids, names: `RecordedEvent.DecodeCache(interning:)`), as the file store's reads do;
    /// shorter ones do not pay for the table.
    static let internFrom = 512

    /// As `read`, but only what a fold reads of each event is decoded (`FoldFields`: the rest
    /// of the envelope is checked, not built), ahead of `body` on the reading thread.
    /// `classify` gives each type's `typeCode` (once per type and decoding thread). The
    /// columns are checked against the event as far as fold fields go (position, type, time).
    @discardableResult
    package func readFoldFields(
        from position: Int64, filter: EventFilter, limit: Int?, classify: @escaping @Sendable (String) -> UInt8,
        _ body: (FoldFields) throws -> Bool
    ) throws -> Int64 {
        try readExamining(
            from: position, filter: filter, limit: limit,
            decode: { row, position, packed, canonical, cache in
                let n = try StoredEventCodec.unpack(packed, into: &canonical)
                let f = try canonical.withUnsafeBytes { c in
                    try RecordedEvent.foldFields(
                        canonical: UnsafeRawBufferPointer(rebasing: c[0..<n]), cache: &cache, classify: classify)
                }
                guard f.position == position else { throw StoreError.positionMismatch(at: position, found: f.position) }
                return f
            }, matches: { filter.matchesFoldFields($0) }, position: \.position, interning: true, body)
    }

    /// The read itself, each row decoded by `decode` (on the reading thread, ahead of `body`),
    /// checked by `matches` and delivered in order.
    func readExamining<T: Sendable>(
        from position: Int64, filter: EventFilter, limit: Int?, decode: @escaping PageDecoder.Decode<T>,
        matches: (T) -> Bool, position at: (T) -> Int64, interning: Bool, _ body: (T) throws -> Bool
    ) throws -> Int64 {
        let start = max(position, 1)
        if limit == 0 { return start - 1 }
        let head = try head().position
        let upper = min(head, filter.throughPosition ?? Int64.max)
        guard start <= upper else { return start - 1 }
        let query = ReadQuery(filter)
        let reader = PageReader<T>(
            self, query, from: start, through: upper, limit: limit, interning: interning, decode: decode)
        defer { reader.cancel() }
        // A read without conditions must see every position from `start` on: the position it
        // expects next (nil: a filtered read, whose gaps are the events filtered out).
        var expected: Int64? = query.readsEveryPosition ? start : nil
        var delivered = 0
        while var chunks = try reader.next() {
            var last: Int64?
            for c in chunks.indices {
                // The chunk's events are moved out of it one by one and handed to `body`, then
                // dropped: lent where they lie (or iterated), each was copied first — a retain
                // of each of its strings, arrays and JSON trees, and a release of each again,
                // on the consumer's thread (9% of a read). The chunk is reversed so that
                // `popLast` takes them in order (a move, no copy: the array is not shared),
                // through its buffer, whose swaps move (`Array.reverse` copies each event).
                var events: [T] = []
                swap(&events, &chunks[c].events)
                // A gap: the events before it are delivered, then the read fails.
                var gap: StoreError?
                if let first = expected {
                    gap = Self.cutAtGap(&events, from: first, position: at)
                    expected = first + Int64(events.count)
                }
                if let e = events.last { last = at(e) }
                events.withUnsafeMutableBufferPointer { $0.reverse() }
                while let e = events.popLast() {
                    // The same conditions, checked again on the decoded event (not the columns).
                    guard matches(e) else {
                        throw StoreError(
                            .corruption, "position \(at(e)): the row's columns do not match its event",
                            position: at(e))
                    }
                    if try !body(e) { return at(e) }
                    delivered += 1
                }
                if let gap { throw gap }
                // A bad row: the events before it were delivered, as the file store does (and
                // when positions are missing before it, the first of them is the error).
                if let failure = chunks[c].failure {
                    if let e = expected, let p = failure.position, p > e {
                        throw StoreError.missingPosition(e, next: p)
                    }
                    throw failure
                }
            }
            if let limit, delivered >= limit { return last ?? upper }
        }
        // Every row up to `upper` was read: the last positions are missing when it fell short.
        if let e = expected, e <= upper { throw StoreError.missingPosition(e, next: nil) }
        return upper
    }

    /// For a read of every position: when `events` (consecutive rows, in order of position)
    /// are not `first`, `first` + 1, …, cuts them before the first one out of place and returns
    /// the error naming the position missing there.
    ///
    /// Positions only increase from row to row (the read is ordered by the primary key), so
    /// the first and the last event decide: a chunk costs two comparisons, not one per row.
    @inline(__always)
    static func cutAtGap<T>(_ events: inout [T], from first: Int64, position at: (T) -> Int64) -> StoreError? {
        let n = events.count
        if n == 0 || at(events[0]) == first && at(events[n - 1]) == first + Int64(n - 1) { return nil }
        let i = events.indices.first { at(events[$0]) != first + Int64($0) }!
        let missing = first + Int64(i)
        let next = at(events[i])
        events.removeSubrange(i...)
        return StoreError.missingPosition(missing, next: next)
    }

    /// Decodes the rows of one page (`PostgresStoreSQL.readColumns`), in order, in chunks, on
    /// two threads when there are many (`decoders` holds one scratch space per thread, kept
    /// from page to page).
    ///
    /// Dictionaries added since we looked (by a newer writer) are read when a row needs one:
    /// the page is decoded with the dictionaries known, and when its first bad row is one of
    /// an unknown dictionary, they are read again and the page decoded again (rare: once per
    /// new dictionary). Before, every row's `dictionary_id` was looked up first, under the
    /// store's lock, in a pass of its own over the page (a cache miss per row): 3% of a read.
    func decode<T: Sendable>(
        _ rows: PostgresResult, with decoders: inout [PageDecoder], helper: DecodeHelper,
        _ decode: @escaping PageDecoder.Decode<T>
    ) throws -> [DecodedChunk<T>] {
        if rows.isEmpty { return [] }
        let chunks = decodeChunks(rows, with: &decoders, helper: helper, decompressor: decompressor(), decode)
        guard let bad = chunks.last, bad.failure != nil else { return chunks }
        let row = rows[bad.firstRow + bad.events.count]
        guard let id = try? row.int32(3), !knowsDictionary(UInt32(truncatingIfNeeded: id)) else { return chunks }
        try reloadDictionaries()
        return decodeChunks(rows, with: &decoders, helper: helper, decompressor: decompressor(), decode)
    }

    /// `decode` with the dictionaries of `dictionaries`: the chunks up to the first that holds
    /// a bad row (the last then).
    ///
    /// A large page is decoded by this thread and `helper`'s, which take chunks of it in turn.
    /// Not `DispatchQueue.concurrentPerform`: measured, its second iteration got a thread so
    /// late that it decoded a fifth of the chunks (1,279 against 284 in one read), and the
    /// read ran on one core.
    private func decodeChunks<T: Sendable>(
        _ rows: PostgresResult, with decoders: inout [PageDecoder], helper: DecodeHelper,
        decompressor dictionaries: LZ4Decompressor, _ decode: @escaping PageDecoder.Decode<T>
    ) -> [DecodedChunk<T>] {
        let count = rows.count
        if count < 512 {
            return [decoders[0].decode(rows, 0..<count, decompressor: dictionaries, decode)]
        }
        if decoders.count < 2 { decoders.append(PageDecoder(interning: decoders[0].interning)) }
        let chunk = 128
        let chunks = (count + chunk - 1) / chunk
        var results = [DecodedChunk<T>](repeating: DecodedChunk(events: [], firstRow: 0), count: chunks)
        let next = ChunkTaker()
        results.withUnsafeMutableBufferPointer { out in
            decoders.withUnsafeMutableBufferPointer { scratch in
                // Each thread writes only its own decoder and the result slots of its chunks;
                // `helper.wait()` returns before the buffers go out of scope.
                let shared = SendableBox((out, scratch))
                let work: @Sendable (Int) -> Void = { w in
                    let (out, scratch) = shared.value
                    while let c = next.take(below: chunks) {
                        out[c] = scratch[w].decode(
                            rows, (c * chunk)..<min(count, (c + 1) * chunk), decompressor: dictionaries, decode)
                    }
                }
                helper.start { work(1) }
                work(0)
                helper.wait()
            }
        }
        // The chunks as they are (no copy of every event into one array), up to the first
        // that holds a bad row.
        if let bad = results.firstIndex(where: { $0.failure != nil }) { results.removeSubrange((bad + 1)...) }
        return results
    }
}

/// The projections' folds read fold fields from the PostgreSQL store too.
extension PostgresStore: FoldFieldsReading {}

/// The pages of one read, fetched and decoded ahead of the reader on a thread of its own: it
/// starts the fetch of the next page (on another thread and connection, `PageFetch`) as soon
/// as a page's rows arrive, then decodes them (on every core) while that fetch is in flight,
/// and queues the events for `next()`, at most `ahead` pages in advance.
final class PageReader<T: Sendable>: @unchecked Sendable {
    static var ahead: Int { 2 }
    private let condition = NSCondition()
    /// Decoded pages, each as its chunks in order.
    private var ready: [Result<[DecodedChunk<T>], StoreError>] = []
    private var finished = false
    private var cancelled = false

    init(
        _ store: PostgresStore, _ query: ReadQuery, from start: Int64, through upper: Int64, limit: Int?,
        interning: Bool, decode: @escaping PageDecoder.Decode<T>
    ) {
        let pageSize = store.options.readPageSize
        // Threads of their own, not Swift's or Dispatch's shared pool: this one blocks on a slow
        // consumer (`waitForRoom`) and on the server, and a pool of one thread per core (two
        // here) with a few such readers parked would keep every other read and subscription
        // poll of the process waiting for a thread.
        PageFetch.detach { [self] in
            var fetched = 0
            func want() -> Int { min(pageSize, limit.map { $0 - fetched } ?? Int.max) }
            // The first page on this thread; the next ones on their own while this one decodes.
            var fetch = PageFetch(store, query, from: start, through: upper, limit: want(), inBackground: false)
            var decoders = [PageDecoder(interning: interning)]
            let helper = DecodeHelper()
            defer { helper.stop() }
            while true {
                let page: Result<[DecodedChunk<T>], StoreError>
                var next: PageFetch?
                do {
                    let rows = try fetch.rows()
                    fetched += rows.count
                    // Every row fetched is delivered (or the read fails), so the limit
                    // counts rows.
                    if rows.count == fetch.limit, let last = try? rows.last?.int64(0), last < upper, want() > 0,
                        waitForRoom()
                    {
                        next = PageFetch(store, query, from: last + 1, through: upper, limit: want(), inBackground: true)
                    }
                    page = isCancelled ? .success([]) : .success(try store.decode(rows, with: &decoders, helper: helper, decode))
                } catch {
                    page = .failure(error as? StoreError ?? StoreError(.io, "reading: \(error)"))
                    next = nil
                }
                condition.lock()
                ready.append(page)
                if next == nil { finished = true }
                condition.broadcast()
                condition.unlock()
                guard let next else { return }
                fetch = next
            }
        }
    }

    private var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Waits until fewer than `ahead` pages are waiting; false once cancelled.
    private func waitForRoom() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= Self.ahead && !cancelled { condition.wait() }
        return !cancelled
    }

    /// The next page's events in order (in chunks); nil after the last.
    func next() throws(StoreError) -> [DecodedChunk<T>]? {
        condition.lock()
        while ready.isEmpty && !finished { condition.wait() }
        guard !ready.isEmpty else {
            condition.unlock()
            return nil
        }
        let page = ready.removeFirst()
        condition.broadcast()
        condition.unlock()
        return try page.get()
    }

    /// Stops fetching ahead (the reader is done): no new page is asked for.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// One page of a read, fetched on a thread of its own (with a connection of its own).
final class PageFetch: @unchecked Sendable {
    let limit: Int
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<PostgresResult, StoreError>?

    /// Asks for the page: on a thread of its own when `inBackground`, else before returning.
    init(_ store: PostgresStore, _ query: ReadQuery, from: Int64, through: Int64, limit: Int, inBackground: Bool) {
        self.limit = limit
        let parameters = query.parameters(from: from, through: through, limit: limit)
        let statement = query.statement
        let query = query
        let fetch = { @Sendable [self] in
            result = Result { () throws(StoreError) -> PostgresResult in
                try store.withConnection(doing: "reading from position \(from)") { c in
                    try query.isPrepared ? c.query(statement, parameters) : c.query(statement.sql, parameters)
                }
            }
            done.signal()
        }
        if inBackground { Self.detach(fetch) } else { fetch() }
    }

    /// Runs `body` on a new thread (see `PageReader.init` for why not a shared pool's).
    static func detach(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Waits for the page.
    func rows() throws(StoreError) -> PostgresResult {
        done.wait()
        return try result!.get()
    }
}

/// Scratch space for decoding rows on one thread.
struct PageDecoder {
    /// What a read makes of one row (`position, payload, packed_length, dictionary_id, hash`),
    /// given its position column and its payload decompressed: the packed form (`EventPacking`),
    /// which `StoredEventCodec` decodes as it is or unpacks into `canonical` (scratch space).
    typealias Decode<T> =
        @Sendable (
            _ row: PostgresRow, _ position: Int64, _ packed: UnsafeRawBufferPointer, _ canonical: inout [UInt8],
            _ cache: inout RecordedEvent.DecodeCache
        ) throws -> T

    var packed = [UInt8]()
    var canonical = [UInt8]()
    var cache: RecordedEvent.DecodeCache
    let interning: Bool

    /// `interning`: strings that come back from event to event are shared (long reads).
    init(interning: Bool = false) {
        self.interning = interning
        cache = RecordedEvent.DecodeCache(interning: interning)
    }

    /// The full decode of `read`: the event, its position checked, the row's chain hash attached.
    static let recordedEvent: Decode<RecordedEvent> = { row, position, packed, canonical, cache in
        var e = try StoredEventCodec.decodeEvent(packed: packed, canonical: &canonical, cache: &cache)
        guard e.position == position else { throw StoreError.positionMismatch(at: position, found: e.position) }
        e.hash = try row.bytes(4)
        return e
    }

    /// Decodes rows `range` of `rows` with `decode`, up to the first bad one. Inlined into the
    /// (specialized) callers: left generic, its every array and value went through metadata
    /// look-ups and value witnesses.
    @inline(__always)
    mutating func decode<T>(
        _ rows: PostgresResult, _ range: Range<Int>, decompressor: LZ4Decompressor, _ decode: Decode<T>
    ) -> DecodedChunk<T> {
        var out = [T]()
        out.reserveCapacity(range.count)
        for i in range {
            let row = rows[i]
            var position: Int64 = 0
            do {
                position = try row.int64(0)
                let packedLength = Int(try row.int32(2))
                let dictionaryId = UInt32(truncatingIfNeeded: try row.int32(3))
                try decompress(
                    row, position: position, packedLength: packedLength, dictionaryId: dictionaryId,
                    decompressor: decompressor)
                let value = try packed.withUnsafeBytes { try decode(row, position, $0, &canonical, &cache) }
                out.append(value)
            } catch let e as StoreError {
                return DecodedChunk(events: out, firstRow: range.lowerBound, failure: e)
            } catch {
                return DecodedChunk(
                    events: out, firstRow: range.lowerBound,
                    failure: StoreError(.corruption, "position \(position): \(error)", position: position))
            }
        }
        return DecodedChunk(events: out, firstRow: range.lowerBound)
    }

    /// The event of one row's payload: decompressed, unpacked, decoded, its position checked
    /// (`verify`, which reads other columns too).
    mutating func event(
        _ row: PostgresRow, position: Int64, packedLength: Int, dictionaryId: UInt32, decompressor: LZ4Decompressor
    ) throws -> RecordedEvent {
        let n = try payload(
            row, position: position, packedLength: packedLength, dictionaryId: dictionaryId, decompressor: decompressor)
        let e: RecordedEvent
        do {
            e = try canonical.withUnsafeBytes { (s) throws(EventDecodingError) -> RecordedEvent in
                try RecordedEvent.decode(canonical: UnsafeRawBufferPointer(rebasing: s[0..<n]), cache: &cache)
            }
        } catch {
            throw StoreError(.corruption, "position \(position): \(error)", position: position)
        }
        guard e.position == position else { throw StoreError.positionMismatch(at: position, found: e.position) }
        return e
    }

    /// One row's payload decompressed into `packed` (all of it: the packed form).
    mutating func decompress(
        _ row: PostgresRow, position: Int64, packedLength: Int, dictionaryId: UInt32, decompressor: LZ4Decompressor
    ) throws {
        do {
            try row.withBytes(1) { payload in
                guard let payload else { throw LZ4Error("the payload is NULL") }
                try decompressor.decompress(
                    payload, uncompressedSize: packedLength, dictionaryId: dictionaryId, into: &packed)
            }
        } catch {
            throw StoreError(.corruption, "position \(position): \(error)", position: position)
        }
    }

    /// One row's payload decompressed and unpacked into `canonical`; returns its length.
    mutating func payload(
        _ row: PostgresRow, position: Int64, packedLength: Int, dictionaryId: UInt32, decompressor: LZ4Decompressor
    ) throws -> Int {
        do {
            return try row.withBytes(1) { payload in
                guard let payload else { throw LZ4Error("the payload is NULL") }
                return try StoredEventCodec.decodePayload(
                    payload, packedLength: packedLength, dictionaryId: dictionaryId, decompressor: decompressor,
                    packed: &packed, into: &canonical)
            }
        } catch {
            throw StoreError(.corruption, "position \(position): \(error)", position: position)
        }
    }
}

/// The events of consecutive rows, from the page's row `firstRow` on, and the error of the row
/// after them when it is bad.
struct DecodedChunk<T> {
    var events: [T]
    var firstRow: Int
    var failure: StoreError? = nil
}

/// A read's SQL: the conditions of its filter, each a parameter.
struct ReadQuery: Sendable {
    let filter: EventFilter
    let statement: PostgresStatement
    /// A read of positions only is prepared (its generic plan: the primary key's range); one
    /// with conditions is sent unnamed, planned for its values (a stream's own index, say).
    let isPrepared: Bool
    /// No condition skips a position (`throughPosition` only ends the range): the read must
    /// see every position of it, and a missing one is corruption.
    var readsEveryPosition: Bool { isPrepared }

    init(_ filter: EventFilter) {
        self.filter = filter
        var sql = "SELECT \(PostgresStoreSQL.readColumns) FROM deploylog.events WHERE position >= $1 AND position <= $2"
        var types: [PostgresType] = [.int8, .int8, .int8]
        func add(_ condition: String, _ type: PostgresType) {
            types.append(type)
            sql += " AND " + condition.replacingOccurrences(of: "$?", with: "$\(types.count)")
        }
        if filter.stream != nil { add("stream = $?", .text) }
        if filter.categories != nil { add("split_part(stream, '-', 1) = ANY($?)", PostgresType.text.arrayType!) }
        if filter.types != nil { add("type = ANY($?)", PostgresType.text.arrayType!) }
        if filter.since != nil { add("occurred_at >= $?", .timestamptz) }
        if filter.until != nil { add("occurred_at < $?", .timestamptz) }
        sql += " ORDER BY position LIMIT $3"
        statement = PostgresStatement(sql, parameterTypes: types)
        isPrepared = types.count == 3
    }

    func parameters(from: Int64, through: Int64, limit: Int) -> [PostgresValue] {
        var values: [PostgresValue] = [.int8(from), .int8(through), .int8(Int64(limit))]
        if let s = filter.stream { values.append(.text(s)) }
        if let c = filter.categories { values.append(.array(c.sorted().map { .text($0) }, of: .text)) }
        if let t = filter.types { values.append(.array(t.sorted().map { .text($0) }, of: .text)) }
        if let s = filter.since { values.append(.timestamptz(s.microseconds)) }
        if let u = filter.until { values.append(.timestamptz(u.microseconds)) }
        return values
    }
}

/// A thread of a read's own that decodes alongside the page reader's: `start` hands it a piece
/// of work (the thread starts with the first, so a short read makes none), `wait` returns once
/// it is done, `stop` ends the thread (the reader's last act).
final class DecodeHelper: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var work: (() -> Void)?
    private var stopped = false
    private var started = false

    private func run() {
        condition.lock()
        while true {
            while work == nil && !stopped { condition.wait() }
            guard let w = work else {
                condition.unlock()
                return
            }
            condition.unlock()
            w()
            condition.lock()
            work = nil
            condition.broadcast()
        }
    }

    func start(_ w: @escaping () -> Void) {
        condition.lock()
        precondition(work == nil, "the decode helper is busy")
        work = w
        if !started {
            started = true
            let thread = Thread { [self] in run() }
            thread.qualityOfService = .userInitiated
            thread.start()
        }
        condition.broadcast()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while work != nil { condition.wait() }
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Hands out chunk numbers in order, each once, to the threads sharing a piece of work.
final class ChunkTaker: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }
}

/// A value handed to worker threads that the caller keeps from being shared unsafely.
struct SendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
