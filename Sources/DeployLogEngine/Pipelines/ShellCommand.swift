import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a shell command (`/bin/sh -c`) with a timeout, its output captured and bounded: what a
/// pipeline's `run` step and a blue-green pair's switch command do.
///
/// The command runs in its own process group, so that on timeout the whole group (the shell
/// and what it started) is sent SIGTERM, then SIGKILL two seconds later. Standard output and
/// error go, interleaved, to a temporary file; at most `outputLimit` bytes are kept (the first
/// quarter and the last three quarters, with a line saying how much was left out between).
public enum ShellCommand {
    public struct Result: Sendable, Equatable {
        /// The exit code, or 128 + the signal that ended it.
        public var status: Int32
        /// Output, bounded.
        public var output: String
        public var timedOut: Bool
        public var durationMs: Int64

        public var succeeded: Bool { status == 0 && !timedOut }

        /// `exit 3`, `killed by signal 9`, `timed out after 5 s`.
        public func failureText(timeoutSeconds: Double) -> String {
            if timedOut { return "timed out after \(Self.seconds(timeoutSeconds)) s" }
            if status > 128 { return "killed by signal \(status - 128)" }
            return "exit status \(status)"
        }

        static func seconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }
    }

    /// Bytes of output kept by default.
    public static let defaultOutputLimit = 16 * 1024

    /// Runs `command` and waits for it (blocking: call it off Swift's shared pool).
    ///
    /// - Parameters:
    ///   - environment: variables added to (or replacing those of) this process's environment.
    ///   - directory: the working directory (default: this process's).
    public static func run(
        _ command: String, timeoutSeconds: Double, environment: [String: String] = [:], directory: String? = nil,
        outputLimit: Int = defaultOutputLimit
    ) throws(EngineError) -> Result {
        let outputPath = FileManager.default.temporaryDirectory.path + "/deploylog-run-" + UUID().uuidString
        defer { unlink(outputPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let closeFrom = glibc("posix_spawn_file_actions_addclosefrom_np", CloseFrom.self) {
            _ = closeFrom(&actions, 3)
        }
        if let directory, let chdir = glibc("posix_spawn_file_actions_addchdir_np", ChangeDirectory.self) {
            _ = chdir(&actions, directory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp = env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        let arguments: [String] = ["/bin/sh", "-c", command]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }

        let clock = ContinuousClock()
        let started = clock.now
        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw EngineError(.internalError, "could not start /bin/sh: \(String(cString: strerror(spawned)))")
        }

        var status: Int32 = 0
        var timedOut = false
        var killedAt: ContinuousClock.Instant?
        var pause = 0.002
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 {
                if errno == EINTR { continue }
                throw EngineError(.internalError, "waitpid failed: errno \(errno)")
            }
            let elapsed = clock.now - started
            if !timedOut, elapsed > .milliseconds(Int64(timeoutSeconds * 1000)) {
                timedOut = true
                killedAt = clock.now
                kill(-pid, SIGTERM)
            } else if let k = killedAt, clock.now - k > .seconds(2) {
                kill(-pid, SIGKILL)
                killedAt = nil
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.05)
        }
        // Whatever the shell left running in its group goes with it.
        if timedOut { kill(-pid, SIGKILL) }
        let duration = clock.now - started
        let (s, attos) = duration.components
        let exited = status & 0x7f == 0
        return Result(
            status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
            output: boundedOutput(path: outputPath, limit: outputLimit), timedOut: timedOut,
            durationMs: s * 1000 + attos / 1_000_000_000_000_000)
    }

    /// The file's text, or its head and tail when longer than `limit` bytes.
    static func boundedOutput(path: String, limit: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()).map(Int.init) ?? 0
        try? handle.seek(toOffset: 0)
        if size <= limit {
            return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        }
        let headBytes = limit / 4
        let tailBytes = limit - headBytes
        let head = (try? handle.read(upToCount: headBytes)) ?? Data()
        try? handle.seek(toOffset: UInt64(size - tailBytes))
        let tail = (try? handle.readToEnd()) ?? Data()
        return String(decoding: head, as: UTF8.self)
            + "\n[… \(size - headBytes - tailBytes) bytes of output left out …]\n"
            + String(decoding: tail, as: UTF8.self)
    }

    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// glibc's extensions (2.34+), looked up because Swift's Glibc module does not declare them.
    private static func glibc<F>(_ name: String, _: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }
}
