import DeployLogEvents
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What to run, from the command line.
struct BenchConfig {
    var quick = false
    var filter: String?
    var repetitions = 5
    /// Events of the batched-append / replay / open / verify / CLI-ingest store.
    var storeEvents = 200_000
    /// Events appended one per call with an fsync each (and raw write+fsync records).
    var fsyncEvents = 2_000
    /// Events appended by the concurrent appenders, in total.
    var threadedEvents = 4_000
    var threads = 8
    /// Events of the projection store (folds, point-in-time state).
    var projectionEvents = 1_000_000
    var seed: UInt64 = 1

    mutating func makeQuick() {
        quick = true
        repetitions = 1
        storeEvents = 5_000
        fsyncEvents = 200
        threadedEvents = 400
        projectionEvents = 5_000
    }

    /// Whether the figure `name` is wanted.
    func wants(_ name: String) -> Bool { filter.map { name.contains($0) } ?? true }
}

enum BenchCommand {
    static let usage = """
        usage: deploylog-bench [--quick] [--filter NAME] [--reps N] [--events N] [--seed S]
               deploylog-bench --emit-sample PIPELINES [--seed S]
               deploylog-bench --list

          --quick          small sizes and one repetition (a smoke test, not figures)
          --filter NAME    only the figures whose name contains NAME
          --reps N         repetitions per figure (default 5; the median is printed)
          --events N       events in the batched/replay/verify/ingest store (default 200000)
          --projection-events N  events in the projection store (default 1000000)
          --seed S         seed of the sample history (default 1)
          --emit-sample P  print a sample deployment history of P pipelines as NDJSON
                           (`deploylog append` input) and exit
          --list           print the names of the figures and exit

        Output: `name value unit` lines on stdout; progress on stderr.
        """

    static func main(_ arguments: [String]) -> Int32 {
        var config = BenchConfig()
        var emit: Int?
        var list = false
        var explicitReps: Int?
        var explicitEvents: Int?
        var explicitProjectionEvents: Int?
        var i = 0
        func value(_ flag: String) -> String? {
            i += 1
            guard i < arguments.count else { note("\(flag) needs a value"); return nil }
            return arguments[i]
        }
        while i < arguments.count {
            let arg = arguments[i]
            switch arg {
            case "--quick": config.makeQuick()
            case "--filter":
                guard let v = value(arg) else { return 64 }
                config.filter = v
            case "--reps":
                guard let v = value(arg), let n = Int(v), n >= 1 else {
                    note("--reps needs a positive integer"); return 64
                }
                explicitReps = n
            case "--events":
                guard let v = value(arg), let n = Int(v), n >= 1_000 else {
                    note("--events needs an integer >= 1000"); return 64
                }
                explicitEvents = n
            case "--projection-events":
                guard let v = value(arg), let n = Int(v), n >= 1_000 else {
                    note("--projection-events needs an integer >= 1000"); return 64
                }
                explicitProjectionEvents = n
            case "--seed":
                guard let v = value(arg), let n = UInt64(v) else {
                    note("--seed needs a non-negative integer"); return 64
                }
                config.seed = n
            case "--emit-sample":
                guard let v = value(arg), let n = Int(v), n >= 0 else {
                    note("--emit-sample needs a number of pipelines"); return 64
                }
                emit = n
            case "--list": list = true
            case "-h", "--help":
                print(usage)
                return 0
            default:
                note("unknown argument \(arg)\n\(usage)")
                return 64
            }
            i += 1
        }
        if let explicitReps { config.repetitions = explicitReps }
        if let explicitEvents { config.storeEvents = explicitEvents }
        if let explicitProjectionEvents { config.projectionEvents = explicitProjectionEvents }

        if let emit {
            let text = SampleHistory.ndjson(SampleHistory.generate(pipelines: emit, seed: config.seed))
            FileHandle.standardOutput.write(Data(text.utf8))
            return 0
        }
        if list {
            for group in Benchmarks.groups { for name in group.names { print(name) } }
            return 0
        }
        do {
            try Benchmarks(config: config).run()
            return 0
        } catch {
            note("deploylog-bench: \(error)")
            return 1
        }
    }
}

/// A line of progress or a note, on stderr.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A failed check or operation: the benchmark stops with exit status 1.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
