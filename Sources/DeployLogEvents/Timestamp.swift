#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant in UTC with microsecond precision, as the log records it.
///
/// Its canonical text is `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six fraction digits.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    public init(microsecondsSinceEpoch: Int64) { self.microseconds = microsecondsSinceEpoch }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    public var description: String { canonicalText }

    /// The current time from the system's real-time clock.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microsecondsSinceEpoch: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000)
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    public var canonicalText: String {
        var buf = [UInt8](repeating: 0, count: 27)
        write(into: &buf, at: 0)
        return String(decoding: buf, as: UTF8.self)
    }

    /// Appends the 27 bytes of the canonical text.
    public func append(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 27))
        write(into: &bytes, at: start)
    }

    /// Writes the 27 bytes of the canonical text to `p`.
    public func write(to p: UnsafeMutablePointer<UInt8>) {
        let (secs, micros) = microseconds.floorDivMod(1_000_000)
        let (days, secOfDay) = secs.floorDivMod(86_400)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        @inline(__always) func put(_ v: Int64, _ width: Int, _ at: Int) {
            var v = v
            var i = at + width - 1
            while i >= at {
                p[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
                i -= 1
            }
        }
        put(y, 4, 0); p[4] = 45
        put(m, 2, 5); p[7] = 45
        put(d, 2, 8); p[10] = 84
        put(secOfDay / 3600, 2, 11); p[13] = 58
        put(secOfDay / 60 % 60, 2, 14); p[16] = 58
        put(secOfDay % 60, 2, 17); p[19] = 46
        put(micros, 6, 20); p[26] = 90
    }

    private func write(into b: inout [UInt8], at o: Int) {
        b.withUnsafeMutableBufferPointer { write(to: $0.baseAddress! + o) }
    }

    /// Parses an ISO 8601 / RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    /// A fraction finer than microseconds is accepted only if the extra digits are zeros;
    /// nothing is silently rounded.
    public init?(iso8601 text: String) {
        var s = text
        guard let r = s.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self.microseconds = r
    }

    /// Parses the UTF-8 bytes of an RFC 3339 date-time (as `init(iso8601:)`).
    public init?(iso8601Bytes bytes: UnsafeRawBufferPointer) {
        guard let r = Timestamp.parse(bytes) else { return nil }
        self.microseconds = r
    }

    /// Parses exactly the 27-byte canonical text, `YYYY-MM-DDTHH:MM:SS.ffffffZ` — the form the
    /// store writes — without the general parser's alternatives; nil for anything else (which
    /// `init(iso8601Bytes:)` may still accept).
    package init?(canonicalBytes p: UnsafeRawBufferPointer) {
        guard p.count == 27, p[4] == 45, p[7] == 45, p[10] == 84, p[13] == 58, p[16] == 58, p[19] == 46, p[26] == 90
        else { return nil }
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for k in at..<(at + count) {
                let d = p[k] &- 48
                guard d < 10 else { return nil }
                v = v &* 10 &+ Int64(d)
            }
            return v
        }
        guard let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2), let h = digits(11, 2),
            let mi = digits(14, 2), let se = digits(17, 2), let micros = digits(20, 6),
            mo >= 1, mo <= 12, d >= 1, d <= Timestamp.daysIn(month: mo, year: y), h <= 23, mi <= 59, se <= 59
        else { return nil }
        let days = Timestamp.daysFromCivil(y, mo, d)
        self.microseconds = (days * 86_400 + h * 3600 + mi * 60 + se) * 1_000_000 + micros
    }

    private static func parse(_ p: UnsafeRawBufferPointer) -> Int64? {
        let n = p.count
        var i = 0
        func digits(_ count: Int) -> Int64? {
            guard i + count <= n else { return nil }
            var v: Int64 = 0
            for _ in 0..<count {
                let c = p[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
                i += 1
            }
            return v
        }
        func expect(_ c: UInt8, _ alt: UInt8? = nil) -> Bool {
            guard i < n, p[i] == c || p[i] == alt else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2),
            expect(84, 116), let h = digits(2), expect(58), let mi = digits(2), expect(58), let se = digits(2)
        else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y), h <= 23, mi <= 59, se <= 59 else { return nil }
        var micros: Int64 = 0
        if i < n, p[i] == 46 {
            i += 1
            var count = 0
            while i < n, p[i] >= 48, p[i] <= 57 {
                let dgt = Int64(p[i] - 48)
                if count < 6 { micros = micros * 10 + dgt } else if dgt != 0 { return nil }
                count += 1
                i += 1
            }
            guard count >= 1, count <= 9 else { return nil }
            if count < 6 { for _ in count..<6 { micros *= 10 } }
        }
        var offset: Int64 = 0
        guard i < n else { return nil }
        if p[i] == 90 || p[i] == 122 {
            i += 1
        } else if p[i] == 43 || p[i] == 45 {
            let sign: Int64 = p[i] == 43 ? 1 : -1
            i += 1
            guard let oh = digits(2), expect(58), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(y, mo, d)
        return ((days * 86_400 + h * 3600 + mi * 60 + se) - offset) * 1_000_000 + micros
    }

    private static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

extension Int64 {
    @inline(__always)
    fileprivate func floorDivMod(_ d: Int64) -> (Int64, Int64) {
        let q = self / d
        let r = self % d
        return r < 0 ? (q - 1, r + d) : (q, r)
    }
}
