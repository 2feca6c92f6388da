import DeployLogCompression
public import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation

extension PostgresStore {
    /// Checks every row of the log, in position order: positions gapless from 1, the payload
    /// decompresses and decodes to an event at that position, every column that repeats one
    /// of its fields (stream, stream version, event id, type, schema version, the two times,
    /// the metadata) agrees with it, and the hash chain recomputed from the
    /// canonical bytes equals every stored hash; optionally that the log extends `checkpoint`.
    /// The report names the first bad position; `segments` is 0.
    public func verify(checkpoint: Checkpoint? = nil, progress: ((Int64) -> Void)? = nil) throws(StoreError)
        -> VerificationReport
    {
        let table = "deploylog.events"
        var report = VerificationReport(
            events: 0, segments: 0, head: Checkpoint(position: 0, hash: ChainHash.genesis.hex))
        if let cp = checkpoint, cp.position == 0, cp.hash != ChainHash.genesis.hex {
            report.problem = VerificationProblem(
                position: 0, file: "", offset: 0, message: "checkpoint at position 0 must hold the zero hash")
            return report
        }
        var chain = ChainHash.genesis
        var good: Int64 = 0
        func fail(_ position: Int64, _ message: String) -> VerificationReport {
            var r = report
            r.events = good
            r.head = Checkpoint(position: good, hash: chain.hex)
            r.problem = VerificationProblem(position: position, file: "", offset: 0, message: message)
            return r
        }
        let sql =
            "SELECT \(PostgresStoreSQL.verifyColumns) FROM \(table) WHERE position > $1 AND position <= $3 ORDER BY position LIMIT $2"
        let statement = PostgresStatement(sql, parameterTypes: [.int8, .int8, .int8])
        // The log as it is now, with the dictionaries read after its head: events appended
        // while verify runs are not verified, and so none can name a dictionary added after
        // these were read (a false "unknown dictionary").
        let head = try withConnection(doing: "verifying") { c in
            try c.query(PostgresStoreSQL.head, []).first.map { try $0.int64(0) } ?? 0
        }
        try reloadDictionaries()
        let decompressor = self.decompressor()
        var decoder = PageDecoder()
        var reported: Int64 = 0
        while true {
            let page = options.readPageSize
            let rows = try withConnection(doing: "verifying after position \(good)") { c in
                try c.query(statement, [.int8(good), .int8(Int64(page)), .int8(head)])
            }
            for row in rows {
                let expected = good + 1
                do {
                    let position = try row.int64(0)
                    guard position == expected else {
                        return fail(
                            expected,
                            position > expected
                                ? "positions \(expected)...\(position - 1) are missing"
                                : "position \(position) out of order")
                    }
                    let packedLength = Int(try row.int32(2))
                    let dictionaryId = UInt32(truncatingIfNeeded: try row.int32(3))
                    let e: RecordedEvent
                    do {
                        e = try decoder.event(
                            row, position: position, packedLength: packedLength, dictionaryId: dictionaryId,
                            decompressor: decompressor)
                    } catch let error as StoreError {
                        return fail(
                            position, error.message.replacingOccurrences(of: "position \(position): ", with: ""))
                    }
                    if let column = try Self.columnDisagreeing(row, with: e) {
                        return fail(position, "the row's \(column) differs from its event's")
                    }
                    var plain = e
                    plain.hash = nil
                    let next = ChainHash.next(previous: chain, canonical: plain.canonicalBytes())
                    let stored = try row.bytes(4)
                    guard stored == next.bytes else {
                        return fail(
                            position,
                            "hash chain broken: the stored hash is \(Hex.encode(stored)), recomputed \(next.hex)")
                    }
                    chain = next
                    if let cp = checkpoint, cp.position == position, cp.hash != chain.hex {
                        return fail(
                            position,
                            "the log does not extend the checkpoint: hash at position \(position) is \(chain.hex), checkpoint says \(cp.hash)"
                        )
                    }
                    good = position
                    report.events = good
                    report.head = Checkpoint(position: good, hash: chain.hex)
                } catch {
                    return fail(expected, "unreadable row: \(error)")
                }
            }
            if let progress, good - reported >= 65_536 {
                reported = good
                progress(good)
            }
            if rows.count < page { break }
        }
        if let cp = checkpoint, cp.position > good {
            return fail(good + 1, "the log ends at position \(good), before the checkpoint's position \(cp.position)")
        }
        return report
    }

    /// The first column of a `verifyColumns` row that does not repeat its event's field, or
    /// nil. These columns serve SQL (filters, `occurred_at` ranges, reports reading
    /// `metadata ->> …`), so a row changed behind the triggers' back must not pass `verify`
    /// while reads by those columns go wrong. The metadata is compared as the text the store
    /// writes (canonical JSON), byte for byte.
    static func columnDisagreeing(_ row: PostgresRow, with e: RecordedEvent) throws -> String? {
        if try row.string(5) != e.stream { return "stream" }
        if try row.int64(6) != e.streamVersion { return "stream_version" }
        if EventID(try row.get(7, as: UUID.self)) != e.eventId { return "event_id" }
        if try row.string(8) != e.type { return "type" }
        if Int(try row.int32(9)) != e.schemaVersion { return "schema_version" }
        if try row.timestamp(10) != e.occurredAt.microseconds { return "occurred_at" }
        if try row.timestamp(11) != e.recordedAt.microseconds { return "recorded_at" }
        if try row.string(12) != JSONValue.object(e.metadata).canonicalString { return "metadata" }
        return nil
    }
}
