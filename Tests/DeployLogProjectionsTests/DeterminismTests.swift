import DeployLogEvents
import DeployLogProjections
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// The same events give the same state, byte for byte: two replays of a store, a fold of the
/// event list without the store, and a fold in another process (another hash seed, so another
/// dictionary order) all give identical canonical JSON for every table and document.
final class DeterminismTests: XCTestCase {
    static let storeVariable = "DEPLOYLOG_DETERMINISM_STORE"
    static let outputVariable = "DEPLOYLOG_DETERMINISM_OUT"

    private static let history = SampleHistory.generate(pipelines: 90, seed: 3)

    /// Every table (rows as objects keyed by column), the state, metrics and health
    /// documents, each as canonical JSON bytes, by name.
    static func documents(_ p: Projections) -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for t in p.tables + p.state.tables {
            var w = CanonicalJSONWriter()
            w.write(.array(t.objects.map { .object($0) }))
            out.append((t.name, w.bytes))
        }
        let asOf = p.metrics.lastOccurredAt ?? Timestamp(microsecondsSinceEpoch: 0)
        out.append(("state", p.state.json().canonicalBytes()))
        out.append(("metrics", MetricsReport(p.metrics, asOf: asOf, windowDays: 30).json.canonicalBytes()))
        out.append(("health", HealthReport.json(p.metrics, asOf: asOf).canonicalBytes()))
        return out
    }

    /// All documents in one byte string: name, newline, bytes, newline.
    static func joined(_ docs: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for d in docs {
            out += Array(d.name.utf8) + [10] + d.bytes + [10]
        }
        return out
    }

    private func withHistoryStore(_ body: (FileStore, String) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let store = try FileStore.create(at: dir + "/store")
            var i = 0
            while i < Self.history.count {
                try store.append(Array(Self.history[i..<min(i + 400, Self.history.count)]))
                i += 400
            }
            try body(store, dir)
        }
    }

    func testTwoReplaysAndTheEventListGiveIdenticalBytes() throws {
        try withHistoryStore { store, _ in
            let first = Self.documents(try Projections.fold(store))
            let second = Self.documents(try Projections.fold(store))
            var fromList = Projections()
            for e in EventLog.recorded(Self.history) { fromList.apply(e) }
            let third = Self.documents(fromList)
            XCTAssertEqual(first.map(\.name), second.map(\.name))
            XCTAssertEqual(first.map(\.name), third.map(\.name))
            for ((a, b), c) in zip(zip(first, second), third) {
                XCTAssertFalse(a.bytes.isEmpty)
                XCTAssertEqual(a.bytes, b.bytes, "\(a.name): two replays of the store differ")
                XCTAssertEqual(a.bytes, c.bytes, "\(a.name): the store and the event list differ")
            }
            // Not vacuous: every seed table has rows.
            for (name, bytes) in first.prefix(9) { XCTAssertGreaterThan(bytes.count, 2, "\(name) is empty") }
            // Each projector folded on its own gives the same tables as all of them together.
            let together = try Projections.fold(store)
            XCTAssertEqual(try Projections.fold(PipelinesProjector.self, store).tables, together.pipelines.tables)
            XCTAssertEqual(try Projections.fold(MigrationsProjector.self, store).tables, together.migrations.tables)
            XCTAssertEqual(try Projections.fold(MetricsProjector.self, store).tables, together.metrics.tables)
        }
    }

    /// In the child: fold the store named by the environment and write the bytes. In the
    /// parent: run this test in a child process and compare its bytes with this process's.
    func testFoldInAnotherProcessGivesTheSameBytes() throws {
        let env = ProcessInfo.processInfo.environment
        if let path = env[Self.storeVariable], let out = env[Self.outputVariable] {
            let store = try FileStore.open(at: path)
            let bytes = Self.joined(Self.documents(try Projections.fold(store)))
            try Data(bytes).write(to: URL(fileURLWithPath: out))
            return
        }
        try withHistoryStore { store, dir in
            let mine = Self.joined(Self.documents(try Projections.fold(store)))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
            p.arguments = ["DeployLogProjectionsTests.DeterminismTests/testFoldInAnotherProcessGivesTheSameBytes"]
            var childEnv = env
            childEnv[Self.storeVariable] = dir + "/store"
            childEnv[Self.outputVariable] = dir + "/child.out"
            childEnv["SWIFT_DETERMINISTIC_HASHING"] = nil
            p.environment = childEnv
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            let theirs = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/child.out")))
            XCTAssertGreaterThan(mine.count, 10_000)
            XCTAssertEqual(theirs.count, mine.count)
            XCTAssertTrue(theirs == mine, "the child process folded other bytes")
        }
    }
}
