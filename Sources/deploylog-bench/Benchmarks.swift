import DeployLogEvents
import DeployLogStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark groups. A group runs when the filter wants any of its figures; figures that
/// share a run (a ratio and its two sides) are measured in the same repetition.
struct Benchmarks {
    struct Group {
        var names: [String]
        var run: @Sendable (Benchmarks) throws -> Void
    }

    static let groups: [Group] = [
        // Always printed: figures mean little without the machine's size.
        Group(names: ["cores"], run: { _ in print("cores \(ProcessInfo.processInfo.activeProcessorCount) count") }),
        Group(
            names: [
                "append_batched_1000", "open_rebuild", "open_indexed", "replay", "verify", "stored_bytes_per_event",
                "canonical_json_bytes_per_event", "stored_to_canonical_ratio", "stored_to_ndjson_input_ratio",
            ], run: { b in try b.storeGroup() }),
        Group(
            names: [
                "append_fsync_per_event", "raw_write_fsync", "fsync_per_event_ratio", "append_8_threads_fsync",
                "group_commit_speedup",
            ],
            run: { b in try b.fsyncGroup() }),
        Group(names: ["ndjson_ingest_cli"], run: { b in try b.cliGroup() }),
        Group(names: Benchmarks.postgresNames, run: { b in try b.postgresGroup() }),
        Group(names: Benchmarks.projectionNames, run: { b in try b.projectionGroup() }),
        Group(names: Benchmarks.migrationNames, run: { b in try b.migrationGroup() }),
        // Where the time of one event goes, step by step (medians, one thread).
        Group(names: FileStore.componentCosts([]).map { "component_" + $0.name }, run: { b in b.componentGroup() }),
    ]

    let config: BenchConfig
    let report: Report
    /// The workload: the first `config.storeEvents` events of the sample history.
    let events: [ProposedEvent]

    init(config: BenchConfig) throws {
        self.config = config
        report = Report(config: config)
        let wanted = max(config.storeEvents, config.fsyncEvents, config.threadedEvents)
        var all: [ProposedEvent] = []
        let t = timed { all = SampleHistory.generate(pipelines: wanted / 20 + 10, seed: config.seed) }
        guard all.count >= wanted else {
            throw BenchError("sample history too short: \(all.count) events, \(wanted) wanted")
        }
        events = Array(all.prefix(wanted))
        // The workload must be valid catalog-v1 data, or the figures mean little.
        for e in events {
            do { try EventCatalog.validate(type: e.type, schemaVersion: e.schemaVersion, data: e.data) } catch {
                throw BenchError("sample event \(e.eventId) (\(e.type)) is not valid catalog data: \(error)")
            }
        }
        note(
            "workload: \(events.count) events of the sample history (seed \(config.seed)), generated in \(String(format: "%.2f", t)) s; "
                + "\(config.repetitions) repetition(s)\(config.quick ? ", quick mode" : "")")
    }

    func run() throws {
        #if DEBUG
            note("debug build: the figures only show that the benchmark runs; measure with `-c release`")
        #endif
        for group in Self.groups where group.names.contains(where: config.wants) || group.names == ["cores"] {
            try group.run(self)
        }
    }

    // MARK: Component costs

    func componentGroup() {
        let sample = Array(events.prefix(min(events.count, 50_000)))
        var runs = [[(name: String, nanoseconds: Double)]]()
        for _ in 1...config.repetitions { runs.append(FileStore.componentCosts(sample)) }
        for (i, first) in runs[0].enumerated() {
            let name = "component_" + first.name
            guard config.wants(name) else { continue }
            let unit = first.name.hasSuffix("_bytes") ? "bytes" : "ns/event"
            report.line(name, median(runs.map { $0[i].nanoseconds }), unit)
        }
    }

    // MARK: Batched append, open, replay, verify, sizes

    func storeGroup() throws {
        let n = config.storeEvents
        let workload = Array(events.prefix(n))
        var append: [Double] = []
        var open: [Double] = []
        var openIndexed: [Double] = []
        var replay: [Double] = []
        var verify: [Double] = []
        var sizes: (stored: Int, canonical: Int)?
        for rep in 1...config.repetitions {
            try withTemporaryDirectory { dir in
                let path = dir + "/store"
                var store: FileStore? = try FileStore.create(at: path)
                let tAppend = try timed {
                    var i = 0
                    while i < n {
                        let end = min(i + 1000, n)
                        let r = try store!.append(Array(workload[i..<end]))
                        guard r.appendedCount == end - i else {
                            throw BenchError("append stored \(r.appendedCount) of \(end - i) events")
                        }
                        i = end
                    }
                }
                store = nil
                // The writer left its index checkpoint on release: an open reads it and scans
                // nothing after it.
                guard FileManager.default.fileExists(atPath: path + "/index/index.bin") else {
                    throw BenchError("the writer left no index checkpoint")
                }
                var indexedOptions = FileStore.Options()
                indexedOptions.checkpointOnReleaseInterval = .max
                var indexed: FileStore?
                let tIndexed = try timed { indexed = try FileStore.open(at: path, options: indexedOptions) }
                guard indexed?.indexCheckpointLoaded == Int64(n) else { throw BenchError("the index checkpoint was not used") }
                indexed = nil
                // The full scan: no checkpoint to read, none written.
                try FileManager.default.removeItem(atPath: path + "/index")
                var scanOptions = FileStore.Options()
                scanOptions.indexCheckpoint = false
                var opened: FileStore?
                let tOpen = try timed { opened = try FileStore.open(at: path, options: scanOptions) }
                var count = 0
                let tReplay = try timed {
                    try opened!.read(from: 1, filter: EventFilter(), limit: nil) { _ in
                        count += 1; return true
                    }
                }
                guard count == n else { throw BenchError("replay read \(count) events, \(n) appended") }
                var verified: VerificationReport?
                let tVerify = try timed { verified = try FileStore.verify(at: path) }
                guard let verified, verified.ok, verified.events == Int64(n) else {
                    throw BenchError(
                        "verify failed: \(verified?.problem?.description ?? "no report") (\(verified?.events ?? 0) events)"
                    )
                }
                if sizes == nil {
                    var canonical = 0
                    try opened!.read(from: 1, filter: EventFilter(), limit: nil) { e in
                        canonical += e.canonicalBytes().count; return true
                    }
                    sizes = (directoryBytes(path), canonical)
                }
                append.append(Double(n) / tAppend)
                open.append(Double(n) / tOpen)
                openIndexed.append(Double(n) / tIndexed)
                replay.append(Double(n) / tReplay)
                verify.append(Double(n) / tVerify)
                note(
                    "store \(rep)/\(config.repetitions): \(n) events: append \(append.last!.short)/s, open \(open.last!.short)/s, "
                        + "open indexed \(String(format: "%.1f", tIndexed * 1000)) ms, "
                        + "replay \(replay.last!.short)/s, verify \(verify.last!.short)/s")
            }
        }
        report.line("append_batched_1000", median(append), "events/s")
        report.line("open_rebuild", median(open), "events/s")
        report.line("open_indexed", median(openIndexed), "events/s")
        report.line("replay", median(replay), "events/s")
        report.line("verify", median(verify), "events/s")
        if let sizes {
            let ndjsonBytes = SampleHistory.ndjson(workload).utf8.count
            report.line("stored_bytes_per_event", Double(sizes.stored) / Double(n), "bytes")
            report.line("canonical_json_bytes_per_event", Double(sizes.canonical) / Double(n), "bytes")
            report.line("stored_to_canonical_ratio", Double(sizes.stored) / Double(sizes.canonical), "ratio")
            report.line("stored_to_ndjson_input_ratio", Double(sizes.stored) / Double(ndjsonBytes), "ratio")
        }
    }

    // MARK: One fsync per event, raw write+fsync, concurrent appenders

    func fsyncGroup() throws {
        let m = config.fsyncEvents
        let single = Array(events.prefix(m))
        // Concurrent appenders: thread t takes every `threads`-th event; expected versions are
        // dropped since one stream's events may now arrive in any order.
        let threads = config.threads
        let slices: [[ProposedEvent]] = (0..<threads).map { t in
            stride(from: t, to: config.threadedEvents, by: threads).map { i in
                var e = events[i]
                e.expectedVersion = .any
                return e
            }
        }
        let threadedCount = slices.reduce(0) { $0 + $1.count }
        // Raw records of the bytes a one-event append writes (its event record and the commit
        // record that ends its group), measured on a probe store: both loops then write and
        // sync the same bytes per commit, and the ratio shows the store's own cost.
        let recordSize = try withTemporaryDirectory { dir -> Int in
            let store = try FileStore.create(at: dir + "/probe")
            _ = try store.append([events[0]])
            let before = directoryBytes(dir + "/probe/segments")
            let probe = events[1..<min(events.count, 201)]
            for e in probe { _ = try store.append([e]) }
            return max(64, (directoryBytes(dir + "/probe/segments") - before) / probe.count)
        }
        note("fsync: raw records of \(recordSize) bytes (what a one-event append writes)")

        var raw: [Double] = []
        var perEvent: [Double] = []
        var concurrent: [Double] = []
        var fsyncRatio: [Double] = []
        var speedup: [Double] = []
        for rep in 1...config.repetitions {
            try withTemporaryDirectory { dir in
                // The two loops take turns, a slice at a time, so that the disk's drift during
                // a run (its sync time varies by tens of percent from second to second here)
                // falls on both alike.
                let rawLoop = try RawWriteFsync(path: dir + "/raw.log", size: recordSize)
                let store = try FileStore.create(at: dir + "/single")
                let turns = 8
                var tRaw = 0.0
                var tSingle = 0.0
                for k in 0..<turns {
                    let lo = k * m / turns
                    let hi = (k + 1) * m / turns
                    tRaw += try rawLoop.run(records: hi - lo)
                    tSingle += try timed {
                        for e in single[lo..<hi] {
                            let r = try store.append([e])
                            guard r.appendedCount == 1 else {
                                throw BenchError("append stored \(r.appendedCount) of 1 event")
                            }
                        }
                    }
                }
                let rawRate = Double(m) / tRaw
                let singleRate = Double(m) / tSingle

                let shared = try FileStore.create(at: dir + "/threads")
                let errors = ErrorBox()
                let tThreads = runOnThreads(threads) { t in
                    do {
                        for e in slices[t] { _ = try shared.append([e]) }
                    } catch {
                        errors.add("appender \(t): \(error)")
                    }
                }
                if let e = errors.first { throw BenchError(e) }
                let head = try shared.head().position
                guard head == Int64(threadedCount) else {
                    throw BenchError("concurrent appenders stored \(head) of \(threadedCount) events")
                }
                let threadedRate = Double(threadedCount) / tThreads
                let stats = shared.groupCommitStatistics
                let groupSize = Double(stats.requests) / Double(max(1, stats.groups))

                raw.append(rawRate)
                perEvent.append(singleRate)
                concurrent.append(threadedRate)
                fsyncRatio.append(singleRate / rawRate)
                speedup.append(threadedRate / singleRate)
                note(
                    "fsync \(rep)/\(config.repetitions): raw \(rawRate.short) ops/s, one event per append \(singleRate.short)/s, "
                        + "\(threads) appenders \(threadedRate.short)/s (\(String(format: "%.1f", groupSize)) appends per sync)")
            }
        }
        report.line("append_fsync_per_event", median(perEvent), "events/s")
        report.line("raw_write_fsync", median(raw), "ops/s")
        report.line("fsync_per_event_ratio", median(fsyncRatio), "ratio")
        report.line("append_8_threads_fsync", median(concurrent), "events/s")
        report.line("group_commit_speedup", median(speedup), "ratio")
    }

    /// A file that records of `size` bytes are appended to with pwrite, each followed by
    /// fdatasync: the floor of any durable one-record-per-commit log.
    final class RawWriteFsync {
        private let fd: Int32
        private let path: String
        private let record: [UInt8]
        private var offset: off_t = 0

        init(path: String, size: Int) throws {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
            self.path = path
            record = [UInt8](repeating: 0x5A, count: size)
        }

        deinit { close(fd) }

        /// Seconds to append `records` more records.
        func run(records: Int) throws -> Double {
            try timed {
                for _ in 0..<records {
                    let written = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
                    guard written == record.count, fdatasync(fd) == 0 else {
                        throw BenchError("write+fdatasync of \(path) failed: \(String(cString: strerror(errno)))")
                    }
                    offset += off_t(record.count)
                }
            }
        }
    }

    // MARK: NDJSON ingest through the command line

    func cliGroup() throws {
        let cli = executableDirectory() + "/deploylog"
        guard FileManager.default.isExecutableFile(atPath: cli) else {
            note(
                "ndjson_ingest_cli: skipped: no deploylog binary at \(cli) (build it: swift build -c release --product deploylog)"
            )
            return
        }
        let n = config.storeEvents
        let text = SampleHistory.ndjson(Array(events.prefix(n)))
        var rates: [Double] = []
        try withTemporaryDirectory { inputDir in
            let input = inputDir + "/history.ndjson"
            guard FileManager.default.createFile(atPath: input, contents: Data(text.utf8)) else {
                throw BenchError("cannot write \(input)")
            }
            for rep in 1...config.repetitions {
                let skipped = try withTemporaryDirectory { dir -> Bool in
                    let store = dir + "/store"
                    let initStatus = try runProgram(cli, ["--store", store, "init"])
                    guard initStatus == 0 else {
                        note("ndjson_ingest_cli: skipped: `deploylog --store DIR init` exited \(initStatus)")
                        return true
                    }
                    var status: Int32 = 0
                    let t = try timed { status = try runProgram(cli, ["--store", store, "append"], stdinPath: input) }
                    guard status == 0 else {
                        note("ndjson_ingest_cli: skipped: `deploylog --store DIR append` exited \(status)")
                        return true
                    }
                    let head = (try? FileStore.open(at: store).head().position) ?? 0
                    guard head == Int64(n) else {
                        note(
                            "ndjson_ingest_cli: skipped: the store holds \(head) events after `deploylog append` of \(n)"
                        )
                        return true
                    }
                    rates.append(Double(n) / t)
                    note("cli \(rep)/\(config.repetitions): \(n) events: ingest \(rates.last!.short)/s")
                    return false
                }
                if skipped { return }
            }
        }
        if !rates.isEmpty { report.line("ndjson_ingest_cli", median(rates), "events/s") }
    }
}
