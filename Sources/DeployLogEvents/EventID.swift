/// A producer-chosen event identifier: a UUID, held as its 128 bits; its text is the canonical
/// lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
public struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The first and last 64 bits, big-endian.
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Accepts any UUID in 8-4-4-4-12 hex form, upper or lower case.
    public init?(_ string: String) {
        var s = string
        guard let v = s.withUTF8({ EventID.parse($0) }) else { return nil }
        self = v
    }

    static func parse(_ u: UnsafeBufferPointer<UInt8>) -> EventID? {
        guard u.count == 36, let p = u.baseAddress, p[8] == 45, p[13] == 45, p[18] == 45, p[23] == 45 else { return nil }
        // Without a branch per digit (digits and letters alternate at random in a UUID).
        var bad = false
        @inline(__always) func nibble(_ c: UInt8) -> UInt64 {
            let digit = c &- 48
            let letter = (c | 0x20) &- 97
            let isDigit = digit < 10
            bad = bad || !(isDigit || letter < 6)
            return UInt64(isDigit ? digit : letter &+ 10)
        }
        @inline(__always) func hex(_ from: Int, _ count: Int, _ v: inout UInt64) {
            for k in from..<(from + count) { v = v << 4 | nibble(p[k]) }
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        hex(0, 8, &hi)
        hex(9, 4, &hi)
        hex(14, 4, &hi)
        hex(19, 4, &lo)
        hex(24, 12, &lo)
        return bad ? nil : EventID(high: hi, low: lo)
    }

    /// Builds a UUID (version 4 layout, or version 5 layout when `nameBased`) from 16 bytes.
    public init<B: Collection>(bytes: B, nameBased: Bool = false) where B.Element == UInt8 {
        precondition(bytes.count >= 16)
        var b = Array(bytes.prefix(16))
        b[6] = (b[6] & 0x0F) | (nameBased ? 0x50 : 0x40)
        b[8] = (b[8] & 0x3F) | 0x80
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(b[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(b[i]) }
        self.init(high: hi, low: lo)
    }

    /// A random (version 4) identifier.
    public static func random() -> EventID {
        var g = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &g) }
        return EventID(bytes: bytes)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends the 36 bytes of the canonical text.
    public func append(to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(45, count: 36))
        out.withUnsafeMutableBufferPointer { o in
            EventID.hexDigits.withUnsafeBufferPointer { hex in
                var at = start
                for nibble in 0..<32 {
                    if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { at += 1 }
                    let word = nibble < 16 ? high : low
                    let shift = UInt64(60 - (nibble % 16) * 4)
                    o[at] = hex[Int((word >> shift) & 0xF)]
                    at += 1
                }
            }
        }
    }

    /// Lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    public var text: String {
        var out = [UInt8]()
        out.reserveCapacity(36)
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { text }
    public static func < (a: EventID, b: EventID) -> Bool { (a.high, a.low) < (b.high, b.low) }

    // Written out (as derived) and inlinable: the store's dictionaries of ids, in another module,
    // hash and compare one on every append and every event indexed.
    @inlinable
    public static func == (a: EventID, b: EventID) -> Bool { a.high == b.high && a.low == b.low }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(high)
        hasher.combine(low)
    }
}

/// What a writer expects of a stream before its append.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// No check.
    case any
    /// The stream must not exist yet (`-1` on the wire).
    case noStream
    /// The stream's last `streamVersion` must be exactly this.
    case exact(Int64)

    public init(wire: Int64?) {
        guard let wire else { self = .any; return }
        self = wire == -1 ? .noStream : .exact(wire)
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "-1 (no stream)"
        case .exact(let v): String(v)
        }
    }
}
