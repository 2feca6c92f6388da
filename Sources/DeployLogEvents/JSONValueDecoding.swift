// MARK: - Decoding

/// Reading primitives out of a `JSONValue`, with the standard errors.
enum _Unbox {
    static func mismatch(
        _ type: Any.Type, expected: String, found value: JSONValue, codingPath: [any CodingKey]
    ) -> DecodingError {
        if value.isNull {
            return .valueNotFound(
                type, DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(expected), found null"))
        }
        return .typeMismatch(
            type,
            DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(expected), found \(value.typeName)"))
    }

    static func bool(_ v: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> Bool {
        if case .bool(let b) = v { return b }
        throw mismatch(Bool.self, expected: "boolean", found: v, codingPath: codingPath())
    }

    static func string(_ v: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> String {
        if case .string(let s) = v { return s }
        throw mismatch(String.self, expected: "string", found: v, codingPath: codingPath())
    }

    static func integer<T: FixedWidthInteger>(
        _ type: T.Type, _ v: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> T {
        guard case .number(let n) = v, n.isInteger else {
            throw mismatch(T.self, expected: "integer", found: v, codingPath: codingPath())
        }
        guard let r = T(n.text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath(), debugDescription: "integer \(n.text) does not fit in \(T.self)"))
        }
        return r
    }

    static func double(_ v: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard case .number(let n) = v else {
            throw mismatch(Double.self, expected: "number", found: v, codingPath: codingPath())
        }
        guard let d = Double(n.text), d.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath(), debugDescription: "number \(n.text) does not fit in Double"))
        }
        return d
    }

    static func float(_ v: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> Float {
        guard case .number(let n) = v else {
            throw mismatch(Float.self, expected: "number", found: v, codingPath: codingPath())
        }
        guard let f = Float(n.text), f.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath(), debugDescription: "number \(n.text) does not fit in Float"))
        }
        return f
    }

    /// Decodes any `Decodable`, skipping the decoder for JSON values and common primitives.
    static func decode<T: Decodable>(_ type: T.Type, from v: JSONValue, codingPath: @autoclosure () -> [any CodingKey])
        throws -> T
    {
        if T.self == JSONValue.self { return v as! T }
        if T.self == String.self { return try string(v, codingPath()) as! T }
        if T.self == Int.self { return try integer(Int.self, v, codingPath()) as! T }
        if T.self == Bool.self { return try bool(v, codingPath()) as! T }
        if T.self == Int64.self { return try integer(Int64.self, v, codingPath()) as! T }
        if T.self == Double.self { return try double(v, codingPath()) as! T }
        if T.self == JSONObject.self {
            guard case .object(let o) = v else {
                throw mismatch(JSONObject.self, expected: "object", found: v, codingPath: codingPath())
            }
            return o as! T
        }
        return try T(from: _JSONValueDecoderImpl(value: v, codingPath: codingPath()))
    }
}

final class _JSONValueDecoderImpl: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue, codingPath: [any CodingKey]) {
        self.value = value
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw _Unbox.mismatch(JSONObject.self, expected: "object", found: value, codingPath: codingPath)
        }
        return KeyedDecodingContainer(_KeyedDecoder<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let array) = value else {
            throw _Unbox.mismatch([JSONValue].self, expected: "array", found: value, codingPath: codingPath)
        }
        return _UnkeyedDecoder(array: array, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // SingleValueDecodingContainer
    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try _Unbox.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try _Unbox.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try _Unbox.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try _Unbox.float(value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try _Unbox.integer(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try _Unbox.integer(type, value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try _Unbox.decode(type, from: value, codingPath: codingPath) }
}

struct _KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    @inline(__always)
    private func value(_ key: Key) throws -> JSONValue {
        guard let v = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, DecodingError.Context(codingPath: codingPath, debugDescription: "missing required field \(_quoted(key.stringValue))"))
        }
        return v
    }

    /// The value for `key` unless it is missing or null.
    @inline(__always)
    private func present(_ key: Key) -> JSONValue? {
        guard let v = object[key.stringValue], !v.isNull else { return nil }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try _Unbox.bool(value(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try _Unbox.string(value(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try _Unbox.double(value(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try _Unbox.float(value(key), codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try _Unbox.integer(type, value(key), codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try _Unbox.integer(type, value(key), codingPath + [key]) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try _Unbox.decode(type, from: value(key), codingPath: codingPath + [key])
    }

    // One lookup instead of the default's three (contains, decodeNil, decode).
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let v = present(key) else { return nil }
        return try _Unbox.bool(v, codingPath + [key])
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let v = present(key) else { return nil }
        return try _Unbox.string(v, codingPath + [key])
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let v = present(key) else { return nil }
        return try _Unbox.double(v, codingPath + [key])
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let v = present(key) else { return nil }
        return try _Unbox.integer(type, v, codingPath + [key])
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let v = present(key) else { return nil }
        return try _Unbox.integer(type, v, codingPath + [key])
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = present(key) else { return nil }
        return try _Unbox.decode(type, from: v, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try _JSONValueDecoderImpl(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try _JSONValueDecoderImpl(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        _JSONValueDecoderImpl(
            value: object[_JSONKey.superKey.stringValue] ?? .null, codingPath: codingPath + [_JSONKey.superKey])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        _JSONValueDecoderImpl(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct _UnkeyedDecoder: UnkeyedDecodingContainer {
    let array: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(array: [JSONValue], codingPath: [any CodingKey]) {
        self.array = array
        self.codingPath = codingPath
    }

    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    private var currentPath: [any CodingKey] { codingPath + [_JSONKey(index: currentIndex)] }

    /// The current element; advance only after it decoded (as Foundation does).
    private func current(_ type: Any.Type) throws -> JSONValue {
        guard currentIndex < array.count else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: currentPath, debugDescription: "array has only \(array.count) elements"))
        }
        return array[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        if try current(Never.self).isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    private mutating func next<T>(_ type: T.Type, _ unbox: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
        let v = try current(type)
        let r = try unbox(v, currentPath)
        currentIndex += 1
        return r
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try _Unbox.bool($0, $1) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try _Unbox.string($0, $1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try _Unbox.double($0, $1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try _Unbox.float($0, $1) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try _Unbox.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try _Unbox.integer(type, $0, $1) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next(type) { try _Unbox.decode(type, from: $0, codingPath: $1) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next(KeyedDecodingContainer<NestedKey>.self) {
            try _JSONValueDecoderImpl(value: $0, codingPath: $1).container(keyedBy: type)
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next((any UnkeyedDecodingContainer).self) {
            try _JSONValueDecoderImpl(value: $0, codingPath: $1).unkeyedContainer()
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next((any Decoder).self) { _JSONValueDecoderImpl(value: $0, codingPath: $1) }
    }
}

// MARK: - JSONValue and JSONObject are Codable

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let ours = decoder as? _JSONValueDecoderImpl {
            self = ours.value
            return
        }
        // Another decoder (e.g. Foundation's JSONDecoder): probe the kinds in turn. Numbers keep
        // their kind as far as the decoder tells it: integers that fit Int64/UInt64 stay integers.
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let i = try? c.decode(Int64.self) {
            self = .number(JSONNumber(i))
        } else if let u = try? c.decode(UInt64.self) {
            self = .number(JSONNumber(canonicalText: String(u), isInteger: true))
        } else if let d = try? c.decode(Double.self), d.isFinite {
            self = .number(JSONNumber(d))
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode(JSONObject.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if let ours = encoder as? _JSONValueEncoderImpl {
            ours.node = .value(self)
            return
        }
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .number(let n):
            var c = encoder.singleValueContainer()
            if n.isInteger, let i = Int64(n.text) {
                try c.encode(i)
            } else if n.isInteger, let u = UInt64(n.text) {
                try c.encode(u)
            } else {
                // Non-integers, and integers beyond 64 bits (which other encoders cannot hold).
                try c.encode(Double(n.text) ?? .nan)
            }
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for element in a { try c.encode(element) }
        case .object(let o):
            try o.encode(to: encoder)
        }
    }
}

extension JSONObject: Codable {
    public init(from decoder: any Decoder) throws {
        if let ours = decoder as? _JSONValueDecoderImpl {
            guard case .object(let o) = ours.value else {
                throw _Unbox.mismatch(JSONObject.self, expected: "object", found: ours.value, codingPath: ours.codingPath)
            }
            self = o
            return
        }
        let c = try decoder.container(keyedBy: _JSONKey.self)
        var members = [Member]()
        members.reserveCapacity(c.allKeys.count)
        for key in c.allKeys {
            members.append(Member(key: key.stringValue, value: try c.decode(JSONValue.self, forKey: key)))
        }
        if let duplicate = JSONObject.sortCanonically(&members) {
            throw DecodingError.dataCorruptedError(
                forKey: _JSONKey(stringValue: duplicate), in: c, debugDescription: "duplicate key \(_quoted(duplicate))")
        }
        self.init(sortedMembers: members)
    }

    public func encode(to encoder: any Encoder) throws {
        if let ours = encoder as? _JSONValueEncoderImpl {
            ours.node = .value(.object(self))
            return
        }
        var c = encoder.container(keyedBy: _JSONKey.self)
        for member in members {
            try c.encode(member.value, forKey: _JSONKey(stringValue: member.key))
        }
    }
}
