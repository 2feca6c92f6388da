import DeployLogEvents
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// Many writer processes on one PostgreSQL store: the test binary runs itself as each child
/// (`DEPLOYLOG_CHILD_PG_URL` set, one test selected), and the parent reads while they append.
final class PostgresStoreProcessTests: XCTestCase {
    static let urlVariable = "DEPLOYLOG_CHILD_PG_URL"

    /// Event `i` of writer `w`: a fixed id, so a retry would be recognised.
    static func event(writer w: Int, index i: Int) -> ProposedEvent {
        var idBytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: UInt64(w + 1).bigEndian) { idBytes.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: UInt64(i).bigEndian) { idBytes.replaceSubrange(8..<16, with: $0) }
        return ProposedEvent(
            stream: "pipeline-writer\(w)", type: "StageCompleted",
            data: ["writer": .number(JSONNumber(w)), "i": .number(JSONNumber(i))], eventId: EventID(bytes: idBytes),
            metadata: JSONObject([("actor", .string("writer\(w)"))]))
    }

    /// Appends writer `w`'s events `0..<count` in calls of 1 to 4 events, each call with the
    /// exact expected version of the writer's stream.
    static func runWriter(url: String, writer w: Int, count: Int) throws {
        let store = try PostgresStore.open(url: url)
        var i = 0
        while i < count {
            let n = min(1 + (i + w) % 4, count - i)
            try store.append(
                (i..<(i + n)).map { event(writer: w, index: $0) }, to: "pipeline-writer\(w)",
                expectedVersion: i == 0 ? .noStream : .exact(Int64(i - 1)))
            i += n
        }
    }

    /// In a child process this is one writer; run normally, it checks that writer in-process.
    func testChildAppender() throws {
        let env = ProcessInfo.processInfo.environment
        if let url = env[Self.urlVariable] {
            try Self.runWriter(
                url: url, writer: Int(env["DEPLOYLOG_CHILD_WRITER"] ?? "0")!,
                count: Int(env["DEPLOYLOG_CHILD_COUNT"] ?? "10")!)
            return
        }
        try withTestDatabase(prefix: "pgstore_child") { url in
            _ = try PostgresStore.create(url: url)
            try Self.runWriter(url: url, writer: 5, count: 11)
            let all = try PostgresStore.open(url: url).readAll()
            XCTAssertEqual(all.map(\.eventId), (0..<11).map { Self.event(writer: 5, index: $0).eventId })
            XCTAssertEqual(all.map(\.streamVersion), Array(0..<11))
        }
    }

    /// Eight processes append at once while this one polls: the reader never sees a new
    /// position below one it has seen, nor a gap; in the end every event is there once, each
    /// writer's in its order, and the chain verifies.
    func testEightProcessesAppendingWhileAReaderPolls() throws {
        let writers = 8
        let count = 400
        try withTestDatabase(prefix: "pgstore_procs") { url in
            let store = try PostgresStore.create(url: url)
            var children = [Process]()
            for w in 0..<writers {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
                p.arguments = ["DeployLogPostgresStoreTests.PostgresStoreProcessTests/testChildAppender"]
                var env = ProcessInfo.processInfo.environment
                env[Self.urlVariable] = url
                env["DEPLOYLOG_CHILD_WRITER"] = String(w)
                env["DEPLOYLOG_CHILD_COUNT"] = String(count)
                p.environment = env
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                children.append(p)
            }
            var seen: Int64 = 0
            var polls = 0
            var eventsSeenWhileRunning = 0
            let total = Int64(writers * count)
            let deadline = Date(timeIntervalSinceNow: 120)
            while seen < total, Date() < deadline {
                let running = children.contains { $0.isRunning }
                for e in try store.readAll(from: seen + 1) {
                    XCTAssertEqual(e.position, seen + 1, "a position below or beyond one already seen")
                    seen = e.position
                    if running { eventsSeenWhileRunning += 1 }
                }
                polls += 1
                if !running && seen < total { break }
            }
            for p in children { p.waitUntilExit() }
            XCTAssertEqual(children.map(\.terminationStatus), Array(repeating: 0, count: writers))
            XCTAssertEqual(seen, total)
            XCTAssertGreaterThan(polls, 1)
            XCTAssertGreaterThan(eventsSeenWhileRunning, 0, "the reader read while the writers wrote")
            let all = try store.readAll()
            XCTAssertEqual(all.map(\.position), Array(1...total))
            for w in 0..<writers {
                let mine = all.filter { $0.stream == "pipeline-writer\(w)" }
                XCTAssertEqual(mine.map(\.eventId), (0..<count).map { Self.event(writer: w, index: $0).eventId })
                XCTAssertEqual(mine.map(\.streamVersion), Array(0..<Int64(count)))
            }
            XCTAssertTrue(try store.verify().ok)
        }
    }
}
