import Foundation

/// Runs `body` with a fresh empty directory that is removed afterwards.
public func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let base = FileManager.default.temporaryDirectory.path
    let dir = base + "/deploylog-test-" + UUID().uuidString.lowercased()
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// A clock that advances one millisecond per reading, from a fixed instant: deterministic tests.
public final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64

    public init(start: Int64 = 1_764_000_000_000_000) { now = start }

    public func read() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        now += 1_000
        return now
    }
}
