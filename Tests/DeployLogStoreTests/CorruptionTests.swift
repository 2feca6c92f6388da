import DeployLogEvents
@testable import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// Any changed byte of a segment is caught by `verify`, which names a position.
final class CorruptionTests: XCTestCase {
    func testEveryFlippedByteIsCaughtWithAPosition() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            let store = try FileStore.create(at: path)
            try store.append((0..<3).map { ChildWriter.event(writer: 1, index: $0) })
            try store.append((3..<5).map { ChildWriter.event(writer: 2, index: $0) })
            XCTAssertTrue(try FileStore.verify(at: path).ok)
            let segments = try FileManager.default.contentsOfDirectory(atPath: path + "/segments").sorted()
            XCTAssertEqual(segments.count, 1)
            let url = URL(fileURLWithPath: path + "/segments/" + segments[0])
            let original = try Data(contentsOf: url)
            // The dictionary record is large and uniform: sample it, check every other byte.
            var checked = 0
            for i in 0..<original.count where i < 40 || i > original.count - 2_000 || i % 97 == 0 {
                var bad = original
                bad[i] ^= 0x5A
                try bad.write(to: url)
                let report = try FileStore.verify(at: path)
                XCTAssertFalse(report.ok, "flipping byte \(i) went unnoticed")
                if let p = report.problem?.position { XCTAssertTrue((1...6).contains(p), "byte \(i): position \(p)") }
                checked += 1
            }
            try original.write(to: url)
            XCTAssertTrue(try FileStore.verify(at: path).ok)
            XCTAssertGreaterThan(checked, 1_000)
        }
    }

    /// A checksum failure in the middle of the log names the position of that record, and the
    /// store refuses to open rather than cutting it.
    func testMidLogCorruptionNamesTheRecordsPosition() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            var options = FileStore.Options()
            options.segmentSize = 1_500
            let store = try FileStore.create(at: path, options: options)
            for i in 0..<40 { try store.append([ChildWriter.event(writer: 1, index: i)]) }
            let events = try store.readAll()
            let segments = try FileManager.default.contentsOfDirectory(atPath: path + "/segments").sorted()
            XCTAssertGreaterThan(segments.count, 2)
            // Corrupt the last byte of the first event record of the second segment.
            let second = URL(fileURLWithPath: path + "/segments/" + segments[1])
            let base = Int64(segments[1].prefix(20))!
            var data = try Data(contentsOf: second)
            let target = try FileStore.recordRange(at: path, position: base)
            data[target.upperBound - 1] ^= 0x01
            try data.write(to: second)
            let report = try FileStore.verify(at: path)
            XCTAssertEqual(report.problem?.position, base)
            XCTAssertEqual(report.head.position, base - 1)
            XCTAssertEqual(report.head.hash, events[Int(base) - 2].hashHex)
            XCTAssertThrowsError(try FileStore.open(at: path)) { e in XCTAssertEqual((e as? StoreError)?.code, .corruption) }
        }
    }

    /// A rewritten event with a recomputed checksum breaks the hash chain, which verify reports.
    func testRewrittenRecordBreaksTheChain() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            let store = try FileStore.create(at: path)
            try store.append((0..<3).map { ChildWriter.event(writer: 1, index: $0) })
            try store.append((3..<6).map { ChildWriter.event(writer: 1, index: $0) })
            let checkpoint = try store.checkpoint(at: 3)
            // Forge event 2: same length, a changed digit, framing checksum made valid again.
            try FileStore.forgeForTesting(at: path, position: 2) { json in
                guard let r = json.range(of: "\"durationMs\":1001") else { return json }
                return json.replacingCharacters(in: r, with: "\"durationMs\":9001")
            }
            let report = try FileStore.verify(at: path)
            XCTAssertEqual(report.problem?.position, 1)
            XCTAssertTrue(report.problem?.message.contains("hash chain broken in positions 1...3") ?? false, "\(String(describing: report.problem))")
            // And the auditor's checkpoint no longer matches either.
            XCTAssertFalse(try FileStore.verify(at: path, checkpoint: checkpoint).ok)
        }
    }

    /// A damaged segment header is never taken for a torn write: the store refuses to open and
    /// leaves the file as it was, even when nothing was acknowledged yet.
    func testADamagedHeaderIsNotCutAway() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/s"
            _ = try FileStore.create(at: path)
            let url = URL(fileURLWithPath: path + "/segments/00000000000000000001.seg")
            var data = try Data(contentsOf: url)
            data[9] ^= 0x01
            try data.write(to: url)
            XCTAssertThrowsError(try FileStore.open(at: path)) { e in XCTAssertEqual((e as? StoreError)?.code, .corruption) }
            XCTAssertEqual(try Data(contentsOf: url), data)
            XCTAssertEqual(try FileStore.verify(at: path).problem?.position, 1)
        }
    }
}
