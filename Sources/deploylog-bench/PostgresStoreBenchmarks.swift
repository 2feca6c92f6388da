import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogProjectionSink
import DeployLogProjections
import DeployLogStore
import Foundation

/// The PostgreSQL store, on a throwaway durable cluster of its own (or the server of
/// `DEPLOYLOG_BENCH_DATABASE_URL`: its databases `bench_pgstore`, `bench_rebuild_store` and
/// `bench_rebuild_read` are dropped and recreated).
///
/// - `pg_append_batched_10000`: `config.storeEvents` events appended 10,000 per call (binary COPY).
/// - `pg_read_decode`: reading them all back through `read` (fetch, decompress, decode).
/// - `pg_append_one_per_transaction`: `config.fsyncEvents` events, one per call (one commit each).
/// - `pg_raw_copy`: the reference, in the same repetition: the same rows' bytes (as the store
///   wrote them) by binary COPY into a plain table of the same columns, no index, no constraint.
/// - `pg_append_to_raw_copy_ratio`: the first against the last.
/// - `pg_projection_rebuild_1m`: seconds of a full `ProjectionSink.rebuild()` of every
///   projector (fold the log, then COPY the tables in one transaction) from a PostgreSQL store
///   of `config.projectionEvents` events (1,000,000 by default) into another database of the
///   same server; `…_from_file_store` the same from a file store of the same events.
extension Benchmarks {
    static let postgresNames = [
        "pg_append_batched_10000", "pg_read_decode", "pg_append_one_per_transaction", "pg_raw_copy",
        "pg_append_to_raw_copy_ratio", "pg_projection_rebuild_1m", "pg_projection_rebuild_1m_from_file_store",
    ]
    static let postgresStoreNames = Array(postgresNames.prefix(5))

    func postgresGroup() throws {
        let server = try BenchServer(label: "postgres")
        defer { server.stop() }
        if Self.postgresStoreNames.contains(where: config.wants) { try postgresStoreFigures(server) }
        if Self.postgresNames.dropFirst(5).contains(where: config.wants) { try projectionRebuildFigures(server) }
    }

    func postgresStoreFigures(_ server: BenchServer) throws {
        let url = try server.createDatabase("bench_pgstore")
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
            // Each measurement starts after a checkpoint, so that none pays for the last one's writes.
            try admin.execute(script: "CHECKPOINT")
            var store: PostgresStore? = try PostgresStore.create(url: url)
            let cpuBeforeBatched = processCPUSeconds()
            let machineBeforeBatched = machineCPUTicks()
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
            let cpuBatched = processCPUSeconds() - cpuBeforeBatched
            let idleBatched = idleShare(machineBeforeBatched, machineCPUTicks())
            if rep == 1 {
                // The part of a batch's time spent before any row is sent: appending a stored
                // batch again takes the lock and looks its ids and streams up, then writes nothing.
                let again = Array(workload.prefix(min(n, 10_000)))
                let tAgain = try timed { _ = try store!.append(again) }
                note(
                    "postgres: a batch of \(again.count) appended again (lock and look-ups only): "
                        + "\(String(format: "%.1f", tAgain * 1000)) ms, "
                        + "\(String(format: "%.2f", tAgain * 1e6 / Double(again.count))) µs/event")
            }
            store = try PostgresStore.open(url: url)
            var count = 0
            let cpuBefore = processCPUSeconds()
            let machineBefore = machineCPUTicks()
            let tRead = try timed {
                try store!.read(from: 1, filter: EventFilter(), limit: nil) { _ in
                    count += 1
                    return true
                }
            }
            let cpuRead = processCPUSeconds() - cpuBefore
            let idleRead = idleShare(machineBefore, machineCPUTicks())
            // For profiling: DEPLOYLOG_BENCH_PG_READ_AGAIN=N reads everything N more times.
            for _ in 0..<(Int(ProcessInfo.processInfo.environment["DEPLOYLOG_BENCH_PG_READ_AGAIN"] ?? "") ?? 0) {
                try store!.read(from: 1, filter: EventFilter(), limit: nil) { _ in true }
            }
            guard count == n else { throw BenchError("read \(count) events, \(n) appended") }
            // The reference: the same rows' bytes by binary COPY into a plain table. The rows
            // are read back in binary first (not timed), so both sides send the same bytes.
            var rows: [[PostgresValue]] = []
            rows.reserveCapacity(n)
            _ = try admin.copyOut(
                "COPY (SELECT \(Self.rawColumns) FROM deploylog.events ORDER BY position) TO STDOUT (FORMAT binary)",
                columnTypes: Self.rawColumnTypes
            ) { row in rows.append(try (0..<Self.rawColumnTypes.count).map { try row.value($0) }) }
            try admin.execute(
                script:
                    "CREATE SCHEMA deploylog_bench; CREATE TABLE deploylog_bench.raw (LIKE deploylog.events INCLUDING DEFAULTS)"
            )
            try admin.execute(script: "CHECKPOINT")
            let tRaw = try timed {
                _ = try admin.transaction { c in
                    try c.copyIn(
                        "COPY deploylog_bench.raw (\(Self.rawColumns)) FROM STDIN (FORMAT binary)",
                        columnTypes: Self.rawColumnTypes
                    ) { w in for r in rows { try w.writeRow(r) } }
                }
            }
            if rep == 1 { try noteIndexCosts(rows, admin: admin, rawSeconds: tRaw) }
            rows = []
            // One event per transaction, on a fresh store.
            try admin.execute(script: "DROP SCHEMA deploylog CASCADE; DROP SCHEMA deploylog_bench CASCADE; CHECKPOINT")
            store = try PostgresStore.create(url: url)
            let cpuBeforeOne = processCPUSeconds()
            let tOne = try timed {
                for e in workload.prefix(single) { try store!.append([e]) }
            }
            let cpuOne = processCPUSeconds() - cpuBeforeOne
            store = nil
            batched.append(Double(n) / tBatched)
            read.append(Double(n) / tRead)
            one.append(Double(single) / tOne)
            raw.append(Double(n) / tRaw)
            note(
                "postgres \(rep)/\(config.repetitions): \(n) events: append \(batched.last!.short)/s (batches of 10000; \(String(format: "%.2f", cpuBatched * 1e6 / Double(n))) µs CPU/event here, "
                    + "cores idle \(idleBatched.map { String(format: "%.0f%%", $0 * 100) } ?? "?")), "
                    + "raw COPY \(raw.last!.short)/s (ratio \(String(format: "%.2f", batched.last! / raw.last!))), "
                    + "read+decode \(read.last!.short)/s (\(String(format: "%.2f", cpuRead * 1e6 / Double(n))) µs CPU/event here, "
                    + "the server's not counted; cores idle \(idleRead.map { String(format: "%.0f%%", $0 * 100) } ?? "?")), "
                    + "one per transaction \(one.last!.short)/s (\(String(format: "%.0f", tOne * 1e6 / Double(single))) µs each, "
                    + "\(String(format: "%.0f", cpuOne * 1e6 / Double(single))) µs of it CPU here)")
        }
        try admin.execute(
            script: "DROP SCHEMA IF EXISTS deploylog CASCADE; DROP SCHEMA IF EXISTS deploylog_bench CASCADE")
        admin.close()
        report.line("pg_append_batched_10000", median(batched), "events/s")
        report.line("pg_read_decode", median(read), "events/s")
        report.line("pg_append_one_per_transaction", median(one), "events/s")
        report.line("pg_raw_copy", median(raw), "events/s")
        report.line("pg_append_to_raw_copy_ratio", median(zip(batched, raw).map { $0 / $1 }), "ratio")
    }

    /// Where the server's time goes: the same COPY into the plain table with the store's
    /// indexes added one at a time, and then with the least indexing any store needs to find an
    /// event by position, by id and by stream (a BRIN range index on position, a hash index on
    /// the id, a B-tree on (stream, version); none of them unique): the ceiling of a store that
    /// left every guarantee to its lock (notes only, first repetition).
    private func noteIndexCosts(_ rows: [[PostgresValue]], admin: PostgresConnection, rawSeconds: Double) throws {
        let table = "deploylog_bench.indexed"
        let primaryKey = "ALTER TABLE \(table) ADD PRIMARY KEY (position)"
        let uniqueId = "ALTER TABLE \(table) ADD UNIQUE (event_id)"
        let uniqueStream = "ALTER TABLE \(table) ADD UNIQUE (stream, stream_version)"
        let variants: [(String, [String])] = [
            ("+ primary key (position)", [primaryKey]),
            ("+ unique (event_id)", [primaryKey, uniqueId]),
            ("+ unique (stream, stream_version)", [primaryKey, uniqueId, uniqueStream]),
            (
                "; with only non-unique look-up indexes instead (BRIN position, hash event_id, B-tree stream)",
                [
                    "CREATE INDEX ON \(table) USING brin (position)", "CREATE INDEX ON \(table) USING hash (event_id)",
                    "CREATE INDEX ON \(table) (stream, stream_version)",
                ]
            ),
        ]
        var line = "postgres: raw COPY \((Double(rows.count) / rawSeconds).short)/s"
        for (label, indexes) in variants {
            try admin.execute(
                script:
                    "DROP TABLE IF EXISTS \(table); CREATE TABLE \(table) (LIKE deploylog.events INCLUDING DEFAULTS); "
                    + indexes.joined(separator: "; ") + "; CHECKPOINT")
            let t = try timed {
                _ = try admin.transaction { c in
                    try c.copyIn(
                        "COPY deploylog_bench.indexed (\(Self.rawColumns)) FROM STDIN (FORMAT binary)",
                        columnTypes: Self.rawColumnTypes
                    ) { w in for r in rows { try w.writeRow(r) } }
                }
            }
            line += ", \(label) \((Double(rows.count) / t).short)/s (\(String(format: "%.2f", rawSeconds / t)) of raw)"
        }
        try admin.execute(script: "DROP TABLE deploylog_bench.indexed")
        note(line)
    }

    static let rawColumns =
        "position, stream, stream_version, event_id, type, schema_version, occurred_at, recorded_at, metadata, payload, packed_length, dictionary_id, hash"
    static let rawColumnTypes: [PostgresType] = [
        .int8, .text, .int8, .uuid, .text, .int4, .timestamptz, .timestamptz, .json, .bytea, .int4, .int4, .bytea,
    ]

    /// A full rebuild of every projector into PostgreSQL, from a PostgreSQL store of
    /// `config.projectionEvents` events and from a file store of the same events. Medians of at
    /// most 3 repetitions (each rebuild replaces the tables of the last, as `project rebuild`
    /// does); the fold alone (read, decode, every projector) is noted for where the time goes.
    func projectionRebuildFigures(_ server: BenchServer) throws {
        let n = config.projectionEvents
        let reps = min(config.repetitions, 3)
        var workload: [ProposedEvent] = []
        let tGenerate = timed {
            workload = Array(SampleHistory.generate(pipelines: n / 20 + 10, seed: config.seed).prefix(n))
        }
        guard workload.count == n else { throw BenchError("sample history too short: \(workload.count) of \(n)") }
        note("rebuild: \(n) events generated in \(String(format: "%.2f", tGenerate)) s")
        let storeURL = try server.createDatabase("bench_rebuild_store")
        let readURL = try server.createDatabase("bench_rebuild_read")
        let pgStore = try PostgresStore.create(url: storeURL)
        let tLoad = try timed {
            var i = 0
            while i < n {
                let end = min(i + 10_000, n)
                try pgStore.append(Array(workload[i..<end]))
                i = end
            }
        }
        note("rebuild: \(n) events appended to the PostgreSQL store at \((Double(n) / tLoad).short)/s")
        try withTemporaryDirectory { dir in
            var fileStore: FileStore? = nil
            if config.wants("pg_projection_rebuild_1m_from_file_store") {
                fileStore = try FileStore.create(at: dir + "/store")
                var i = 0
                while i < n {
                    let end = min(i + 10_000, n)
                    try fileStore!.append(Array(workload[i..<end]))
                    i = end
                }
            }
            workload = []
            let admin = try PostgresConnection(readURL)
            defer { admin.close() }
            var traced: Set<String> = []
            func rebuild(_ store: any EventStore, _ label: String) throws -> Double {
                try admin.execute(script: "CHECKPOINT")
                let sink = try ProjectionSink(connection: try PostgresConnection(readURL), store: store)
                defer { sink.connection.close() }
                // The first rebuild of each store notes its steps with their start times.
                let trace = traced.insert(label).inserted
                var start = monotonicSeconds()
                if trace {
                    sink.progress = { step in
                        note("rebuild from the \(label): +\(String(format: "%.2f", monotonicSeconds() - start)) s \(step)")
                    }
                }
                var result: SinkReport?
                let t = try timed {
                    start = monotonicSeconds()
                    result = try sink.rebuild()
                }
                if trace { note("rebuild from the \(label): +\(String(format: "%.2f", t)) s committed") }
                guard let result, result.head.position == Int64(n) else {
                    throw BenchError("\(label) rebuild reached position \(result?.head.position ?? -1) of \(n)")
                }
                var fold = Projections()
                let cpuBefore = processCPUSeconds()
                let tFold = try timed { fold = try Projections.fold(store, upTo: Int64(n)) }
                let cpuFold = processCPUSeconds() - cpuBefore
                guard fold.state.position == Int64(n) else { throw BenchError("\(label) fold fell short") }
                let rows = result.entries.reduce(0) { $0 + $1.rows }
                note(
                    "rebuild from the \(label): \(String(format: "%.2f", t)) s for \(n) events, \(rows) rows "
                        + "(the fold alone: \(String(format: "%.2f", tFold)) s, \(String(format: "%.2f", cpuFold)) s CPU here)")
                return t
            }
            var fromPostgres: [Double] = []
            var fromFiles: [Double] = []
            for _ in 1...reps {
                if config.wants("pg_projection_rebuild_1m") {
                    fromPostgres.append(try rebuild(pgStore, "PostgreSQL store"))
                }
                if let fileStore { fromFiles.append(try rebuild(fileStore, "file store")) }
            }
            if !fromPostgres.isEmpty { report.line("pg_projection_rebuild_1m", median(fromPostgres), "s") }
            if !fromFiles.isEmpty { report.line("pg_projection_rebuild_1m_from_file_store", median(fromFiles), "s") }
        }
    }
}
