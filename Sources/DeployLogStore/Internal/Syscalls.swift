#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every raw system call of the file store, each retried on EINTR and turned into a Swift
/// error naming the call and the path.
enum Sys {
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var path: String
        var errno: Int32
        var description: String { "\(call)(\(path)): \(String(cString: strerror(errno)))" }
    }

    @inline(__always)
    static func retry<T: BinaryInteger>(_ call: String, _ path: String, _ body: () -> T) throws(Failure) -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e == EINTR { continue }
            throw Failure(call: call, path: path, errno: e)
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(Failure) -> Int32 {
        try retry("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Reads up to `count` bytes at `offset`; short only at end of file.
    static func pread(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64, path: String) throws(Failure) -> Int {
        var done = 0
        while done < count {
            let n = try retry("pread", path) { Glibc.pread(fd, buf + done, count - done, off_t(offset) + off_t(done)) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func pwriteAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, _ offset: Int64, path: String) throws(Failure) {
        var done = 0
        while done < buf.count {
            let n = try retry("pwrite", path) {
                Glibc.pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(offset) + off_t(done))
            }
            done += n
        }
    }

    static func fdatasync(_ fd: Int32, path: String) throws(Failure) {
        _ = try retry("fdatasync", path) { Glibc.fdatasync(fd) }
    }

    static func fsync(_ fd: Int32, path: String) throws(Failure) {
        _ = try retry("fsync", path) { Glibc.fsync(fd) }
    }

    static func fsyncDirectory(_ path: String) throws(Failure) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func ftruncate(_ fd: Int32, _ size: Int64, path: String) throws(Failure) {
        _ = try retry("ftruncate", path) { Glibc.ftruncate(fd, off_t(size)) }
    }

    static func fileSize(_ fd: Int32, path: String) throws(Failure) -> Int64 {
        var st = stat()
        _ = try retry("fstat", path) { Glibc.fstat(fd, &st) }
        return Int64(st.st_size)
    }

    /// Takes an exclusive advisory lock; `wait` false returns false when another holds it.
    static func lockExclusive(_ fd: Int32, wait: Bool, path: String) throws(Failure) -> Bool {
        while true {
            if flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0 { return true }
            let e = errno
            if e == EINTR { continue }
            if e == EWOULDBLOCK && !wait { return false }
            throw Failure(call: "flock", path: path, errno: e)
        }
    }

    static func unlock(_ fd: Int32) { _ = flock(fd, LOCK_UN) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func mkdir(_ path: String) throws(Failure) {
        if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST { throw Failure(call: "mkdir", path: path, errno: errno) }
    }

    static func unlink(_ path: String) throws(Failure) {
        _ = try retry("unlink", path) { Glibc.unlink(path) }
    }

    static func rename(_ from: String, _ to: String) throws(Failure) {
        _ = try retry("rename", from) { Glibc.rename(from, to) }
    }

    /// Maps `count` bytes of `fd` read-only (a private mapping).
    static func mapReadOnly(_ fd: Int32, _ count: Int, path: String) throws(Failure) -> UnsafeRawPointer {
        guard let p = Glibc.mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw Failure(call: "mmap", path: path, errno: errno)
        }
        return UnsafeRawPointer(p)
    }

    static func unmap(_ p: UnsafeRawPointer, _ count: Int) { _ = Glibc.munmap(UnsafeMutableRawPointer(mutating: p), count) }

    /// Names in a directory (without `.` and `..`).
    static func list(_ path: String) throws(Failure) -> [String] {
        guard let dir = opendir(path) else { throw Failure(call: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var out = [String]()
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
