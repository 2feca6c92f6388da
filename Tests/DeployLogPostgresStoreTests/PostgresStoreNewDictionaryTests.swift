import DeployLogCompression
import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import DeployLogTestSupport
import Foundation
import XCTest

/// A store that is reading finds the dictionaries a newer writer added after it opened: rows
/// compressed with one are read when they come (the read loads the dictionaries again).
final class PostgresStoreNewDictionaryTests: XCTestCase {
    /// Rows as a newer writer with dictionary `dictionary` would write them, after `head`
    /// (their chain hashes are not checked by a read, only carried).
    private func writeRows(
        _ count: Int, after head: Int64, dictionary: LZ4Dictionary, on connection: PostgresConnection
    ) throws -> [RecordedEvent] {
        _ = try connection.query(
            "INSERT INTO deploylog.dictionaries (id, bytes) VALUES ($1, $2)",
            [.int4(Int32(dictionary.id)), .bytea(dictionary.bytes)])
        let compressor = LZ4Compressor(dictionary: dictionary)
        var written: [RecordedEvent] = []
        for i in 0..<count {
            let position = head + 1 + Int64(i)
            let e = RecordedEvent(
                position: position, stream: "pipeline-newer", streamVersion: Int64(i), eventId: .random(),
                type: "StageCompleted", schemaVersion: 1, occurredAt: Timestamp(microsecondsSinceEpoch: 1_764_000_000_000_000),
                recordedAt: Timestamp(microsecondsSinceEpoch: 1_764_000_000_000_000 + position),
                metadata: JSONObject([("correlationId", .string(EventID.random().text))]),
                data: ["stage": "deploy", "commit": .string(String(repeating: "ab", count: 20))],
                hash: [UInt8](repeating: UInt8(i), count: 32))
            var scratch = [UInt8]()
            var payload = [UInt8]()
            let packedLength = e.canonicalBytes().withUnsafeBytes {
                StoredEventCodec.encodePayload($0, compressor: compressor, scratch: &scratch, appendingTo: &payload)
            }
            _ = try connection.query(
                """
                INSERT INTO deploylog.events (position, stream, stream_version, event_id, type, schema_version, \
                occurred_at, recorded_at, metadata, payload, packed_length, dictionary_id, hash) \
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                """,
                [
                    .int8(position), .text(e.stream), .int8(e.streamVersion), .uuid(UUID(uuidString: e.eventId.text)!),
                    .text(e.type), .int4(Int32(e.schemaVersion)), .timestamptz(e.occurredAt.microseconds),
                    .timestamptz(e.recordedAt.microseconds), .json(JSONValue.object(e.metadata).canonicalString),
                    .bytea(payload), .int4(Int32(packedLength)), .int4(Int32(dictionary.id)), .bytea(e.hash!),
                ])
            written.append(e)
        }
        return written
    }

    private func proposed(_ i: Int) -> ProposedEvent {
        ProposedEvent(
            stream: "pipeline-\(i % 7)", type: "StageCompleted", data: ["stageOrder": .number(JSONNumber(i))],
            metadata: JSONObject())
    }

    /// Pages of fewer rows than make two decoding threads worth it, and of more.
    func testRowsOfADictionaryAddedAfterTheStoreOpenedAreRead() throws {
        for (old, new) in [(10, 3), (700, 5)] {
            try withTestDatabase(prefix: "pgstore_new_dictionary") { url in
                let writer = try PostgresStore.create(url: url)
                _ = try writer.append((0..<old).map(proposed))
                let before = try writer.readAll()
                let reader = try PostgresStore.open(url: url)
                let connection = try PostgresConnection(url)
                let dictionary = LZ4Dictionary(id: 2, bytes: Array(StoredEventCodec.defaultDictionary.bytes.reversed()))
                let newer = try writeRows(new, after: Int64(old), dictionary: dictionary, on: connection)
                let all = try reader.readAll()
                XCTAssertEqual(all.count, old + new)
                XCTAssertEqual(Array(all.prefix(old)), before)
                XCTAssertEqual(Array(all.suffix(new)), newer)
            }
        }
    }
}
