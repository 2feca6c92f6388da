/// `numeric` in binary (`numeric_send`): digit count, weight (of the first digit, in powers of
/// 10,000), sign, display scale, then base-10,000 digits. Converted from and to decimal text
/// so no value is rounded through a `Double`.
enum PostgresNumeric {
    static let positive: UInt16 = 0x0000
    static let negative: UInt16 = 0x4000
    static let nan: UInt16 = 0xC000
    static let plusInfinity: UInt16 = 0xD000
    static let minusInfinity: UInt16 = 0xF000

    /// Appends `text` (`-12.340`, `7`, `.5`, `NaN`, `Infinity`, `-Infinity`) in binary.
    static func append(_ text: String, to buffer: inout [UInt8]) throws {
        func header(_ digits: Int, _ weight: Int, _ sign: UInt16, _ scale: Int) {
            buffer.appendBigEndian(Int16(digits))
            buffer.appendBigEndian(Int16(weight))
            buffer.appendBigEndian(sign)
            buffer.appendBigEndian(Int16(scale))
        }
        switch text {
        case "NaN": return header(0, 0, nan, 0)
        case "Infinity", "+Infinity": return header(0, 0, plusInfinity, 0)
        case "-Infinity": return header(0, 0, minusInfinity, 0)
        default: break
        }
        var chars = Substring(text)
        var sign = positive
        if chars.first == "-" {
            sign = negative
            chars = chars.dropFirst()
        } else if chars.first == "+" {
            chars = chars.dropFirst()
        }
        let parts = chars.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integer = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(integer.isEmpty && fraction.isEmpty), (integer + fraction).allSatisfy({ $0.isASCII && $0.isNumber }),
            fraction.count <= 16383
        else { throw PostgresError(.client, "not a decimal number: \(text.prefix(40))") }
        let scale = fraction.count
        // Pad to whole groups of four digits on both sides of the point.
        let integerDigits = String(repeating: "0", count: (4 - integer.count % 4) % 4) + String(integer)
        let fractionDigits = String(fraction) + String(repeating: "0", count: (4 - fraction.count % 4) % 4)
        var groups: [Int16] = []
        for digits: String in [integerDigits, fractionDigits] {
            var index = digits.startIndex
            while index < digits.endIndex {
                let next = digits.index(index, offsetBy: 4)
                groups.append(Int16(digits[index..<next])!)
                index = next
            }
        }
        var weight = integerDigits.count / 4 - 1
        while let first = groups.first, first == 0 {
            groups.removeFirst()
            weight -= 1
        }
        while let last = groups.last, last == 0 { groups.removeLast() }
        if groups.isEmpty { return header(0, 0, positive, scale) }
        guard groups.count <= Int(Int16.max), weight <= Int(Int16.max) else {
            throw PostgresError(.client, "decimal number out of range")
        }
        header(groups.count, weight, sign, scale)
        for group in groups { buffer.appendBigEndian(group) }
    }

    /// The decimal text of a binary numeric, as PostgreSQL prints it (with `dscale` fraction digits).
    static func text(_ bytes: UnsafeRawBufferPointer) throws -> String {
        guard bytes.count >= 8 else { throw PostgresError(.client, "numeric field of \(bytes.count) bytes") }
        func int16(_ offset: Int) -> Int16 {
            Int16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self))
        }
        let count = Int(int16(0))
        let weight = Int(int16(2))
        let sign = UInt16(bitPattern: int16(4))
        let scale = Int(int16(6))
        switch sign {
        case nan: return "NaN"
        case plusInfinity: return "Infinity"
        case minusInfinity: return "-Infinity"
        default: break
        }
        guard bytes.count == 8 + 2 * count, count >= 0 else {
            throw PostgresError(.client, "numeric field of \(bytes.count) bytes for \(count) digits")
        }
        let digits = (0..<count).map { Int(int16(8 + 2 * $0)) }
        func digit(_ index: Int) -> Int { index >= 0 && index < count ? digits[index] : 0 }
        var text = sign == negative && count > 0 ? "-" : ""
        if weight < 0 {
            text += "0"
        } else {
            text += String(digit(0))
            for index in stride(from: 1, through: weight, by: 1) { text += padded(digit(index)) }
        }
        if scale > 0 {
            var fraction = ""
            var index = weight + 1
            while fraction.count < scale {
                fraction += padded(digit(index))
                index += 1
            }
            text += "." + fraction.prefix(scale)
        }
        return text
    }

    private static func padded(_ group: Int) -> String {
        let s = String(group)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}
