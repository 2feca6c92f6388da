import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

@testable import DeployLogProjectionSink

/// A test against the shared PostgreSQL test server: a fresh database and a fresh file store
/// per test, and helpers to read the projected tables back as projector rows.
class SinkTestCase: XCTestCase {
    /// This test's database (created on first use).
    private(set) var databaseURL = ""
    /// This test's store folder.
    private(set) var storePath = ""
    private(set) var store: FileStore!

    override func setUpWithError() throws {
        try super.setUpWithError()
        storePath = FileManager.default.temporaryDirectory.path + "/deploylog-sink-" + UUID().uuidString.lowercased()
        store = try FileStore.create(at: storePath)
        databaseURL = try PostgresServer.shared().createDatabase(prefix: "sink")
    }

    override func tearDownWithError() throws {
        store = nil
        try? FileManager.default.removeItem(atPath: storePath)
        if let server = try? PostgresServer.shared(), server.isExternal, !databaseURL.isEmpty {
            try server.dropDatabase(url: databaseURL)
        }
        try super.tearDownWithError()
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(databaseURL) }

    func sink(schema: String = ProjectionSink.defaultSchema) throws -> ProjectionSink {
        try ProjectionSink(connection: try connect(), store: store, schema: schema)
    }

    /// A history of `pipelines` pipelines whose first event is `daysAgo` days before now (so
    /// that the seed's NOW()-based views have data); it must end before now.
    static func recentHistory(pipelines: Int, seed: UInt64 = 7, daysAgo: Int64 = 40) throws -> [ProposedEvent] {
        let start = Timestamp(microsecondsSinceEpoch: Timestamp.now().microseconds - daysAgo * 86_400_000_000)
        let events = SampleHistory.generate(pipelines: pipelines, seed: seed, start: start)
        let last = try XCTUnwrap(events.compactMap(\.occurredAt).max())
        XCTAssertLessThan(last, Timestamp.now(), "the history must end before now")
        return events
    }

    /// Appends `events` in batches.
    func append(_ events: some Collection<ProposedEvent>) throws {
        var batch: [ProposedEvent] = []
        for e in events {
            batch.append(e)
            if batch.count == 1000 {
                _ = try store.append(batch)
                batch.removeAll()
            }
        }
        if !batch.isEmpty { _ = try store.append(batch) }
    }

    /// The rows of `table` in `schema` as the projector writes them (ordered by id), each cell as
    /// its canonical JSON text (jsonb reorders object keys; canonical text does not care).
    func rows(of table: Table, schema: String = ProjectionSink.defaultSchema, on c: PostgresConnection) throws
        -> [[String]]
    {
        let columns = try table.columns.map(PostgresIdentifier.quote).joined(separator: ", ")
        let name = try PostgresIdentifier.quote(schema: schema, table.name)
        return try c.query("SELECT \(columns) FROM \(name) ORDER BY id").map { row in
            try (0..<row.count).map { i in try Self.cell(row, i).canonicalString }
        }
    }

    static func cell(_ row: PostgresRow, _ i: Int) throws -> JSONValue {
        if try row.isNull(i) { return .null }
        switch row.columns[i].type {
        case .int2, .int4, .int8: return .number(JSONNumber(try row.int64(i)))
        case .bool: return .bool(try row.bool(i))
        case .timestamp, .timestamptz:
            return .string(Timestamp(microsecondsSinceEpoch: try row.timestamp(i)).canonicalText)
        case .jsonb, .json: return try JSONParser.parse(try row.string(i))
        case .text, .varchar: return .string(try row.string(i))
        default: return .array(try row.array(i, of: String.self).map { .string($0) })
        }
    }

    /// The projectors' rows as canonical text, per table name.
    static func expectedRows(_ p: Projections) -> [String: [[String]]] {
        var out: [String: [[String]]] = [:]
        for projector in SinkProjector.allCases {
            for t in projector.tables(of: p) { out[t.name] = t.rows.map { $0.map(\.canonicalString) } }
        }
        return out
    }

    /// Every projected table's rows in `schema`, per table name.
    func actualRows(_ p: Projections, schema: String = ProjectionSink.defaultSchema, on c: PostgresConnection) throws
        -> [String: [[String]]]
    {
        var out: [String: [[String]]] = [:]
        for projector in SinkProjector.allCases {
            for t in projector.tables(of: p) { out[t.name] = try rows(of: t, schema: schema, on: c) }
        }
        return out
    }

    /// The checkpoints in `schema`, by projector.
    func checkpoints(schema: String = ProjectionSink.defaultSchema, on c: PostgresConnection) throws
        -> [String: ProjectionCheckpoint]
    {
        try ProjectionCheckpoint.readAll(schema: schema, on: c)
    }

    /// Sets `search_path` (and, for the views, TimeZone: the sink set the database's default
    /// already, which new connections get) on a reader's connection.
    func reader(schema: String = ProjectionSink.defaultSchema) throws -> PostgresConnection {
        let c = try connect()
        try c.query("SELECT set_config('search_path', $1, false)", [.text(try PostgresIdentifier.quote(schema))])
        return c
    }
}

struct InjectedFailure: Error {}
