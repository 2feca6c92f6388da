import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import Foundation

/// The PostgreSQL store, against the server of `DEPLOYLOG_BENCH_DATABASE_URL` (a scratch
/// database: its `deploylog` and `deploylog_bench` schemas are dropped and recreated).
extension Benchmarks {
    static let databaseVariable = "DEPLOYLOG_BENCH_DATABASE_URL"
    static let postgresNames = [
        "pg_append_batched_10000", "pg_read_decode", "pg_append_one_per_transaction", "pg_raw_copy",
        "pg_append_to_raw_copy_ratio",
    ]

    func postgresGroup() throws {
        guard let url = ProcessInfo.processInfo.environment[Self.databaseVariable], !url.isEmpty else {
            note("pg_*: skipped (set \(Self.databaseVariable) to a scratch database)")
            return
        }
        let n = config.storeEvents
        let single = config.fsyncEvents
        let workload = Array(events.prefix(n))
        let admin = try PostgresConnection(url)
        var batched: [Double] = []
        var read: [Double] = []
        var one: [Double] = []
        var raw: [Double] = []
        for rep in 1...config.repetitions {
            try admin.execute(
                script: "DROP SCHEMA IF EXISTS deploylog CASCADE; DROP SCHEMA IF EXISTS deploylog_bench CASCADE")
            var store: PostgresStore? = try PostgresStore.create(url: url)
            let tBatched = try timed {
                var i = 0
                while i < n {
                    let end = min(i + 10_000, n)
                    let r = try store!.append(Array(workload[i..<end]))
                    guard r.appendedCount == end - i else {
                        throw BenchError("append stored \(r.appendedCount) of \(end - i)")
                    }
                    i = end
                }
            }
            store = try PostgresStore.open(url: url)
            var count = 0
            let tRead = try timed {
                try store!.read(from: 1, filter: EventFilter(), limit: nil) { _ in
                    count += 1
                    return true
                }
            }
            guard count == n else { throw BenchError("read \(count) events, \(n) appended") }
            // One event per transaction, on a fresh store.
            try admin.execute(script: "DROP SCHEMA deploylog CASCADE")
            store = try PostgresStore.create(url: url)
            let tOne = try timed {
                for e in workload.prefix(single) { try store!.append([e]) }
            }
            // The reference: the same rows' bytes by binary COPY into a plain table.
            try admin.execute(script: "DROP SCHEMA deploylog CASCADE")
            store = try PostgresStore.create(url: url)
            try store!.append(Array(workload.prefix(min(n, 50_000))))
            var rows: [[PostgresValue]] = []
            let columns =
                "position, stream, stream_version, event_id, type, schema_version, occurred_at, recorded_at, metadata, payload, packed_length, dictionary_id, hash"
            _ = try admin.copyOut(
                "COPY (SELECT \(columns) FROM deploylog.events ORDER BY position) TO STDOUT (FORMAT binary)",
                columnTypes: [
                    .int8, .text, .int8, .uuid, .text, .int4, .timestamptz, .timestamptz, .json, .bytea, .int4, .int4,
                    .bytea,
                ]
            ) { row in rows.append(try (0..<13).map { try row.value($0) }) }
            try admin.execute(
                script:
                    "CREATE SCHEMA deploylog_bench; CREATE TABLE deploylog_bench.raw (LIKE deploylog.events INCLUDING DEFAULTS)"
            )
            let tRaw = try timed {
                try admin.copyIn(
                    "COPY deploylog_bench.raw (\(columns)) FROM STDIN (FORMAT binary)",
                    columnTypes: [
                        .int8, .text, .int8, .uuid, .text, .int4, .timestamptz, .timestamptz, .json, .bytea, .int4,
                        .int4, .bytea,
                    ]
                ) { w in for r in rows { try w.writeRow(r) } }
            }
            store = nil
            batched.append(Double(n) / tBatched)
            read.append(Double(n) / tRead)
            one.append(Double(single) / tOne)
            raw.append(Double(rows.count) / tRaw)
            note(
                "postgres \(rep)/\(config.repetitions): append \(batched.last!.short)/s (batches of 10000), read+decode \(read.last!.short)/s, "
                    + "one per transaction \(one.last!.short)/s, raw COPY \(raw.last!.short)/s")
        }
        try admin.execute(
            script: "DROP SCHEMA IF EXISTS deploylog CASCADE; DROP SCHEMA IF EXISTS deploylog_bench CASCADE")
        report.line("pg_append_batched_10000", median(batched), "events/s")
        report.line("pg_read_decode", median(read), "events/s")
        report.line("pg_append_one_per_transaction", median(one), "events/s")
        report.line("pg_raw_copy", median(raw), "events/s")
        report.line("pg_append_to_raw_copy_ratio", median(batched) / median(raw), "ratio")
    }
}
