import DeployLogEvents
import DeployLogProjections
import XCTest

/// What changed between two states of hand-written events.
final class StateDiffTests: XCTestCase {
    private static let pair = "camera-counting-prod"

    private func log() -> EventLog {
        var log = EventLog()
        log.add(
            "environment-staging", "EnvironmentConfigured", "09:00:00",
            ["environment": "staging", "environmentType": "staging", "rollbackPolicy": "automatic"])  // 1
        for (name, version) in [("001_cameras", "20261101001"), ("002_counts", "20261101002")] {
            log.add(
                "migrations-staging", "MigrationRegistered", "09:00:01",
                ["environment": "staging", "name": .string(name), "version": .string(version), "sql": "SELECT 1"])
        }  // 2, 3
        log.add(
            "migrations-staging", "MigrationApplied", "10:00:00",
            ["environment": "staging", "name": "001_cameras", "deploymentId": "p1", "executionTimeMs": 5])  // 4
        log.add(
            "bluegreen-\(Self.pair)", "BlueGreenConfigured", "10:01:00",
            [
                "deploymentName": .string(Self.pair), "blueEnvironment": "b", "greenEnvironment": "g",
                "activeColor": "blue",
            ])  // 5
        log.add(
            "bluegreen-\(Self.pair)", "TrafficSwitchStarted", "10:02:00",
            ["deploymentName": .string(Self.pair), "fromColor": "blue", "toColor": "green"])  // 6
        log.add(
            "migrations-staging", "MigrationApplied", "11:00:00",
            ["environment": "staging", "name": "002_counts", "deploymentId": "p2", "executionTimeMs": 7])  // 7
        log.add(
            "bluegreen-\(Self.pair)", "TrafficSwitched", "11:01:00",
            ["deploymentName": .string(Self.pair), "fromColor": "blue", "toColor": "green", "version": "1.4.0"])  // 8
        log.add(
            "migrations-staging", "MigrationRolledBack", "12:00:00",
            ["environment": "staging", "name": "001_cameras", "deploymentId": "p3", "executionTimeMs": 3])  // 9
        return log
    }

    func testAMigrationAppliedIsOneAdditionKeyedByName() {
        let log = log()
        let before = log.fold(StateProjector.self, first: 6)
        let after = log.fold(StateProjector.self, first: 7)
        let changes = StateDiff.changes(from: before, to: after)
        XCTAssertEqual(
            StateDiff.json(changes),
            [
                [
                    "path": "environments/staging/appliedMigrations/002_counts", "before": nil,
                    "after": ["name": "002_counts", "version": "20261101002", "appliedAt": cell("11:00:00")],
                ]
            ])
        XCTAssertEqual(changes.count, 1)
        XCTAssertNil(changes.first?.before, "absent before, not null")
        XCTAssertEqual(StateDiff.changes(from: after, to: after), [])
        // Going the other way it is a removal.
        XCTAssertEqual(StateDiff.changes(from: after, to: before).map(\.path), ["environments/staging/appliedMigrations/002_counts"])
        XCTAssertNil(StateDiff.changes(from: after, to: before).first?.after)
    }

    func testActiveColourChange() {
        let log = log()
        let switching = log.fold(StateProjector.self, first: 7)
        let switched = log.fold(StateProjector.self, first: 8)
        let expected: JSONValue = [
            ["path": .string("blueGreen/\(Self.pair)/activeColor"), "before": "blue", "after": "green"],
            // null before: present as null (activeVersion had none), not absent.
            ["path": .string("blueGreen/\(Self.pair)/activeVersion"), "before": nil, "after": "1.4.0"],
            ["path": .string("blueGreen/\(Self.pair)/status"), "before": "switching", "after": "completed"],
        ]
        let changes = StateDiff.changes(from: switching, to: switched)
        XCTAssertEqual(StateDiff.json(changes), expected)
        XCTAssertEqual(changes[1].before, JSONValue.null)
        // Blue-green pairs are shown whatever the environment filter.
        XCTAssertEqual(StateDiff.json(StateDiff.changes(from: switching, to: switched, environment: "staging")), expected)
    }

    func testRollbackRemovesTheMigrationAndKeepsTheOther() {
        let log = log()
        let a = log.fold(StateProjector.self, first: 8)
        let b = log.fold(StateProjector.self)
        let changes = StateDiff.changes(from: a, to: b)
        XCTAssertEqual(
            StateDiff.json(changes),
            [
                [
                    "path": "environments/staging/appliedMigrations/001_cameras",
                    "before": ["name": "001_cameras", "version": "20261101001", "appliedAt": cell("10:00:00")],
                    "after": nil,
                ]
            ])
        XCTAssertNil(changes.first?.after)
        // From the start of the day to the end: 002 applied, the switch, nothing about 001.
        let start = log.fold(StateProjector.self, first: 1)
        let paths = StateDiff.changes(from: start, to: b).map(\.path)
        XCTAssertTrue(paths.contains("environments/staging/appliedMigrations/002_counts"))
        XCTAssertFalse(paths.contains { $0.contains("001_cameras") })
        XCTAssertTrue(paths.contains("blueGreen/\(Self.pair)"))
    }
}
