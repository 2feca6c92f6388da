import DeployLogEvents

/// Indented JSON for people: the canonical member order and string escaping, two spaces per
/// level, one member or element per line.
enum PrettyJSON {
    static func string(_ value: JSONValue) -> String {
        var w = CanonicalJSONWriter(reservingCapacity: 1024)
        write(value, indent: 0, into: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private static func write(_ value: JSONValue, indent: Int, into w: inout CanonicalJSONWriter) {
        switch value {
        case .object(let o) where !o.isEmpty:
            w.bytes.append(UInt8(ascii: "{"))
            for (i, m) in o.members.enumerated() {
                if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
                newline(indent + 1, into: &w)
                w.writeString(m.key)
                w.writeASCII(": ")
                write(m.value, indent: indent + 1, into: &w)
            }
            newline(indent, into: &w)
            w.bytes.append(UInt8(ascii: "}"))
        case .array(let a) where !a.isEmpty:
            w.bytes.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
                newline(indent + 1, into: &w)
                write(v, indent: indent + 1, into: &w)
            }
            newline(indent, into: &w)
            w.bytes.append(UInt8(ascii: "]"))
        default:
            w.write(value)
        }
    }

    private static func newline(_ indent: Int, into w: inout CanonicalJSONWriter) {
        w.bytes.append(0x0A)
        w.bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }
}
