import DeployLogEvents
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// The index checkpoint (`index/index.bin`): a store opened from it answers exactly as one opened
/// by scanning every segment; one that does not agree with the log is ignored; writers (and
/// readers that scanned a long tail) write it.
final class IndexCheckpointTests: XCTestCase {
    private static let t0 = Timestamp(iso8601: "2026-11-20T10:00:00Z")!

    private static func options(
        checkpoints: Bool = true, every: Int64? = nil, onRelease: Int64 = 1, segmentSize: Int? = nil
    ) -> FileStore.Options {
        var o = FileStore.Options()
        o.indexCheckpoint = checkpoints
        o.checkpointInterval = every
        o.checkpointOnReleaseInterval = onRelease
        if let segmentSize { o.segmentSize = segmentSize }
        let clock = TestClock()
        o.clock = { Timestamp(microsecondsSinceEpoch: clock.read()) }
        return o
    }

    /// Events `from..<to` of a history over several streams, categories and types, an event a
    /// second from `t0`.
    private static func history(_ range: Range<Int>) -> [ProposedEvent] {
        let streams = ["pipeline-a", "pipeline-b", "environment-staging", "bluegreen-web", "pipeline-c"]
        let types = ["StageStarted", "StageCompleted", "EnvironmentConfigured", "TrafficSwitched"]
        return range.map { i in
            ProposedEvent(
                stream: streams[(i * 7 + i / 5) % streams.count], type: types[(i / 3) % types.count],
                data: ["i": .number(JSONNumber(i)), "note": .string(String(repeating: "x", count: i % 17))],
                eventId: EventID(high: 0x1D, low: UInt64(i)),
                occurredAt: Timestamp(microsecondsSinceEpoch: t0.microseconds + Int64(i) * 1_000_000))
        }
    }

    private static func checkpointFile(_ store: String) -> String { store + "/index/index.bin" }

    private static func storedHead(_ store: String) -> Int64? {
        guard let d = FileManager.default.contents(atPath: checkpointFile(store)), d.count >= 33 else { return nil }
        // The head is the first varint after the 32-byte header.
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for b in d[32...] {
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(v)
    }

    /// A store of `count` history events in batches of 7, released (so its checkpoint is written).
    private func makeStore(_ path: String, count: Int, segmentSize: Int? = nil) throws {
        let store = try FileStore.create(at: path, options: Self.options(segmentSize: segmentSize))
        var i = 0
        while i < count {
            try store.append(Self.history(i..<min(i + 7, count)))
            i += 7
        }
    }

    /// Everything a reader can ask, from `a` and from `b`, compared.
    private func assertSameAnswers(_ a: FileStore, _ b: FileStore, file: StaticString = #filePath, line: UInt = #line) throws {
        let head = try b.head()
        XCTAssertEqual(try a.head(), head, file: file, line: line)
        XCTAssertEqual(try a.readAll(), try b.readAll(), file: file, line: line)
        let t = Self.t0.microseconds
        let filters: [EventFilter] = [
            EventFilter(stream: "pipeline-a"), EventFilter(stream: "environment-staging", types: ["StageCompleted"]),
            EventFilter(stream: "no-such-stream"), EventFilter(categories: ["pipeline"]),
            EventFilter(categories: ["bluegreen", "environment"]), EventFilter(types: ["TrafficSwitched", "StageStarted"]),
            EventFilter(since: Timestamp(microsecondsSinceEpoch: t + 40_000_000)),
            EventFilter(until: Timestamp(microsecondsSinceEpoch: t + 75_000_000)),
            EventFilter(
                categories: ["pipeline"], since: Timestamp(microsecondsSinceEpoch: t + 10_000_000),
                until: Timestamp(microsecondsSinceEpoch: t + 90_000_000)),
            EventFilter(throughPosition: head.position / 2), EventFilter(stream: "pipeline-b", throughPosition: head.position - 3),
        ]
        for f in filters {
            for from: Int64 in [1, 17, head.position] {
                for limit in [nil, 5] as [Int?] {
                    var x = [RecordedEvent]()
                    var y = [RecordedEvent]()
                    try a.read(from: from, filter: f, limit: limit) { x.append($0); return true }
                    try b.read(from: from, filter: f, limit: limit) { y.append($0); return true }
                    XCTAssertEqual(x, y, "\(f) from \(from) limit \(String(describing: limit))", file: file, line: line)
                }
            }
        }
        for s in ["pipeline-a", "pipeline-b", "pipeline-c", "environment-staging", "bluegreen-web", "pipeline-z"] {
            XCTAssertEqual(try a.streamVersion(of: s), try b.streamVersion(of: s), s, file: file, line: line)
        }
        for p in 0...head.position {
            XCTAssertEqual(try a.checkpoint(at: p), try b.checkpoint(at: p), file: file, line: line)
        }
    }

    // MARK: Opened from a checkpoint: the same answers

    func testAStoreOpenedFromItsCheckpointAnswersAsAFullScan() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            try makeStore(path, count: 300, segmentSize: 4_096)
            XCTAssertEqual(Self.storedHead(path), 300, "released, the writer wrote the checkpoint")
            let indexed = try FileStore.open(at: path, options: Self.options(onRelease: .max))
            XCTAssertEqual(indexed.indexCheckpointLoaded, 300)
            let scanned = try FileStore.open(at: path, options: Self.options(checkpoints: false))
            XCTAssertNil(scanned.indexCheckpointLoaded)
            try assertSameAnswers(indexed, scanned)

            // Expected versions: a stale one conflicts and names both versions; the right one appends.
            let version = try XCTUnwrap(try indexed.streamVersion(of: "pipeline-a"))
            XCTAssertThrowsError(
                try indexed.append([ProposedEvent(stream: "pipeline-a", type: "StageStarted", data: [:], expectedVersion: .exact(version - 1))])
            ) { e in
                XCTAssertEqual((e as? StoreError)?.code, .conflict)
                XCTAssertTrue("\(e)".contains("Stream Version: \(version)"), "\(e)")
            }
            XCTAssertThrowsError(
                try indexed.append([ProposedEvent(stream: "pipeline-b", type: "StageStarted", data: [:], expectedVersion: .noStream)])
            ) { e in XCTAssertEqual((e as? StoreError)?.code, .conflict) }
            // Idempotent retries of events stored before the checkpoint, and of one after it.
            let all = try scanned.readAll()
            let retried = try indexed.append(Self.history(40..<45))
            XCTAssertEqual(retried.appendedCount, 0)
            XCTAssertEqual(retried.positions, Array(all[40..<45].map(\.position)))
            XCTAssertEqual(retried.streamVersions, Array(all[40..<45].map(\.streamVersion)))
            let next = try indexed.append([
                ProposedEvent(stream: "pipeline-a", type: "StageStarted", data: [:], eventId: EventID(high: 0x2D, low: 1), expectedVersion: .exact(version))
            ])
            XCTAssertEqual(next.positions, [301])
            XCTAssertEqual(next.streamVersions, [version + 1])
            XCTAssertEqual(try indexed.append([Self.history(299..<300)[0]]).positions, [300])
            XCTAssertEqual(
                try indexed.append([ProposedEvent(stream: "pipeline-a", type: "StageStarted", data: [:], eventId: EventID(high: 0x2D, low: 1))]).positions,
                [301])
            // A store opened from the checkpoint now, and one scanning, still agree.
            try assertSameAnswers(
                try FileStore.open(at: path, options: Self.options(onRelease: .max)),
                try FileStore.open(at: path, options: Self.options(checkpoints: false)))
            XCTAssertTrue(try FileStore.verify(at: path).ok)
        }
    }

    /// Appends after the checkpoint (over new segments) are scanned on open: all there.
    func testTheTailAfterAnOlderCheckpointIsScanned() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            try makeStore(path, count: 200, segmentSize: 4_096)
            let segmentsBefore = try FileManager.default.contentsOfDirectory(atPath: path + "/segments").count
            do {
                let store = try FileStore.open(at: path, options: Self.options(onRelease: .max, segmentSize: 4_096))
                XCTAssertEqual(store.indexCheckpointLoaded, 200)
                var i = 200
                while i < 330 {
                    try store.append(Self.history(i..<(i + 10)))
                    i += 10
                }
            }
            XCTAssertEqual(Self.storedHead(path), 200, "the checkpoint is older than the head")
            XCTAssertGreaterThan(try FileManager.default.contentsOfDirectory(atPath: path + "/segments").count, segmentsBefore)
            let indexed = try FileStore.open(at: path, options: Self.options(onRelease: .max))
            XCTAssertEqual(indexed.indexCheckpointLoaded, 200)
            XCTAssertEqual(try indexed.head().position, 330)
            try assertSameAnswers(indexed, try FileStore.open(at: path, options: Self.options(checkpoints: false)))
            XCTAssertEqual(try indexed.append(Self.history(310..<333)).positions, Array(311...333))
        }
    }

    // MARK: Checkpoints that do not agree with the log are ignored

    /// Opens `path` with the checkpoint and without; the checkpoint must be ignored and the
    /// outcome (the answers, or the error) the same.
    private func assertIgnored(_ path: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let indexed: FileStore
        do { indexed = try FileStore.open(at: path, options: Self.options(onRelease: .max)) } catch {
            XCTAssertThrowsError(try FileStore.open(at: path, options: Self.options(checkpoints: false)), what, file: file, line: line) { e in
                XCTAssertEqual("\(e)", "\(error)", what, file: file, line: line)
            }
            return
        }
        XCTAssertNil(indexed.indexCheckpointLoaded, what, file: file, line: line)
        try assertSameAnswers(indexed, try FileStore.open(at: path, options: Self.options(checkpoints: false)), file: file, line: line)
    }

    func testADamagedCheckpointIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let original = dir + "/orig"
            try makeStore(original, count: 120)
            let good = try Data(contentsOf: URL(fileURLWithPath: Self.checkpointFile(original)))
            let work = dir + "/work"
            func reset(_ checkpoint: Data) throws {
                try? FileManager.default.removeItem(atPath: work)
                try FileManager.default.copyItem(atPath: original, toPath: work)
                try checkpoint.write(to: URL(fileURLWithPath: Self.checkpointFile(work)))
            }
            try reset(good)
            XCTAssertEqual(try FileStore.open(at: work, options: Self.options(onRelease: .max)).indexCheckpointLoaded, 120)
            // A flipped byte anywhere: header, segment list, names, each column, the id table.
            for offset in [0, 9, 20, 26, 33, 40, 60, 200, good.count / 3, good.count / 2, good.count - 2_000, good.count - 1] {
                var bad = good
                bad[offset] ^= 0x20
                try reset(bad)
                try assertIgnored(work, "byte \(offset) flipped")
            }
            for length in [0, 10, 32, 40, good.count / 2, good.count - 1] {
                try reset(good.prefix(length))
                try assertIgnored(work, "cut to \(length) bytes")
            }
            var longer = good
            longer.append(0)
            try reset(longer)
            try assertIgnored(work, "a byte added")
        }
    }

    func testAnotherStoresCheckpointIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let a = dir + "/a"
            let b = dir + "/b"
            try makeStore(a, count: 90)
            // Store b: the same layout and count, other events.
            do {
                let store = try FileStore.create(at: b, options: Self.options())
                try store.append(Self.history(0..<90).map { e in
                    var e = e
                    e.eventId = EventID(high: 0xB, low: e.eventId.low)
                    return e
                })
            }
            try FileManager.default.removeItem(atPath: Self.checkpointFile(b))
            try FileManager.default.copyItem(atPath: Self.checkpointFile(a), toPath: Self.checkpointFile(b))
            try assertIgnored(b, "store a's checkpoint in store b")
            // A checkpoint ahead of the log (the store restored from an older copy).
            let old = dir + "/old"
            try FileManager.default.copyItem(atPath: a, toPath: old)
            do {
                let s = try FileStore.open(at: a, options: Self.options())
                try s.append(Self.history(90..<95))
            }
            XCTAssertEqual(Self.storedHead(a), 95)
            try FileManager.default.removeItem(atPath: Self.checkpointFile(old))
            try FileManager.default.copyItem(atPath: Self.checkpointFile(a), toPath: Self.checkpointFile(old))
            try assertIgnored(old, "a checkpoint ahead of the log")
            XCTAssertEqual(try FileStore.open(at: old, options: Self.options(onRelease: .max)).head().position, 90)
        }
    }

    /// The head's record changed in the segment (its frame checksum fixed, so only the chain can
    /// tell): the checkpoint is ignored, the open is the full scan's (which finds the broken
    /// chain), and verify fails.
    func testACheckpointWhoseHeadRecordWasChangedIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            try makeStore(path, count: 70)
            try FileStore.forgeForTesting(at: path, position: 70) { $0.replacingOccurrences(of: "\"i\":69", with: "\"i\":96") }
            try assertIgnored(path, "head record forged")
            XCTAssertFalse(try FileStore.verify(at: path).ok)
        }
    }

    /// What the checkpoint covers is not read again on open — and `verify` reads the segments,
    /// never the checkpoint: a record forged below the checkpoint's head is found by verify.
    func testVerifyReadsTheSegmentsNotTheCheckpoint() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            try makeStore(path, count: 70)
            try FileStore.forgeForTesting(at: path, position: 30) { $0.replacingOccurrences(of: "\"i\":29", with: "\"i\":92") }
            let report = try FileStore.verify(at: path)
            XCTAssertFalse(report.ok)
            XCTAssertLessThanOrEqual(report.problem?.position ?? 0, 30)
            XCTAssertThrowsError(try FileStore.open(at: path, options: Self.options(checkpoints: false)), "the full scan sees it")
            XCTAssertEqual(try FileStore.open(at: path, options: Self.options(onRelease: .max)).indexCheckpointLoaded, 70)
            // And a garbage checkpoint changes nothing for verify.
            let clean = dir + "/clean"
            try makeStore(clean, count: 20)
            try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: Self.checkpointFile(clean)))
            XCTAssertTrue(try FileStore.verify(at: clean).ok)
        }
    }

    // MARK: Crash recovery with a checkpoint present

    /// The last batch torn at every byte, after a checkpoint: the open uses the checkpoint, cuts
    /// the torn batch, verifies and appends.
    func testATornTailAfterTheCheckpointIsCutBack() throws {
        try withTemporaryDirectory { dir in
            let original = dir + "/orig"
            try makeStore(original, count: 30)
            let segment = original + "/segments/" + (try FileManager.default.contentsOfDirectory(atPath: original + "/segments").sorted().last!)
            let headFileBefore = try Data(contentsOf: URL(fileURLWithPath: original + "/HEAD"))
            let sizeBefore = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
            do {
                let s = try FileStore.open(at: original, options: Self.options(onRelease: .max))
                try s.append(Self.history(30..<33))
            }
            XCTAssertEqual(Self.storedHead(original), 30)
            let sizeAfter = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
            let work = dir + "/work"
            for cut in sizeBefore..<sizeAfter {
                try? FileManager.default.removeItem(atPath: work)
                try FileManager.default.copyItem(atPath: original, toPath: work)
                try headFileBefore.write(to: URL(fileURLWithPath: work + "/HEAD"))
                let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: work + "/segments/" + (segment as NSString).lastPathComponent))
                try fh.truncate(atOffset: UInt64(cut))
                try fh.close()
                let reopened = try FileStore.open(at: work, options: Self.options(onRelease: .max))
                XCTAssertEqual(reopened.indexCheckpointLoaded, 30, "cut at \(cut)")
                XCTAssertEqual(try reopened.head().position, 30, "cut at \(cut)")
                XCTAssertTrue(try FileStore.verify(at: work).ok, "cut at \(cut)")
                XCTAssertEqual(try reopened.append(Self.history(30..<31)).positions, [31], "cut at \(cut)")
                XCTAssertEqual(try reopened.readAll().count, 31)
                XCTAssertTrue(try FileStore.verify(at: work).ok, "cut at \(cut)")
            }
        }
    }

    /// A writer with a checkpoint every 50 events, killed with SIGKILL several times: the store
    /// opens from a checkpoint, verifies, and holds every acknowledged batch.
    func testAWriterKilledWhileWritingCheckpointsLeavesAStoreThatOpens() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            try makeStore(path, count: 10)
            var lastAcked: Int64 = 0
            for (round, delay) in [0.2, 0.5, 0.8].enumerated() {
                let (child, out) = try ChildWriter.spawn(store: path, writer: round, count: 1_000_000, batch: 13, checkpointInterval: 50)
                Thread.sleep(forTimeInterval: delay)
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                if let line = text.split(separator: "\n").last(where: { $0.hasPrefix("acked ") }) {
                    lastAcked = Int64(line.dropFirst(6))!
                }
                let store = try FileStore.open(at: path, options: Self.options(onRelease: .max))
                XCTAssertNotNil(store.indexCheckpointLoaded, "round \(round)")
                XCTAssertTrue(try FileStore.verify(at: path).ok)
                let all = try store.readAll()
                XCTAssertGreaterThanOrEqual(Int64(all.count), lastAcked, "an acknowledged batch was lost")
                XCTAssertEqual(all.map(\.position), (0..<all.count).map { Int64($0 + 1) })
                try assertSameAnswers(store, try FileStore.open(at: path, options: Self.options(checkpoints: false)))
            }
            XCTAssertGreaterThan(lastAcked, 100, "the child acknowledged too little: raise the delays")
        }
    }

    // MARK: Who writes it, when

    func testTheWriterWritesACheckpointInTheBackgroundAndOnRelease() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            do {
                let store = try FileStore.create(at: path, options: Self.options(every: 100, onRelease: 10))
                for i in stride(from: 0, to: 250, by: 10) { try store.append(Self.history(i..<(i + 10))) }
                store.waitForIndexCheckpoint()
                let written = try XCTUnwrap(Self.storedHead(path), "a checkpoint after 100 events")
                XCTAssertGreaterThanOrEqual(written, 100)
                XCTAssertLessThanOrEqual(written, 250)
                try store.append(Self.history(250..<260))
            }
            XCTAssertEqual(Self.storedHead(path), 260, "released 10 or more events after the last: written")
            // Fewer than the release interval: left as it is.
            do {
                let store = try FileStore.open(at: path, options: Self.options(every: 100, onRelease: 10))
                XCTAssertEqual(store.indexCheckpointLoaded, 260)
                try store.append(Self.history(260..<265))
            }
            XCTAssertEqual(Self.storedHead(path), 260)
            XCTAssertEqual(try FileStore.open(at: path).head().position, 265)
        }
    }

    /// With the default policy: a thousand events appended by one short-lived writer leave a
    /// checkpoint; a handful do not rewrite it.
    func testTheDefaultPolicyWritesOnReleaseAfterAThousandEvents() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            do {
                let store = try FileStore.create(at: path)
                try store.append(Self.history(0..<999))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: Self.checkpointFile(path)))
            do { try FileStore.open(at: path).append(Self.history(999..<1_000)) }
            XCTAssertEqual(Self.storedHead(path), 1_000)
            do { try FileStore.open(at: path).append(Self.history(1_000..<1_010)) }
            XCTAssertEqual(Self.storedHead(path), 1_000)
            XCTAssertEqual(try FileStore.open(at: path).indexCheckpointLoaded, 1_000)
        }
    }

    /// A reader that had to scan a long tail writes the checkpoint; one that may not write (the
    /// option off) reads as well.
    func testAReaderThatScannedALongTailWritesTheCheckpoint() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            do {
                let store = try FileStore.create(at: path, options: Self.options(checkpoints: false))
                try store.append(Self.history(0..<150))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: Self.checkpointFile(path)))
            let reader = try FileStore.open(at: path, options: Self.options(every: 100, onRelease: .max))
            XCTAssertNil(reader.indexCheckpointLoaded)
            reader.waitForIndexCheckpoint()
            XCTAssertEqual(Self.storedHead(path), 150)
            XCTAssertEqual(try FileStore.open(at: path, options: Self.options(onRelease: .max)).indexCheckpointLoaded, 150)
        }
    }

    /// A damaged checkpoint that claims a later head than the store's does not stop the next
    /// one being written.
    func testADamagedCheckpointClaimingALaterHeadIsReplaced() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            try makeStore(path, count: 50)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.checkpointFile(path)))
            XCTAssertEqual(bytes[32], 50)
            bytes[32] = 0x7F
            try bytes.write(to: URL(fileURLWithPath: Self.checkpointFile(path)))
            XCTAssertEqual(Self.storedHead(path), 127)
            do {
                let store = try FileStore.open(at: path, options: Self.options())
                XCTAssertNil(store.indexCheckpointLoaded)
                try store.append(Self.history(50..<51))
            }
            XCTAssertEqual(Self.storedHead(path), 51)
            XCTAssertEqual(try FileStore.open(at: path, options: Self.options(onRelease: .max)).indexCheckpointLoaded, 51)
        }
    }

    /// A store whose index directory cannot be written still opens, appends and releases.
    func testACheckpointThatCannotBeWrittenFailsNothing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            _ = try FileStore.create(at: path)
            // A file where the index directory should be.
            FileManager.default.createFile(atPath: path + "/index", contents: Data("not a directory".utf8))
            do {
                let store = try FileStore.open(at: path, options: Self.options(every: 10))
                for i in stride(from: 0, to: 40, by: 10) { try store.append(Self.history(i..<(i + 10))) }
                store.waitForIndexCheckpoint()
            }
            let reopened = try FileStore.open(at: path)
            XCTAssertNil(reopened.indexCheckpointLoaded)
            XCTAssertEqual(try reopened.readAll().count, 40)
        }
    }
}
