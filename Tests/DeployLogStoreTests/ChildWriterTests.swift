import DeployLogEvents
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

final class ChildWriterTests: XCTestCase {
    /// In a child process (`DEPLOYLOG_CHILD_STORE` set) this is the writer; run normally it
    /// checks the same writer in-process: every acknowledged event is stored, in order.
    func testChildWriter() throws {
        let env = ProcessInfo.processInfo.environment
        if let store = env[ChildWriter.storeVariable] {
            try ChildWriter.run(
                store: store, writer: Int(env["DEPLOYLOG_CHILD_WRITER"] ?? "0")!,
                count: Int(env["DEPLOYLOG_CHILD_COUNT"] ?? "10")!, batch: Int(env["DEPLOYLOG_CHILD_BATCH"] ?? "1")!,
                segmentSize: env["DEPLOYLOG_CHILD_SEGMENT_SIZE"].flatMap { Int($0) },
                checkpointInterval: env["DEPLOYLOG_CHILD_CHECKPOINT_INTERVAL"].flatMap { Int64($0) })
            return
        }
        try withTemporaryDirectory { dir in
            _ = try FileStore.create(at: dir + "/s")
            try ChildWriter.run(store: dir + "/s", writer: 3, count: 25, batch: 10)
            let all = try FileStore.open(at: dir + "/s").readAll()
            XCTAssertEqual(all.map(\.eventId), (0..<25).map { ChildWriter.event(writer: 3, index: $0).eventId })
        }
    }
}
