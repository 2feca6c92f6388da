import DeployLogEvents
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raw access to the three standard streams: unbuffered stderr lines, buffered stdout bytes,
/// all of stdin. stdout carries data only; messages and progress go to stderr.
enum StandardIO {
    static var stderrIsTerminal: Bool { isatty(2) == 1 }
    static var stdinIsTerminal: Bool { isatty(0) == 1 }
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Ends the process with `status`.
    static func terminate(_ status: Int32) -> Never {
        exit(status)
    }

    /// Writes `text` to stderr as it is.
    static func writeError(_ text: String) {
        writeAll(2, Array(text.utf8))
    }

    /// Writes one `deploylog: ` message line to stderr.
    static func reportError(_ message: String) {
        // One line, whatever the message holds.
        let flat = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        // Whatever said it (the argument parser echoing a stray URL, a library's error), a
        // password is never printed.
        writeError("deploylog: \(CredentialRedaction.mask(string: flat))\n")
    }

    /// Writes every byte of `bytes` to `fd`, retrying on EINTR and short writes. Gives up
    /// silently when the reader has gone (EPIPE): there is no one left to tell.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            guard var p = buf.baseAddress else { return }
            var left = buf.count
            while left > 0 {
                let n = write(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                p += n
                left -= n
            }
        }
    }

    /// Reads stdin to its end.
    static func readAllInput() throws(CLIError) -> [UInt8] {
        var out = [UInt8]()
        var st = stat()
        if fstat(0, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
            out.reserveCapacity(Int(st.st_size) + 1)
        }
        let chunk = 1 << 16
        while true {
            let before = out.count
            var failed: Int32 = 0
            out.append(contentsOf: repeatElement(0, count: chunk))
            let n = out.withUnsafeMutableBytes { buf -> Int in
                let r = read(0, buf.baseAddress! + before, chunk)
                if r < 0 { failed = errno }
                return r
            }
            out.removeSubrange((before + max(n, 0))...)
            if n < 0 {
                if failed == EINTR { continue }
                throw CLIError(.internalError, "cannot read stdin: \(String(cString: strerror(failed)))")
            }
            if n == 0 { return out }
        }
    }
}

/// Buffered stdout. Thread-safe, so a `--follow` subscription thread can write to it.
final class StandardOutput: @unchecked Sendable {
    static let shared = StandardOutput()

    private let lock = NSLock()
    private var buffer = [UInt8]()
    private let limit = 1 << 16

    private init() { buffer.reserveCapacity(limit) }

    func write(_ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(contentsOf: bytes)
        if buffer.count >= limit { flushLocked() }
    }

    func write(_ text: String) { write(Array(text.utf8)) }

    func flush() {
        lock.lock()
        defer { lock.unlock() }
        flushLocked()
    }

    private func flushLocked() {
        guard !buffer.isEmpty else { return }
        StandardIO.writeAll(1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A progress line on stderr (`\r`-rewritten), shown only when stderr is a terminal and the
/// work has gone on for `delay` seconds, redrawn at most ten times a second.
final class ProgressLine {
    private let enabled: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private let delay: UInt64
    private var lastDraw: UInt64 = 0
    private var drawn = false

    init(enabled: Bool, delay: Double = 0.5) {
        self.enabled = enabled && StandardIO.stderrIsTerminal
        self.delay = UInt64(delay * 1e9)
    }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - start >= delay, !drawn || now - lastDraw >= 100_000_000 else { return }
        lastDraw = now
        drawn = true
        StandardIO.writeError("\r\(text())\u{1B}[K")
    }

    /// Erases the line.
    func finish() {
        guard enabled, drawn else { return }
        StandardIO.writeError("\r\u{1B}[K")
        drawn = false
    }
}
