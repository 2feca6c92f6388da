#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CDeployLogCRC
import DeployLogCompression
import DeployLogEvents

/// Snapshots of the point-in-time state, kept beside the log (a file store keeps them in its
/// `snapshots/` folder). They are only a cache: any of them can be deleted, and each is checked
/// before use (its checksum, its projector's name and version, and the log's chain hash at its
/// position, so a snapshot of another log or of a rewritten one is never used).
///
/// File name: `<projector>-v<version>-<position, 20 digits>.snap`. File: the magic
/// `DLSNAP01`, a little-endian CRC-32C of the rest, then the projector name, version, position
/// and chain hash (hex), the payload's size, then the payload (`StateSnapshotCodec`) compressed
/// with LZ4 (migration names repeat: about a quarter of the size, and decompressing costs little
/// beside decoding). Written to a temporary name, fsynced, then renamed: a crash leaves the old
/// set or the new one, never half a file.
public struct SnapshotDirectory: Sendable {
    public let path: String
    static let magic: [UInt8] = Array("DLSNAP01".utf8)

    public init(path: String) { self.path = path }

    public struct Entry: Sendable, Equatable {
        public var projector: String
        public var version: Int
        public var position: Int64
        public var fileName: String
    }

    /// Every snapshot file here, by position.
    public func entries() -> [Entry] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [Entry] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".snap") else { continue }
            let parts = name.dropLast(5).split(separator: "-")
            guard parts.count >= 3, let position = Int64(parts[parts.count - 1]), parts[parts.count - 2].first == "v",
                let version = Int(parts[parts.count - 2].dropFirst())
            else { continue }
            out.append(
                Entry(
                    projector: parts.dropLast(2).joined(separator: "-"), version: version, position: position,
                    fileName: name))
        }
        return out.sorted { $0.position < $1.position }
    }

    static func fileName(projector: String, version: Int, position: Int64) -> String {
        let digits = String(position)
        return "\(projector)-v\(version)-\(String(repeating: "0", count: max(0, 20 - digits.count)))\(digits).snap"
    }

    /// Writes a snapshot of `payload` (durably, atomically).
    public func save(projector: String, version: Int, position: Int64, hash: String, payload: [UInt8]) throws(SnapshotError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SnapshotError("cannot create \(path): \(errnoText())") }
        var w = BinaryWriter()
        w.string(projector)
        w.varint(Int64(version))
        w.varint(position)
        w.string(hash)
        w.varint(Int64(payload.count))
        LZ4Compressor(dictionary: nil).compress(payload, appendingTo: &w.bytes)
        var file = Self.magic
        let crc = w.bytes.withUnsafeBytes { deploylog_crc32c(0, $0.baseAddress, $0.count) }
        for i in 0..<4 { file.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))) }
        file.append(contentsOf: w.bytes)
        let name = Self.fileName(projector: projector, version: version, position: position)
        let final = "\(path)/\(name)"
        let temp = "\(path)/.\(name).\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SnapshotError("cannot write \(temp): \(errnoText())") }
        var ok = file.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp, final) == 0 else {
            let why = errnoText()
            unlink(temp)
            throw SnapshotError("cannot write \(final): \(why)")
        }
        let dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Reads and checks the snapshot `entry`: its checksum and header; returns the recorded chain
    /// hash and the payload.
    public func load(_ entry: Entry) throws -> (hash: String, payload: [UInt8]) {
        let file = try readFile("\(path)/\(entry.fileName)")
        guard file.count >= 12, file.prefix(8).elementsEqual(Self.magic) else {
            throw SnapshotError("\(entry.fileName): not a snapshot")
        }
        let stored = UInt32(file[8]) | UInt32(file[9]) << 8 | UInt32(file[10]) << 16 | UInt32(file[11]) << 24
        let crc = file.withUnsafeBytes { deploylog_crc32c(0, $0.baseAddress! + 12, $0.count - 12) }
        guard crc == stored else { throw SnapshotError("\(entry.fileName): checksum mismatch") }
        return try file.withUnsafeBytes { raw in
            var r = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[12...]))
            guard try r.string() == entry.projector, try r.varint() == Int64(entry.version),
                try r.varint() == entry.position
            else { throw SnapshotError("\(entry.fileName): header does not match its name") }
            let hash = try r.string()
            let declared = try r.varint()
            guard declared >= 0, declared <= 1 << 31 else { throw SnapshotError("\(entry.fileName): bad payload size") }
            let size = Int(declared)
            var payload = [UInt8]()
            do {
                try LZ4Decompressor(dictionaries: []).decompress(
                    UnsafeRawBufferPointer(rebasing: r.base[r.offset...]), uncompressedSize: size, dictionaryId: 0,
                    into: &payload)
            } catch {
                throw SnapshotError("\(entry.fileName): \(error)")
            }
            return (hash, payload)
        }
    }

    /// Deletes `entry` (a snapshot found stale or unusable).
    public func remove(_ entry: Entry) { unlink("\(path)/\(entry.fileName)") }

    private func readFile(_ file: String) throws(SnapshotError) -> [UInt8] {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError("cannot open \(file): \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SnapshotError("cannot stat \(file): \(errnoText())") }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        let ok = bytes.withUnsafeMutableBytes { raw -> Bool in
            var done = 0
            while done < size {
                let n = pread(fd, raw.baseAddress! + done, size - done, off_t(done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        guard ok else { throw SnapshotError("cannot read \(file): \(errnoText())") }
        return bytes
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
