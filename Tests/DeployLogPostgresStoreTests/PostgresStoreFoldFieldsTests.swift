import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// `readFoldFields` (what the projections' folds read): the same fields as the full read, in
/// the same order, with the same filters and limits, and the same errors for a bad row.
final class PostgresStoreFoldFieldsTests: XCTestCase {
    private func event(_ stream: String, _ i: Int) -> ProposedEvent {
        ProposedEvent(
            stream: stream, type: i % 3 == 0 ? "StageStarted" : "StageCompleted",
            data: [
                "pipelineId": .string(stream), "stageOrder": .number(JSONNumber(i)),
                "output": .string(String(repeating: "ok ", count: i % 7)),
            ],
            metadata: JSONObject([("actor", "ci@build-17")]))
    }

    private struct Fields: Equatable {
        var position: Int64
        var type: String
        var typeCode: UInt8
        var schemaVersion: Int
        var occurredAt: Timestamp
        var data: JSONValue
    }

    private static let classify: @Sendable (String) -> UInt8 = { $0 == "StageStarted" ? 1 : 2 }

    private func foldFields(
        _ store: PostgresStore, from: Int64 = 1, filter: EventFilter = EventFilter(), limit: Int? = nil
    ) throws -> (fields: [Fields], examined: Int64) {
        var out: [Fields] = []
        let examined = try store.readFoldFields(from: from, filter: filter, limit: limit, classify: Self.classify) { f in
            out.append(
                Fields(
                    position: f.position, type: f.type, typeCode: f.typeCode, schemaVersion: f.schemaVersion,
                    occurredAt: f.occurredAt, data: f.data))
            return true
        }
        return (out, examined)
    }

    private func fullFields(
        _ store: PostgresStore, from: Int64 = 1, filter: EventFilter = EventFilter(), limit: Int? = nil
    ) throws -> [Fields] {
        try store.readAll(from: from, filter: filter, limit: limit).map { e in
            Fields(
                position: e.position, type: e.type, typeCode: Self.classify(e.type), schemaVersion: e.schemaVersion,
                occurredAt: e.occurredAt, data: e.data)
        }
    }

    /// Pages of 97 rows (decoded on one thread) and of 4096 (on two): the fold fields of
    /// every event are those of the full read, filters and limits included.
    func testFoldFieldsAreThoseOfTheFullReadInEveryPageSize() throws {
        try withTestDatabase(prefix: "pgstore_fold_fields") { url in
            let created = try PostgresStore.create(url: url)
            // What the projections' folds look for.
            XCTAssertNotNil((created as any EventStore) as? any FoldFieldsReading)
            let events = (0..<3000).map { event($0 % 2 == 0 ? "pipeline-even" : "environment-odd", $0) }
            try created.append(events)
            for pageSize in [97, 4096] {
                var options = PostgresStore.Options()
                options.readPageSize = pageSize
                let store = try PostgresStore.open(url: url, options: options)
                let all = try foldFields(store)
                XCTAssertEqual(all.fields.count, 3000)
                XCTAssertEqual(all.fields, try fullFields(store), "page size \(pageSize)")
                XCTAssertEqual(all.examined, 3000)
                let types = EventFilter(types: ["StageStarted"], throughPosition: 2500)
                let some = try foldFields(store, from: 7, filter: types)
                XCTAssertEqual(some.fields, try fullFields(store, from: 7, filter: types))
                XCTAssertEqual(some.fields.count, 832)
                XCTAssertEqual(some.examined, 2500)
                let limited = try foldFields(store, from: 10, limit: 600)
                XCTAssertEqual(limited.fields.map(\.position), Array(10...609))
                XCTAssertEqual(limited.examined, 609)
                // Stopped by the body: the position it stopped at.
                var seen = 0
                let stopped = try store.readFoldFields(
                    from: 1, filter: EventFilter(), limit: nil, classify: Self.classify
                ) { _ in
                    seen += 1
                    return seen < 1234
                }
                XCTAssertEqual(stopped, 1234)
            }
        }
    }

    /// A row whose payload is another event's, or not LZ4 at all, fails the fold-fields read
    /// as it fails the full read: a corruption error naming the row's position.
    func testACorruptedRowIsReportedNamingItsPosition() throws {
        try withTestDatabase(prefix: "pgstore_fold_corrupt") { url in
            let store = try PostgresStore.create(url: url)
            try store.append((0..<2000).map { event("pipeline-a", $0) })
            let connection = try PostgresConnection(url)
            try connection.execute(script: "ALTER TABLE deploylog.events DISABLE TRIGGER events_append_only")
            try connection.query(
                "UPDATE deploylog.events SET payload = (SELECT payload FROM deploylog.events WHERE position = 3) WHERE position = 1500"
            )
            try connection.query("UPDATE deploylog.events SET payload = '\\x00ff00ff'::bytea WHERE position = 1700")
            try connection.execute(script: "ALTER TABLE deploylog.events ENABLE TRIGGER events_append_only")
            for (from, bad) in [(Int64(1), Int64(1500)), (1501, 1700)] {
                XCTAssertThrowsError(try foldFields(store, from: from)) { e in
                    let error = e as? StoreError
                    XCTAssertEqual(error?.code, .corruption, "\(e)")
                    XCTAssertEqual(error?.position, bad, "\(e)")
                    XCTAssertTrue("\(e)".contains("position \(bad)"), "\(e)")
                }
                XCTAssertThrowsError(try store.readAll(from: from)) { e in
                    XCTAssertEqual((e as? StoreError)?.position, bad, "\(e)")
                }
            }
            // Rows before the bad one were delivered in order before the error.
            var delivered: [Int64] = []
            XCTAssertThrowsError(
                try store.readFoldFields(from: 1, filter: EventFilter(), limit: nil, classify: Self.classify) { f in
                    delivered.append(f.position)
                    return true
                })
            XCTAssertEqual(delivered, Array(1...1499))
        }
    }
}
