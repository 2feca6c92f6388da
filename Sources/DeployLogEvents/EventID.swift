/// A producer-chosen event identifier: a UUID, held in its canonical lowercase text form.
public struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    public let text: String

    /// Accepts any UUID in 8-4-4-4-12 hex form, upper or lower case.
    public init?(_ string: String) {
        let utf8 = Array(string.utf8)
        guard utf8.count == 36 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, c) in utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == 45 else { return nil }
                out.append(c)
                continue
            }
            switch c {
            case 48...57, 97...102: out.append(c)
            case 65...70: out.append(c + 32)
            default: return nil
            }
        }
        text = String(decoding: out, as: UTF8.self)
    }

    /// Builds a UUID (version 4 layout, or version 5 layout when `nameBased`) from 16 bytes.
    public init<B: Collection>(bytes: B, nameBased: Bool = false) where B.Element == UInt8 {
        precondition(bytes.count >= 16)
        var b = Array(bytes.prefix(16))
        b[6] = (b[6] & 0x0F) | (nameBased ? 0x50 : 0x40)
        b[8] = (b[8] & 0x3F) | 0x80
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(45) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        text = String(decoding: out, as: UTF8.self)
    }

    /// A random (version 4) identifier.
    public static func random() -> EventID {
        var g = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &g) }
        return EventID(bytes: bytes)
    }

    public var description: String { text }
    public static func < (a: EventID, b: EventID) -> Bool { a.text < b.text }
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
