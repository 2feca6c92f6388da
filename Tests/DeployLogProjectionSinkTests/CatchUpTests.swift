import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import XCTest

@testable import DeployLogProjectionSink

/// Incremental catch-up: the same tables as a full rebuild, checkpoints at the head.
final class CatchUpTests: SinkTestCase {
    func testCatchUpAfterAppendingEqualsAFullRebuild() throws {
        let history = try Self.recentHistory(pipelines: 60)
        let cut = history.count * 2 / 3
        try append(history.prefix(cut))
        try sink().rebuild()
        let built = try store.head()
        try append(history.dropFirst(cut))

        let report = try sink().catchUp()
        let head = try store.head()
        XCTAssertEqual(report.head, head)
        for e in report.entries { XCTAssertEqual(e.action, .caughtUp(from: built.position), e.projector.name) }
        XCTAssertGreaterThan(report.entries.map(\.rows).reduce(0, +), 0)

        // A full rebuild of the same log into another schema: every row equal.
        try sink(schema: "full_rebuild").rebuild()
        let p = try Projections.fold(store)
        let c = try connect()
        let caughtUp = try actualRows(p, on: c)
        XCTAssertEqual(caughtUp, try actualRows(p, schema: "full_rebuild", on: c))
        XCTAssertEqual(caughtUp, Self.expectedRows(p))
        for cp in try checkpoints(on: c).values {
            XCTAssertEqual(cp.position, head.position)
            XCTAssertEqual(cp.hash, head.hash)
        }

        // Nothing new: up to date, nothing written.
        let again = try sink().catchUp()
        XCTAssertEqual(again.entries.map(\.action), Array(repeating: .upToDate, count: SinkProjector.allCases.count))
    }

    func testStatusShowsHowFarBehindAndNothingAfterCatchUp() throws {
        let history = try Self.recentHistory(pipelines: 20)
        try append(history.prefix(history.count / 2))
        let s = try sink()
        XCTAssertEqual(try s.status().map(\.state), Array(repeating: .notBuilt, count: SinkProjector.allCases.count))
        try s.rebuild()
        let built = try store.head()
        try append(history.dropFirst(history.count / 2))
        let head = try store.head()
        for status in try s.status() {
            XCTAssertEqual(status.state, .behind)
            XCTAssertEqual(status.behind, head.position - built.position)
            XCTAssertEqual(status.checkpoint?.position, built.position)
            XCTAssertEqual(status.checkpoint?.version, status.codeVersion)
        }
        try s.catchUp()
        for status in try s.status() {
            XCTAssertEqual(status.state, .upToDate)
            XCTAssertEqual(status.behind, 0)
            XCTAssertEqual(status.head, head.position)
            XCTAssertEqual(status.checkpoint?.hash, head.hash)
        }
    }

    /// A checkpoint of another version (or from another log) makes the catch-up rebuild that
    /// projector, and those whose rows reference it.
    func testCatchUpRebuildsAProjectorOfAnotherVersionOrAnotherLog() throws {
        try append(Self.recentHistory(pipelines: 20))
        let s = try sink()
        try s.rebuild()
        let c = try connect()
        let table = try PostgresIdentifier.quote(
            schema: ProjectionSink.defaultSchema, "deploylog_projection_checkpoints")
        try c.query("UPDATE \(table) SET version = 0 WHERE projector = $1", [.text("pipelines")])
        try c.query(
            "UPDATE \(table) SET hash = $1 WHERE projector = $2",
            [.text(String(repeating: "f", count: 64)), .text("environments")])
        let statuses = try s.status()
        XCTAssertEqual(statuses[0].state, .rebuildNeeded("built by version 0, the code's is 1"))
        guard case .rebuildNeeded(let why) = statuses[4].state else { return XCTFail("\(statuses[4])") }
        XCTAssertTrue(why.contains("another log"), why)
        // Both are rebuilt from the whole log, whatever their checkpoint's position says.
        let head = try store.head().position
        XCTAssertEqual(statuses[0].behind, head)
        XCTAssertEqual(statuses[4].behind, head)
        XCTAssertEqual(statuses[2].behind, 0)

        let report = try s.catchUp()
        let actions = Dictionary(uniqueKeysWithValues: report.entries.map { ($0.projector, $0.action) })
        XCTAssertEqual(actions[.pipelines], .rebuilt(reason: "built by version 0, the code's is 1"))
        XCTAssertEqual(actions[.rollbacks], .rebuilt(reason: "rebuilt with pipelines: its rows reference them"))
        guard case .rebuilt = actions[.environments] else { return XCTFail("\(report)") }
        XCTAssertEqual(actions[.migrations], .upToDate)
        let p = try Projections.fold(store)
        XCTAssertEqual(try actualRows(p, on: c), Self.expectedRows(p))
        XCTAssertEqual(try s.status().map(\.state), Array(repeating: .upToDate, count: SinkProjector.allCases.count))
    }

    func testCatchUpOnAnEmptyDatabaseBuildsEverything() throws {
        try append(Self.recentHistory(pipelines: 10))
        let report = try sink().catchUp()
        for e in report.entries { XCTAssertEqual(e.action, .rebuilt(reason: "no checkpoint: never built here")) }
        let p = try Projections.fold(store)
        XCTAssertEqual(try actualRows(p, on: try connect()), Self.expectedRows(p))
    }
}
