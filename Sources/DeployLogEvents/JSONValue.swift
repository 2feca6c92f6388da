/// A JSON value as deploylog stores it: objects keep their members sorted in canonical order
/// (by the UTF-8 bytes of the key, which is Unicode code point order), numbers keep their
/// canonical text, so that encoding a value is deterministic and unknown fields survive
/// a decode/encode round trip unchanged.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number, held as its canonical text.
///
/// Integers (no fraction, no exponent) keep their digits exactly, whatever their size
/// (`-0` becomes `0`). Any other number is read as an IEEE double and written the way
/// Python's `repr(float)` writes it (shortest round-trip digits; exponent form below 1e-4 and
/// from 1e16), so `json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
/// reproduces our canonical bytes.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The canonical text of the number.
    public let text: String
    /// True when the number was written without fraction or exponent.
    public let isInteger: Bool

    /// Trusted initialiser: `text` must already be canonical.
    package init(canonicalText: String, isInteger: Bool) {
        self.text = canonicalText
        self.isInteger = isInteger
    }

    public init(_ value: Int64) {
        self.init(canonicalText: String(value), isInteger: true)
    }

    public init(_ value: Int) {
        self.init(canonicalText: String(value), isInteger: true)
    }

    public init(_ value: Double) {
        self.init(canonicalText: JSONNumber.canonicalText(for: value), isInteger: false)
    }

    /// The value as an `Int64`, if it is an integer that fits.
    public var int64Value: Int64? { isInteger ? Int64(text) : nil }

    /// The value as a `Double` (integers too).
    public var doubleValue: Double? { Double(text) }

    public var description: String { text }
}

/// A JSON object whose members are kept sorted by key in canonical order; keys are unique.
public struct JSONObject: Sendable, Hashable, Sequence {
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// Members in canonical order (ascending UTF-8 bytes of the key).
    public private(set) var members: [Member]

    public init() { members = [] }

    /// Builds an object from members in any order; a later duplicate key replaces an earlier one.
    public init(_ pairs: [(String, JSONValue)]) {
        members = []
        members.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// Trusted initialiser: `members` must be sorted canonically with unique keys.
    package init(sortedMembers: [Member]) {
        members = sortedMembers
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    /// Canonical key order: ascending by UTF-8 bytes.
    @inlinable
    public static func keyPrecedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The index of `key` found by a scan (-1: absent); nil when the key's bytes are not
    /// contiguous (the caller then searches).
    @inline(__always)
    func smallObjectIndex(of key: String) -> Int? {
        let n = key.utf8.count
        return key.utf8.withContiguousStorageIfAvailable { k -> Int in
            for i in members.indices where members[i].key.utf8.count == n {
                let equal = members[i].key.utf8.withContiguousStorageIfAvailable { m in JSONObject.bytesEqual(m, k) }
                if equal ?? _utf8Equal(members[i].key, k) { return i }
            }
            return -1
        }
    }

    /// Whether two buffers of the same length hold the same bytes (inline: keys are short).
    @inline(__always)
    static func bytesEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count == b.count }
        let n = a.count
        var i = 0
        while i + 8 <= n {
            if UnsafeRawPointer(pa + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(pb + i).loadUnaligned(as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if pa[i] != pb[i] { return false }
            i += 1
        }
        return true
    }

    @usableFromInline
    func index(of key: String) -> (found: Bool, index: Int) {
        var lo = 0
        var hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            // Compare bytes: String's `==` is canonical equivalence, which would conflate keys
            // such as "\u{E9}" and "e\u{301}" that JSON (and the sort order) keep apart.
            let c = _compareUTF8(members[mid].key, key)
            if c == 0 { return (true, mid) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }

    public subscript(key: String) -> JSONValue? {
        get {
            // A small object (an event's data): a scan comparing only keys of the same length,
            // cheaper than the binary search's comparisons of whole keys.
            if members.count <= 16, let hit = smallObjectIndex(of: key) {
                return hit < 0 ? Optional.none : members[hit].value
            }
            let (found, i) = index(of: key)
            // Not `found ? value : nil`: JSONValue is ExpressibleByNilLiteral, so that `nil`
            // would become `.null` and a missing key would read as present.
            guard found else { return Optional.none }
            return members[i].value
        }
        set {
            let (found, i) = index(of: key)
            if let newValue {
                if found { members[i].value = newValue } else { members.insert(Member(key: key, value: newValue), at: i) }
            } else if found {
                members.remove(at: i)
            }
        }
    }

    /// Removes and returns the value for `key`.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        let (found, i) = index(of: key)
        guard found else { return nil }
        return members.remove(at: i).value
    }
}

extension JSONValue {
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
