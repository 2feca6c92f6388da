import DeployLogPostgres
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU seconds (user and system, every thread) this process has used.
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

/// The machine's CPU time so far from `/proc/stat` (clock ticks): idle (with I/O wait) and
/// in all; nil where there is none. Two readings give the share of the cores left idle between.
func machineCPUTicks() -> (idle: Double, total: Double)? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
        let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
    else { return nil }
    let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard fields.count >= 5 else { return nil }
    return (fields[3] + fields[4], fields.prefix(8).reduce(0, +))
}

/// The share of the machine's cores idle between two `machineCPUTicks()` readings.
func idleShare(_ a: (idle: Double, total: Double)?, _ b: (idle: Double, total: Double)?) -> Double? {
    guard let a, let b, b.total > a.total else { return nil }
    return (b.idle - a.idle) / (b.total - a.total)
}

/// CPU seconds (every thread of the process) `body` takes: steadier than wall time on a
/// loaded machine, and what decoding on several cores costs in all.
func cpuTimed(_ body: () throws -> Void) rethrows -> Double {
    let start = processCPUSeconds()
    try body()
    return processCPUSeconds() - start
}

/// Seconds `body` takes.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicSeconds()
    try body()
    return monotonicSeconds() - start
}

func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty)
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// A fresh directory under /tmp, removed when `body` returns or throws.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/deploylog-bench.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
    guard made else { throw BenchError("cannot create a directory under /tmp: \(String(cString: strerror(errno)))") }
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Total bytes of the regular files under `path`.
func directoryBytes(_ path: String) -> Int {
    guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total = 0
    while let relative = walker.nextObject() as? String {
        var st = stat()
        if lstat(path + "/" + relative, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int(st.st_size) }
    }
    return total
}

/// Runs `body(t)` on `count` threads of their own (not a pool: every appender must block in
/// its own fsync at once), started together; returns the wall time from start to the last end.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Double {
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    for t in 0..<count {
        done.enter()
        let thread = Thread {
            ready.signal()
            go.wait()
            body(t)
            done.leave()
        }
        thread.start()
    }
    for _ in 0..<count { ready.wait() }
    let start = monotonicSeconds()
    for _ in 0..<count { go.signal() }
    done.wait()
    return monotonicSeconds() - start
}

/// Errors raised on other threads.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []
    func add(_ e: String) { lock.lock(); errors.append(e); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return errors.first }
}

/// Runs a program, its stdin from `stdinPath`, its stdout discarded; returns its exit status.
func runProgram(_ path: String, _ arguments: [String], stdinPath: String? = nil) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    if let stdinPath {
        guard let h = FileHandle(forReadingAtPath: stdinPath) else { throw BenchError("cannot read \(stdinPath)") }
        p.standardInput = h
    } else {
        p.standardInput = FileHandle.nullDevice
    }
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// The directory holding this executable (where `swift build` also puts `deploylog`).
func executableDirectory() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().path
}

/// Prints figures as `name value unit` lines, only those the filter wants.
struct Report {
    let config: BenchConfig

    func line(_ name: String, _ value: Double, _ unit: String) {
        guard config.wants(name) else { return }
        let text: String
        switch unit {
        case "ratio": text = String(format: "%.3f", value)
        case "bytes": text = String(format: "%.1f", value)
        case "s": text = String(format: "%.2f", value)
        default: text = String(Int(value.rounded()))
        }
        print("\(name) \(text) \(unit)")
        fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch
    }
}

extension Double {
    /// `123456.7` as `123.5k`, for progress lines.
    var short: String {
        self >= 1e6
            ? String(format: "%.2fM", self / 1e6)
            : self >= 1e3 ? String(format: "%.1fk", self / 1e3) : String(format: "%.1f", self)
    }
}

/// The PostgreSQL server of a benchmark group: `DEPLOYLOG_BENCH_DATABASE_URL` when it is set
/// (databases are created on it, dropped first if they exist), else a throwaway durable cluster
/// (`LocalPostgresCluster`, PostgreSQL's defaults: fsync on, synchronous commit), stopped and
/// removed by `stop()`.
struct BenchServer {
    let url: String
    let binDirectory: String
    private let cluster: LocalPostgresCluster?
    private var created: [String] = []

    init(label: String, settings: [String: String] = [:]) throws {
        if let external = ProcessInfo.processInfo.environment["DEPLOYLOG_BENCH_DATABASE_URL"], !external.isEmpty {
            url = external
            binDirectory = ""
            cluster = nil
            note("\(label): on DEPLOYLOG_BENCH_DATABASE_URL (\(PostgresURL.redacted(external)))")
        } else {
            let c = try LocalPostgresCluster.start(durable: true, settings: settings)
            cluster = c
            url = c.url
            binDirectory = c.binDirectory
            note("\(label): on a throwaway durable cluster (\(c.url))")
        }
    }

    func createDatabase(_ name: String) throws -> String {
        if let cluster { return try cluster.createDatabase(named: name) }
        let c = try PostgresConnection(url)
        _ = try c.execute(script: "DROP DATABASE IF EXISTS \(try PostgresIdentifier.quote(name)) WITH (FORCE)")
        _ = try c.execute(script: "CREATE DATABASE \(try PostgresIdentifier.quote(name))")
        return LocalPostgresCluster.url(url, database: name)
    }

    func stop() { cluster?.stop() }
}
