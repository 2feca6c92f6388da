import DeployLogEvents

/// The binary form of a `StateProjector` state, for snapshots.
///
/// Layout: the magic `DLSTATE\0`, a little-endian u32 format version, then varint-framed
/// fields (strings as length + UTF-8; JSON objects as their canonical text). Compact and fast to
/// load: loading is what `state --at` pays on every call.
enum StateSnapshotCodec {
    static let magic: [UInt8] = Array("DLSTATE\0".utf8)
    static let formatVersion: UInt32 = 1

    static func encode(_ s: StateProjector) -> [UInt8] {
        var w = BinaryWriter()
        w.bytes.append(contentsOf: magic)
        w.u32(formatVersion)
        w.varint(s.position)
        w.optionalTime(s.lastOccurredAt)
        // Sorted keys: the same state always gives the same bytes.
        let envNames = s.environments.keys.sorted(by: JSONObject.keyPrecedes)
        w.varint(Int64(envNames.count))
        for name in envNames {
            let e = s.environments[name]!
            w.string(name)
            if let c = e.configuration {
                w.byte(1)
                w.json(.object(c))
            } else {
                w.byte(0)
            }
            w.byte(e.isActive ? 1 : 0)
            w.varint(Int64(e.applied.count))
            for m in e.appliedInOrder {
                w.string(m.name)
                w.string(m.version)
                w.varint(m.appliedAt.microseconds)
                w.varint(m.position)
            }
            w.map(e.registeredVersions)
            if let p = e.lastPipeline {
                w.byte(1)
                w.string(p.pipelineId)
                w.string(p.pipelineVersion)
                w.string(p.status)
                w.varint(p.startedAt.microseconds)
                w.optionalTime(p.completedAt)
            } else {
                w.byte(0)
            }
            w.strings(e.runningPipelines)
            w.strings(e.runningMigrations)
            w.strings(e.runningRollbacks)
        }
        let pairs = s.blueGreen.keys.sorted(by: JSONObject.keyPrecedes)
        w.varint(Int64(pairs.count))
        for name in pairs {
            let bg = s.blueGreen[name]!
            w.string(name)
            w.string(bg.activeColor)
            w.string(bg.status)
            w.optionalString(bg.activeVersion)
            w.json(.object(bg.lastHealthChecks))
        }
        w.map(s.pipelineEnvironments)
        w.map(s.rollbackEnvironments)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> StateProjector {
        try bytes.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            guard try r.take(magic.count).elementsEqual(magic) else { throw SnapshotError("not a state snapshot") }
            guard try r.u32() == formatVersion else { throw SnapshotError("unknown state snapshot format") }
            var s = StateProjector()
            s.position = try r.varint()
            s.lastOccurredAt = try r.optionalTime()
            let envCount = try r.count()
            for _ in 0..<envCount {
                var e = StateProjector.Environment(name: try r.string())
                if try r.byte() == 1 { e.configuration = try r.json().objectValue }
                e.isActive = try r.byte() == 1
                let applied = try r.count()
                e.applied.reserveCapacity(applied)
                for _ in 0..<applied {
                    let m = StateProjector.AppliedMigration(
                        name: try r.string(), version: try r.string(),
                        appliedAt: Timestamp(microsecondsSinceEpoch: try r.varint()), position: try r.varint())
                    e.applied[m.name] = m
                }
                e.registeredVersions = try r.map()
                if try r.byte() == 1 {
                    e.lastPipeline = StateProjector.PipelineSummary(
                        pipelineId: try r.string(), pipelineVersion: try r.string(), status: try r.string(),
                        startedAt: Timestamp(microsecondsSinceEpoch: try r.varint()), completedAt: try r.optionalTime())
                }
                e.runningPipelines = try r.strings()
                e.runningMigrations = try r.strings()
                e.runningRollbacks = try r.strings()
                s.environments[e.name] = e
            }
            let pairCount = try r.count()
            for _ in 0..<pairCount {
                var bg = StateProjector.BlueGreen(
                    deploymentName: try r.string(), activeColor: try r.string(), status: try r.string())
                bg.activeVersion = try r.optionalString()
                bg.lastHealthChecks = try r.json().objectValue ?? JSONObject()
                s.blueGreen[bg.deploymentName] = bg
            }
            s.pipelineEnvironments = try r.map()
            s.rollbackEnvironments = try r.map()
            guard r.isAtEnd else { throw SnapshotError("trailing bytes in state snapshot") }
            return s
        }
    }
}

/// A snapshot that cannot be used (damaged, another format or version): it is ignored and the
/// state is folded from the log instead.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Binary framing

struct BinaryWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func u32(_ v: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    /// Zig-zag LEB128.
    mutating func varint(_ v: Int64) {
        var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        while u >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: u) | 0x80)
            u >>= 7
        }
        bytes.append(UInt8(u))
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { p in
            varint(Int64(p.count))
            bytes.append(contentsOf: p)
        }
    }

    mutating func optionalString(_ s: String?) {
        if let s {
            byte(1)
            string(s)
        } else {
            byte(0)
        }
    }

    mutating func optionalTime(_ t: Timestamp?) {
        if let t {
            byte(1)
            varint(t.microseconds)
        } else {
            byte(0)
        }
    }

    mutating func strings(_ a: [String]) {
        varint(Int64(a.count))
        for s in a { string(s) }
    }

    mutating func map(_ m: [String: String]) {
        let keys = m.keys.sorted(by: JSONObject.keyPrecedes)
        varint(Int64(keys.count))
        for k in keys {
            string(k)
            string(m[k]!)
        }
    }

    mutating func json(_ v: JSONValue) {
        var w = CanonicalJSONWriter(reservingCapacity: 256)
        w.write(v)
        varint(Int64(w.bytes.count))
        bytes.append(contentsOf: w.bytes)
    }
}

struct BinaryReader {
    let base: UnsafeRawBufferPointer
    var offset = 0

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var isAtEnd: Bool { offset == base.count }

    mutating func take(_ n: Int) throws(SnapshotError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= base.count - offset else { throw SnapshotError("truncated state snapshot") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + n])
    }

    mutating func byte() throws(SnapshotError) -> UInt8 { try take(1)[0] }

    mutating func u32() throws(SnapshotError) -> UInt32 {
        let p = try take(4)
        return UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
    }

    mutating func varint() throws(SnapshotError) -> Int64 {
        var u: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard shift < 64 else { throw SnapshotError("bad varint in state snapshot") }
            let b = try byte()
            u |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
        }
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    mutating func count() throws(SnapshotError) -> Int {
        let n = try varint()
        guard n >= 0, n <= base.count else { throw SnapshotError("bad count in state snapshot") }
        return Int(n)
    }

    mutating func string() throws(SnapshotError) -> String {
        String(decoding: try take(try count()), as: UTF8.self)
    }

    mutating func optionalString() throws(SnapshotError) -> String? { try byte() == 1 ? try string() : nil }

    mutating func optionalTime() throws(SnapshotError) -> Timestamp? {
        try byte() == 1 ? Timestamp(microsecondsSinceEpoch: try varint()) : nil
    }

    mutating func strings() throws(SnapshotError) -> [String] {
        let n = try count()
        var a = [String]()
        a.reserveCapacity(n)
        for _ in 0..<n { a.append(try string()) }
        return a
    }

    mutating func map() throws(SnapshotError) -> [String: String] {
        let n = try count()
        var m = [String: String](minimumCapacity: n)
        for _ in 0..<n { m[try string()] = try string() }
        return m
    }

    mutating func json() throws(SnapshotError) -> JSONValue {
        let p = try take(try count())
        do { return try JSONParser.parse(p) } catch { throw SnapshotError("bad JSON in state snapshot") }
    }
}
