import DeployLogEvents
import DeployLogProjections
import DeployLogStore
import Foundation

/// Folding every projector over a long log, and the point-in-time state at random positions.
extension Benchmarks {
    static let projectionNames = [
        "fold_read_only", "fold_all_projectors_in_memory", "fold_all_projectors", "fold_state_projector", "state_snapshot_build", "state_snapshot_bytes", "state_store_bytes",
        "state_at_random_position",
        "state_at_random_position_p95",
        "state_at_random_position_fresh_store",
    ]

    func projectionGroup() throws {
        let n = config.projectionEvents
        // The workload: a sample history of `n` events (longer than the store group's).
        var workload: [ProposedEvent] = []
        let tGenerate = timed {
            workload = Array(SampleHistory.generate(pipelines: n / 20 + 10, seed: config.seed).prefix(n))
        }
        guard workload.count == n else { throw BenchError("sample history too short: \(workload.count) of \(n)") }
        note("projections: \(n) events generated in \(String(format: "%.2f", tGenerate)) s")
        try withTemporaryDirectory { dir in
            let store = try FileStore.create(at: dir + "/store")
            var i = 0
            while i < n {
                let end = min(i + 1000, n)
                try store.append(Array(workload[i..<end]))
                i = end
            }
            workload = []
            // For profiling: DEPLOYLOG_BENCH_FOLD_ONLY=all|state|read runs only that fold, and
            // prints its figures as notes.
            if let only = ProcessInfo.processInfo.environment["DEPLOYLOG_BENCH_FOLD_ONLY"] {
                for rep in 1...config.repetitions {
                    var wall = 0.0
                    let cpu = try cpuTimed {
                        wall = try timed {
                            switch only {
                            case "state": _ = try Projections.fold(StateProjector.self, store)
                            case "read": try store.read(from: 1, filter: EventFilter(), limit: nil) { _ in true }
                            default: _ = try Projections.fold(store)
                            }
                        }
                    }
                    note("\(only) \(rep): \((Double(n) / wall).short)/s, CPU \(Int(cpu * 1e9 / Double(n))) ns per event")
                }
                return
            }
            var all: [Double] = []
            var stateOnly: [Double] = []
            var readOnly: [Double] = []
            for rep in 1...config.repetitions {
                var count = 0
                var tr = 0.0
                let cr = try cpuTimed {
                    tr = try timed {
                        try store.read(from: 1, filter: EventFilter(), limit: nil) { _ in
                            count += 1
                            return true
                        }
                    }
                }
                guard count == n else { throw BenchError("read \(count) of \(n) events") }
                readOnly.append(Double(n) / tr)
                var p = Projections()
                var t = 0.0
                let c = try cpuTimed { t = try timed { p = try Projections.fold(store) } }
                guard p.state.position == Int64(n), !p.pipelines.pipelines.isEmpty else {
                    throw BenchError("fold reached position \(p.state.position) of \(n)")
                }
                all.append(Double(n) / t)
                var s = StateProjector()
                var ts = 0.0
                let cs = try cpuTimed { ts = try timed { s = try Projections.fold(StateProjector.self, store) } }
                guard s.position == Int64(n) else { throw BenchError("state fold reached \(s.position) of \(n)") }
                stateOnly.append(Double(n) / ts)
                note(
                    "projections \(rep)/\(config.repetitions): read only \(readOnly.last!.short)/s, all projectors \(all.last!.short)/s, "
                        + "state only \(stateOnly.last!.short)/s (\(p.pipelines.pipelines.count) pipelines); CPU per event: read only "
                        + "\(Int(cr * 1e9 / Double(n))) ns, all projectors \(Int(c * 1e9 / Double(n))) ns, state only \(Int(cs * 1e9 / Double(n))) ns")
            }
            report.line("fold_read_only", median(readOnly), "events/s")
            // The projectors alone: the same fold over events already decoded in memory.
            var decoded: [RecordedEvent] = []
            decoded.reserveCapacity(min(n, 200_000))
            try store.read(from: 1, filter: EventFilter(), limit: min(n, 200_000)) { e in
                decoded.append(e)
                return true
            }
            var inMemory: [Double] = []
            for _ in 1...config.repetitions {
                var p = Projections()
                let t = timed { for e in decoded { p.apply(e) } }
                note("in memory: \(Int(t * 1e9 / Double(decoded.count))) ns per event")
                guard p.state.position == Int64(decoded.count) else { throw BenchError("in-memory fold fell short") }
                inMemory.append(Double(decoded.count) / t)
            }
            decoded = []
            report.line("fold_all_projectors_in_memory", median(inMemory), "events/s")
            report.line("fold_all_projectors", median(all), "events/s")
            report.line("fold_state_projector", median(stateOnly), "events/s")

            // Point in time: the first call folds the whole log and leaves the snapshots; then
            // random positions start from the nearest one.
            let engine = PointInTime(store: store, snapshots: SnapshotDirectory(path: dir + "/store/snapshots"))
            var built: PointInTime.Result?
            let tBuild = try timed { built = try engine.state(at: Int64(n)) }
            report.line("state_snapshot_build", tBuild, "s")
            report.line("state_snapshot_bytes", Double(directoryBytes(dir + "/store/snapshots")), "bytes")
            report.line("state_store_bytes", Double(directoryBytes(dir + "/store/segments")), "bytes")
            note("state: \(built?.snapshotsWritten ?? 0) snapshots written in \(String(format: "%.2f", tBuild)) s")
            var rng = SplitMix64(seed: config.seed)
            var times: [Double] = []
            for _ in 0..<(config.quick ? 10 : 60) {
                let position = Int64(rng.next() % UInt64(n)) + 1
                var r: PointInTime.Result?
                let t = try timed { r = try engine.state(at: position) }
                guard let r, r.position == position, r.state.position == position else {
                    throw BenchError("state at \(position) reached \(r?.state.position ?? -1)")
                }
                times.append(t * 1000)
            }
            times.sort()
            report.line("state_at_random_position", median(times), "ms")
            report.line("state_at_random_position_p95", times[min(times.count - 1, times.count * 95 / 100)], "ms")

            // What `deploylog state --at position:N` pays as typed: open the store (from the index
            // checkpoint that a released store leaves), then the state. A first reader brings
            // the checkpoint up to the head (the writer above is still open).
            guard config.wants("state_at_random_position_fresh_store") else { return }
            let storePath = dir + "/store"
            do { _ = try FileStore.open(at: storePath) }
            var opened: [Double] = []
            for _ in 0..<(config.quick ? 3 : 10) {
                let position = Int64(rng.next() % UInt64(n)) + 1
                var r: PointInTime.Result?
                var fromCheckpoint: Int64?
                let t = try timed {
                    let reader = try FileStore.open(at: storePath)
                    fromCheckpoint = reader.indexCheckpointLoaded
                    r = try PointInTime(store: reader, snapshots: SnapshotDirectory(path: storePath + "/snapshots")).state(at: position)
                }
                guard let r, r.state.position == position, fromCheckpoint == Int64(n) else {
                    throw BenchError("state at \(position) with open: reached \(r?.state.position ?? -1), checkpoint \(fromCheckpoint ?? -1)")
                }
                opened.append(t * 1000)
            }
            report.line("state_at_random_position_fresh_store", median(opened), "ms")
        }
    }
}
