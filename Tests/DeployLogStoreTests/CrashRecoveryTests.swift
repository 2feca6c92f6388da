import DeployLogEvents
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// A writer that dies — killed, or its last write torn at any byte — leaves a store that opens,
/// verifies, and holds exactly the acknowledged prefix.
final class CrashRecoveryTests: XCTestCase {
    private func segmentFiles(_ store: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store + "/segments").filter { $0.hasSuffix(".seg") }.sorted()
            .map { store + "/segments/" + $0 }
    }

    private func copyStore(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Truncating the segment at every byte offset of its last batch (one event record and its
    /// commit record) reopens at the previous batch, verifies, and takes new appends.
    func testTruncatedAtEveryOffsetOfTheLastRecordReopensAtThePreviousOne() throws {
        try withTemporaryDirectory { dir in
            let original = dir + "/orig"
            let store = try FileStore.create(at: original)
            try store.append((0..<3).map { ChildWriter.event(writer: 1, index: $0) })
            let segment = try segmentFiles(original).last!
            let sizeBefore = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
            let headBefore = try store.head()
            let headFileBefore = try Data(contentsOf: URL(fileURLWithPath: original + "/HEAD"))
            try store.append([ChildWriter.event(writer: 1, index: 3)])
            let sizeAfter = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
            XCTAssertGreaterThan(sizeAfter - sizeBefore, 40)
            let work = dir + "/work"
            for cut in sizeBefore..<sizeAfter {
                try copyStore(original, work)
                // The crash happened before HEAD was updated for the torn batch.
                try headFileBefore.write(to: URL(fileURLWithPath: work + "/HEAD"))
                let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: work + "/segments/" + (segment as NSString).lastPathComponent))
                try fh.truncate(atOffset: UInt64(cut))
                try fh.close()
                let reopened = try FileStore.open(at: work)
                XCTAssertEqual(try reopened.head(), headBefore, "cut at \(cut)")
                XCTAssertEqual(try reopened.readAll().count, 3, "cut at \(cut)")
                XCTAssertTrue(try FileStore.verify(at: work).ok, "cut at \(cut)")
                let r = try reopened.append([ChildWriter.event(writer: 1, index: 3)])
                XCTAssertEqual(r.positions, [4], "cut at \(cut)")
                XCTAssertTrue(try FileStore.verify(at: work).ok, "cut at \(cut)")
            }
        }
    }

    /// Missing bytes of a batch that HEAD says was acknowledged are corruption: the store
    /// refuses to cut them, and verify names the position.
    func testAcknowledgedButMissingRecordsAreNotSilentlyCut() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            do {
                let store = try FileStore.create(at: path)
                try store.append((0..<3).map { ChildWriter.event(writer: 1, index: $0) })
                try store.append([ChildWriter.event(writer: 1, index: 3)])
            }  // released: HEAD is written by now
            let segment = try segmentFiles(path).last!
            let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
            let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
            try fh.truncate(atOffset: UInt64(size - 10))
            try fh.close()
            XCTAssertThrowsError(try FileStore.open(at: path)) { e in
                XCTAssertEqual((e as? StoreError)?.code, .corruption)
                XCTAssertEqual((e as? StoreError)?.position, 4)
            }
            let report = try FileStore.verify(at: path)
            XCTAssertEqual(report.problem?.position, 4)
        }
    }

    /// A child process appending in batches is killed with SIGKILL at several moments: each
    /// time the store opens, verifies, holds an exact prefix of the sequence, and holds every
    /// batch the child saw acknowledged.
    func testWriterKilledWithSIGKILLLeavesAnExactPrefix() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            _ = try FileStore.create(at: path)
            var lastAcked: Int64 = 0
            for (round, delay) in [0.05, 0.2, 0.5].enumerated() {
                let (child, out) = try ChildWriter.spawn(store: path, writer: round, count: 1_000_000, batch: 97)
                Thread.sleep(forTimeInterval: delay)
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
                XCTAssertEqual(child.terminationReason, .uncaughtSignal)
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                if let line = text.split(separator: "\n").last(where: { $0.hasPrefix("acked ") }) {
                    lastAcked = Int64(line.dropFirst(6))!
                }
                let store = try FileStore.open(at: path)
                let report = try FileStore.verify(at: path)
                XCTAssertTrue(report.ok, "\(String(describing: report.problem))")
                let all = try store.readAll()
                XCTAssertGreaterThanOrEqual(Int64(all.count), lastAcked, "an acknowledged batch was lost")
                XCTAssertEqual(all.map(\.position), Array(1...Int64(max(all.count, 1))).prefix(all.count).map { $0 })
                // Exact prefix: each writer's events are its sequence from 0, in order, whole batches.
                for w in 0...round {
                    let mine = all.filter { $0.stream == "pipeline-writer\(w)" }
                    XCTAssertEqual(mine.map(\.eventId), (0..<mine.count).map { ChildWriter.event(writer: w, index: $0).eventId })
                    if w == round { XCTAssertEqual(mine.count % 97, 0, "a batch was torn") }
                }
            }
            XCTAssertGreaterThan(lastAcked, 0, "the child never acknowledged anything: raise the delays")
        }
    }

    /// Writers in several processes at once: every event lands once, positions are gapless,
    /// each writer's events keep their order.
    func testConcurrentWriterProcessesKeepPositionsGapless() throws {
        try concurrentWriters(segmentSize: nil)
    }

    /// The same with segments so small that the processes keep starting new ones under each other.
    func testConcurrentWriterProcessesAcrossSegmentRollovers() throws {
        try concurrentWriters(segmentSize: 4_096)
    }

    private func concurrentWriters(segmentSize: Int?) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            _ = try FileStore.create(at: path)
            let children = try (0..<4).map { try ChildWriter.spawn(store: path, writer: $0, count: 60, batch: 1, segmentSize: segmentSize) }
            for (c, out) in children {
                _ = out.fileHandleForReading.readDataToEndOfFile()
                c.waitUntilExit()
                XCTAssertEqual(c.terminationStatus, 0)
            }
            let store = try FileStore.open(at: path)
            let all = try store.readAll()
            XCTAssertEqual(all.map(\.position), Array(1...240))
            for w in 0..<4 {
                let mine = all.filter { $0.stream == "pipeline-writer\(w)" }
                XCTAssertEqual(mine.map(\.eventId), (0..<60).map { ChildWriter.event(writer: w, index: $0).eventId })
                XCTAssertEqual(mine.map(\.streamVersion), Array(0..<60))
            }
            XCTAssertTrue(try FileStore.verify(at: path).ok)
        }
    }

    /// A long-lived store object sees what another process appended.
    func testAnOpenStoreSeesAnotherProcesssAppends() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            let store = try FileStore.create(at: path)
            try store.append([ChildWriter.event(writer: 9, index: 0)])
            let (c, out) = try ChildWriter.spawn(store: path, writer: 8, count: 5, batch: 2)
            _ = out.fileHandleForReading.readDataToEndOfFile()
            c.waitUntilExit()
            XCTAssertEqual(try store.head().position, 6)
            try store.append([ChildWriter.event(writer: 9, index: 1)])
            XCTAssertEqual(try store.readAll().map(\.position), Array(1...7))
            XCTAssertEqual(try store.streamVersion(of: "pipeline-writer8"), 4)
        }
    }
}

/// The writer lock is kept between close commits and given up once appends stop.
final class WriterLeaseTests: XCTestCase {
    private func lockIsFree(_ path: String) -> Bool {
        let fd = open(path + "/LOCK", O_RDWR)
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        flock(fd, LOCK_UN)
        return true
    }

    func testTheLockIsHeldRightAfterAnAppendAndFreedWhenIdle() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            let store = try FileStore.create(at: path)
            XCTAssertTrue(lockIsFree(path))
            try store.append([ChildWriter.event(writer: 1, index: 0)])
            XCTAssertFalse(lockIsFree(path), "kept for the next commit")
            var freed = false
            for _ in 0..<100 where !freed {
                Thread.sleep(forTimeInterval: 0.01)
                freed = lockIsFree(path)
            }
            XCTAssertTrue(freed, "still locked a second after the last append")
            // Another writer can now append, and this store sees it and goes on.
            let other = try FileStore.open(at: path)
            try other.append([ChildWriter.event(writer: 2, index: 0)])
            withExtendedLifetime(other) {}
            try store.append([ChildWriter.event(writer: 1, index: 1)])
            XCTAssertEqual(try store.readAll().map(\.position), [1, 2, 3])
        }
    }
}
