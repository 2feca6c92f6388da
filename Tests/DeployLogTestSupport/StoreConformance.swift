import DeployLogEvents
import DeployLogStore
import Foundation
import XCTest

/// The contract every event store keeps, run against each backend (the embedded file store
/// now, the PostgreSQL store later): each backend's test class calls every check with a
/// factory for fresh, empty stores.
public struct StoreConformance {
    public typealias Factory = () throws -> any EventStore

    let makeStore: Factory

    public init(makeStore: @escaping Factory) { self.makeStore = makeStore }

    static func event(_ stream: String, _ type: String, _ data: JSONValue = [:], id: EventID = .random(),
                      expected: ExpectedVersion = .any, occurredAt: Timestamp? = nil) -> ProposedEvent {
        ProposedEvent(stream: stream, type: type, data: data, eventId: id, occurredAt: occurredAt, expectedVersion: expected,
                      metadata: JSONObject([("actor", "ci@build-17"), ("source", "conformance")]))
    }

    /// Every field written comes back; positions start at 1 and are gapless; stream versions
    /// start at 0; unknown fields and types survive; the head is the last event's hash.
    public func checkRoundTrip() throws {
        let store = try makeStore()
        XCTAssertEqual(try store.head().position, 0)
        let occurred = Timestamp(iso8601: "2026-11-20T10:15:02.120Z")!
        var first = StoreConformance.event(
            "pipeline-7f3c", "StageFailed",
            ["pipelineId": "7f3c", "stageName": "test", "stageOrder": 2, "durationMs": 1234, "error": "exit 1 — lỗi \"quoted\"\n",
             "ratio": 0.25, "big": .number(JSONNumber(canonicalText: "123456789012345678901234567890", isInteger: true)),
             "nested": ["a": [1, 2, ["b": nil]], "emoji": "🚀"]],
            occurredAt: occurred)
        first.metadata["correlationId"] = "7f3c"
        first.metadata["custom"] = ["k": true]
        first.extra = JSONObject([("producerField", "kept")])
        first.schemaVersion = 1
        let second = StoreConformance.event("pipeline-7f3c", "SomeFutureType", ["anything": [1, "x"]])
        let third = StoreConformance.event("environment-staging", "EnvironmentDeactivated", ["environment": "staging"])
        let result = try store.append([first, second, third])
        XCTAssertEqual(result.positions, [1, 2, 3])
        XCTAssertEqual(result.streamVersions, [0, 1, 0])
        XCTAssertEqual(result.appendedCount, 3)

        let all = try store.readAll()
        XCTAssertEqual(all.map(\.position), [1, 2, 3])
        XCTAssertEqual(all[0].stream, "pipeline-7f3c")
        XCTAssertEqual(all[0].type, "StageFailed")
        XCTAssertEqual(all[0].data, first.data)
        XCTAssertEqual(all[0].eventId, first.eventId)
        XCTAssertEqual(all[0].metadata, first.metadata)
        XCTAssertEqual(all[0].extra, first.extra)
        XCTAssertEqual(all[0].occurredAt, occurred)
        XCTAssertEqual(all[0].schemaVersion, 1)
        XCTAssertEqual(all[1].type, "SomeFutureType")
        XCTAssertEqual(all[1].data, second.data)
        XCTAssertEqual(all[1].occurredAt, all[1].recordedAt, "occurredAt defaults to the store's clock")
        XCTAssertEqual(all.map(\.streamVersion), [0, 1, 0])
        XCTAssertEqual(all[0].category, "pipeline")
        let hashes = all.compactMap(\.hashHex)
        XCTAssertEqual(hashes.count, 3)
        XCTAssertEqual(Set(hashes).count, 3)
        XCTAssertEqual(try store.head(), Checkpoint(position: 3, hash: hashes[2]))
        XCTAssertEqual(try store.streamVersion(of: "pipeline-7f3c"), 1)
        XCTAssertNil(try store.streamVersion(of: "pipeline-none"))
        // Canonical bytes decode back to the same event.
        var copy = all[0]
        copy.hash = nil
        XCTAssertEqual(try RecordedEvent.decode(canonical: copy.canonicalBytes()), copy)
    }

    /// A wrong expected version fails with a message naming stream, expected and actual
    /// versions, and the whole append is refused.
    public func checkExpectedVersionConflicts() throws {
        let store = try makeStore()
        try store.append([StoreConformance.event("pipeline-a", "PipelineStarted", expected: .noStream)])
        try store.append([StoreConformance.event("pipeline-a", "StageStarted", expected: .exact(0))])
        XCTAssertThrowsError(try store.append([StoreConformance.event("pipeline-a", "X", expected: .noStream)])) { e in
            let err = e as? StoreError
            XCTAssertEqual(err?.code, .conflict)
            XCTAssertEqual(err?.stream, "pipeline-a")
            XCTAssertEqual(err?.message, "Wrong expected version: -1 (no stream) (Stream: pipeline-a, Stream Version: 1)")
        }
        XCTAssertThrowsError(try store.append([StoreConformance.event("pipeline-a", "X", expected: .exact(5))])) { e in
            XCTAssertEqual((e as? StoreError)?.message, "Wrong expected version: 5 (Stream: pipeline-a, Stream Version: 1)")
        }
        XCTAssertThrowsError(try store.append([StoreConformance.event("pipeline-new", "X", expected: .exact(0))])) { e in
            XCTAssertEqual((e as? StoreError)?.message, "Wrong expected version: 0 (Stream: pipeline-new, Stream Version: -1 (no stream))")
        }
        // Atomic: a conflict in the third event leaves the first two unwritten.
        let batch = [
            StoreConformance.event("pipeline-b", "A", expected: .noStream),
            StoreConformance.event("pipeline-b", "B", expected: .exact(0)),
            StoreConformance.event("pipeline-a", "C", expected: .exact(0)),
        ]
        XCTAssertThrowsError(try store.append(batch))
        XCTAssertEqual(try store.head().position, 2)
        XCTAssertNil(try store.streamVersion(of: "pipeline-b"))
        // Versions within one call count the earlier events of the call.
        let ok = try store.append(Array(batch.prefix(2)) + [StoreConformance.event("pipeline-a", "C", expected: .exact(1))])
        XCTAssertEqual(ok.positions, [3, 4, 5])
        XCTAssertEqual(ok.streamVersions, [0, 1, 2])
        // The convenience form checks the first event only.
        try store.append([StoreConformance.event("x", "A"), StoreConformance.event("x", "B")], to: "pipeline-c", expectedVersion: .noStream)
        XCTAssertEqual(try store.readStream("pipeline-c").map(\.streamVersion), [0, 1])
    }

    /// An expected version of `Int64.max` (the JSON parser accepts 9223372036854775807) is a
    /// conflict like any other, on a fresh store, a new stream or an existing one, alone or in
    /// a batch: no stream is at it, and it has no next version to overflow into.
    public func checkExpectedVersionAtTheLimit() throws {
        let store = try makeStore()
        let max = ExpectedVersion.exact(Int64.max)
        XCTAssertThrowsError(try store.append([StoreConformance.event("pipeline-a", "X", expected: max)])) { e in
            XCTAssertEqual((e as? StoreError)?.code, .conflict)
            XCTAssertEqual(
                (e as? StoreError)?.message,
                "Wrong expected version: 9223372036854775807 (Stream: pipeline-a, Stream Version: -1 (no stream))")
        }
        try store.append([StoreConformance.event("pipeline-a", "A", expected: .noStream)])
        for batch in [
            [StoreConformance.event("pipeline-a", "X", expected: max)],
            [StoreConformance.event("pipeline-b", "A"), StoreConformance.event("pipeline-a", "X", expected: max)],
        ] {
            XCTAssertThrowsError(try store.append(batch)) { e in
                XCTAssertEqual(
                    (e as? StoreError)?.message,
                    "Wrong expected version: 9223372036854775807 (Stream: pipeline-a, Stream Version: 0)")
            }
        }
        XCTAssertEqual(try store.head().position, 1)
        let next = try store.append([StoreConformance.event("pipeline-a", "B", expected: .exact(0))])
        XCTAssertEqual(next.positions, [2])
    }

    /// Appending an event id already stored is a no-op that returns the original position,
    /// even with an expected version that would now conflict.
    public func checkIdempotentRetry() throws {
        let store = try makeStore()
        let a = StoreConformance.event("pipeline-r", "PipelineStarted", expected: .noStream)
        let b = StoreConformance.event("pipeline-r", "StageStarted", expected: .exact(0))
        let first = try store.append([a, b])
        let head = try store.head()
        let again = try store.append([a, b])
        XCTAssertEqual(again.positions, first.positions)
        XCTAssertEqual(again.streamVersions, first.streamVersions)
        XCTAssertEqual(again.appendedCount, 0)
        XCTAssertEqual(try store.head(), head)
        // A retry that also carries new events appends only the new ones.
        let c = StoreConformance.event("pipeline-r", "StageCompleted", expected: .exact(1))
        let mixed = try store.append([a, b, c])
        XCTAssertEqual(mixed.positions, [1, 2, 3])
        XCTAssertEqual(mixed.appendedCount, 1)
        // The same id twice in one call is stored once.
        let d = StoreConformance.event("pipeline-r", "PipelineCompleted")
        let twice = try store.append([d, d])
        XCTAssertEqual(twice.positions, [4, 4])
        XCTAssertEqual(try store.head().position, 4)
    }

    /// Concurrent appenders on many threads: every append succeeds, global positions are
    /// 1...N with no gap or repeat, and each stream's versions are gapless.
    public func checkGaplessUnderConcurrentThreads(threads: Int = 8, perThread: Int = 40) throws {
        let store = try makeStore()
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do {
                    let stream = "pipeline-t\(t % 3)"
                    try store.append([StoreConformance.event(stream, "StageCompleted", ["i": .number(JSONNumber(i))])])
                } catch { errors.add(error) }
            }
        }
        XCTAssertEqual(errors.all.count, 0, "\(errors.all)")
        let all = try store.readAll()
        XCTAssertEqual(all.map(\.position), Array(1...Int64(threads * perThread)))
        for s in 0..<3 {
            let versions = all.filter { $0.stream == "pipeline-t\(s)" }.map(\.streamVersion)
            XCTAssertEqual(versions, Array(0..<Int64(versions.count)))
        }
    }

    /// Reads from a position, of one stream, by category, type and time, with a limit.
    public func checkReadsAndFilters() throws {
        let store = try makeStore()
        let t0 = Timestamp(iso8601: "2026-11-20T10:00:00Z")!
        var events = [ProposedEvent]()
        for i in 0..<30 {
            let stream = ["pipeline-1", "pipeline-2", "environment-staging"][i % 3]
            let type = i % 3 == 2 ? "EnvironmentConfigured" : (i % 2 == 0 ? "StageStarted" : "StageCompleted")
            events.append(StoreConformance.event(stream, type, ["i": .number(JSONNumber(i))],
                                                 occurredAt: Timestamp(microsecondsSinceEpoch: t0.microseconds + Int64(i) * 60_000_000)))
        }
        try store.append(events)
        XCTAssertEqual(try store.readAll(from: 25).map(\.position), [25, 26, 27, 28, 29, 30])
        XCTAssertEqual(try store.readAll(from: 31).count, 0)
        XCTAssertEqual(try store.readAll(from: 3, limit: 4).map(\.position), [3, 4, 5, 6])
        XCTAssertEqual(try store.readStream("pipeline-2").map(\.position), [2, 5, 8, 11, 14, 17, 20, 23, 26, 29])
        XCTAssertEqual(try store.readStream("pipeline-2", fromVersion: 8).map(\.streamVersion), [8, 9])
        XCTAssertEqual(try store.readAll(filter: EventFilter(categories: ["environment"])).count, 10)
        XCTAssertEqual(try store.readAll(filter: EventFilter(categories: ["pipeline"], types: ["StageStarted"])).map(\.position),
                       events.indices.filter { $0 % 3 != 2 && $0 % 2 == 0 }.map { Int64($0 + 1) })
        let since = Timestamp(microsecondsSinceEpoch: t0.microseconds + 10 * 60_000_000)
        let until = Timestamp(microsecondsSinceEpoch: t0.microseconds + 13 * 60_000_000)
        XCTAssertEqual(try store.readAll(filter: EventFilter(since: since, until: until)).map(\.position), [11, 12, 13])
        XCTAssertEqual(try store.readAll(filter: EventFilter(stream: "pipeline-1", types: ["StageCompleted"]), limit: 2).map(\.position), [4, 10])
        XCTAssertEqual(try store.readAll(filter: EventFilter(types: ["Nope"])).count, 0)
        XCTAssertEqual(try store.readAll(filter: EventFilter(stream: "nope")).count, 0)
        XCTAssertEqual(try store.readAll(filter: EventFilter(stream: "pipeline-1", categories: ["environment"])).count, 0)
        XCTAssertEqual(try store.readAll(filter: EventFilter(stream: "pipeline-1", categories: ["pipeline"])).count, 10)
        // A range of positions, alone and with other conditions.
        XCTAssertEqual(try store.readAll(from: 7, filter: EventFilter(throughPosition: 9)).map(\.position), [7, 8, 9])
        XCTAssertEqual(try store.readAll(from: 29, filter: EventFilter(throughPosition: 99)).map(\.position), [29, 30])
        XCTAssertEqual(try store.readAll(from: 10, filter: EventFilter(throughPosition: 9)).count, 0)
        XCTAssertEqual(
            try store.readAll(filter: EventFilter(stream: "pipeline-2", throughPosition: 11)).map(\.position), [2, 5, 8, 11])
        XCTAssertEqual(
            try store.readAll(from: 4, filter: EventFilter(categories: ["environment"], throughPosition: 15)).map(\.position),
            [6, 9, 12, 15])
        // The chain hash of any position is the one an event read there carries.
        for p in [Int64(1), 17, 30] {
            XCTAssertEqual(try store.checkpoint(at: p).hash, try store.readAll(from: p, limit: 1).first?.hashHex)
        }
        XCTAssertEqual(try store.checkpoint(at: 0).hash, String(repeating: "0", count: 64))
        XCTAssertThrowsError(try store.checkpoint(at: 31))
    }

    /// History first, then live events, each once and in order; a new subscription resumes
    /// from a saved position.
    public func checkCatchUpSubscription() throws {
        let store = try makeStore()
        try store.append((0..<5).map { StoreConformance.event("pipeline-s", "E\($0)") })
        let seen = PositionBox()
        let got7 = expectationSemaphore()
        let sub = store.subscribe(from: 1, filter: EventFilter(), pollInterval: 0.05) { e in
            seen.add(e.position)
            if e.position == 7 { got7.signal() }
            return true
        }
        try store.append([StoreConformance.event("pipeline-s", "E5")])
        try store.append([StoreConformance.event("environment-x", "E6")])
        XCTAssertEqual(got7.wait(timeout: .now() + 10), .success)
        sub.cancel()
        try sub.wait()
        XCTAssertEqual(seen.all, [1, 2, 3, 4, 5, 6, 7])
        // Resume from the checkpoint with a filter; stop from the handler.
        try store.append([StoreConformance.event("pipeline-s", "E7")])
        let resumed = PositionBox()
        let sub2 = store.subscribe(from: 6, filter: EventFilter(stream: "pipeline-s"), pollInterval: 0.05) { e in
            resumed.add(e.position)
            return e.position < 8
        }
        try sub2.wait()
        XCTAssertEqual(resumed.all, [6, 8])
    }
}

extension StoreConformance {
    /// What `copy` relies on: events imported from another store keep their positions, stream
    /// versions, times and hashes; an import that does not continue the store (a position, an
    /// id already stored, a stream version, a hash that does not follow) is refused whole.
    public func checkImport() throws {
        let source = try makeStore()
        let t0 = Timestamp(iso8601: "2026-11-20T10:00:00Z")!
        try source.append((0..<40).map { i in
            StoreConformance.event(
                ["pipeline-1", "pipeline-2", "environment-staging"][i % 3], "StageCompleted", ["i": .number(JSONNumber(i))],
                occurredAt: Timestamp(microsecondsSinceEpoch: t0.microseconds + Int64(i) * 1_000_000))
        })
        let events = try source.readAll()
        guard let target = try makeStore() as? any EventImporting else {
            return XCTFail("the store does not import recorded events")
        }
        // A gap, a hash that does not follow, a stream version that does not: refused, nothing written.
        XCTAssertThrowsError(try target.importRecorded(Array(events[1..<5]))) { e in
            XCTAssertEqual((e as? StoreError)?.code, .conflict)
        }
        var tampered = Array(events[0..<5])
        tampered[3].data = ["i": 99]
        XCTAssertThrowsError(try target.importRecorded(tampered)) { e in
            XCTAssertEqual((e as? StoreError)?.code, .corruption)
            XCTAssertEqual((e as? StoreError)?.position, 4)
        }
        var skipped = Array(events[0..<3])
        skipped[2].streamVersion = 5
        XCTAssertThrowsError(try target.importRecorded(skipped)) { e in
            XCTAssertEqual((e as? StoreError)?.code, .conflict)
        }
        XCTAssertEqual(try target.head().position, 0)
        // In three parts, as a resumed copy does.
        try target.importRecorded(Array(events[0..<10]))
        try target.importRecorded(Array(events[10..<11]))
        XCTAssertThrowsError(try target.importRecorded(Array(events[10..<12]))) { e in
            XCTAssertEqual((e as? StoreError)?.code, .conflict, "position 11 is there already")
        }
        try target.importRecorded(Array(events[11...]))
        XCTAssertEqual(try target.readAll(), events)
        XCTAssertEqual(try target.head(), try source.head())
        XCTAssertEqual(try target.checkpoint(at: 17), try source.checkpoint(at: 17))
        // An event id already stored, at the right position: refused.
        var repeated = events[0]
        repeated.position = 41
        XCTAssertThrowsError(try target.importRecorded([repeated])) { e in
            XCTAssertEqual((e as? StoreError)?.code, .conflict)
        }
        // Appends continue the imported chain.
        let appended = try target.append([StoreConformance.event("pipeline-1", "StageStarted", expected: .exact(13))])
        XCTAssertEqual(appended.positions, [41])
        XCTAssertEqual(appended.streamVersions, [14])
    }
}

func expectationSemaphore() -> DispatchSemaphore { DispatchSemaphore(value: 0) }

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func add(_ e: any Error) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [any Error] { lock.lock(); defer { lock.unlock() }; return errors }
}

public final class PositionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var positions: [Int64] = []
    public init() {}
    public func add(_ p: Int64) { lock.lock(); positions.append(p); lock.unlock() }
    public var all: [Int64] { lock.lock(); defer { lock.unlock() }; return positions }
}
