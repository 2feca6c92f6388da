/// Encodes `Encodable` values to `JSONValue`, without Foundation.
///
/// Integers become integer numbers, `Double`/`Float` non-integer numbers (non-finite ones throw
/// `EncodingError.invalidValue`), `encodeIfPresent(nil, …)` omits the key, and `JSONValue` /
/// `JSONObject` pass through unchanged.
public struct JSONValueEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let direct = _EncodingNode.direct(value) { return direct }
        let encoder = _JSONValueEncoderImpl(codingPath: [])
        try value.encode(to: encoder)
        guard let node = encoder.node else {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: [], debugDescription: "\(T.self) did not encode any value"))
        }
        return node.resolve()
    }
}

/// Decodes `Decodable` values from `JSONValue`, without Foundation.
///
/// Integer types decode only from integer numbers that fit; `Double`/`Float` from any number;
/// `decodeIfPresent` gives `nil` for a missing key or `null`. Errors are `DecodingError`s with
/// the coding path of the offending value and a debug description such as
/// `expected string, found integer`; `describe(_:root:)` turns them into one line.
public struct JSONValueDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try _Unbox.decode(T.self, from: value, codingPath: [])
    }
}

extension JSONValueDecoder {
    /// One line naming the field and what was wrong, e.g.
    /// `data.checks[1].status: expected string, found integer` or
    /// `data.stageOrder: missing required field`. Errors other than `DecodingError` are
    /// described as `root: <error>`.
    public static func describe(_ error: any Error, root: String = "data") -> String {
        guard let error = error as? DecodingError else { return "\(root): \(error)" }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(root, context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(root, context.codingPath + [key])): missing required field"
        @unknown default:
            return "\(root): \(error)"
        }
    }

    /// `root.a.b[2].c`: array positions (keys whose text is `Index N`) in brackets.
    public static func path(_ root: String, _ codingPath: [any CodingKey]) -> String {
        var s = root
        for key in codingPath {
            if let i = key.intValue, key.stringValue == "Index \(i)" {
                s += "[\(i)]"
            } else if s.isEmpty {
                s = key.stringValue
            } else {
                s += "." + key.stringValue
            }
        }
        return s
    }
}

// MARK: - Coding keys

/// A coding key for any member name or array position.
struct _JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    /// The key of the element at `index` of an array.
    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    static let superKey = _JSONKey(stringValue: "super")
}

// MARK: - Encoding

/// What an encoder produced: a finished value, or a container still being filled.
enum _EncodingNode {
    case value(JSONValue)
    case object(_EncodingObject)
    case array(_EncodingArray)
    /// A super encoder's output, read when the parent finishes.
    case encoder(_JSONValueEncoderImpl)

    func resolve() -> JSONValue {
        switch self {
        case .value(let v): v
        case .object(let o): .object(o.resolve())
        case .array(let a): .array(a.elements.map { $0.resolve() })
        case .encoder(let e): e.node?.resolve() ?? .object(JSONObject())
        }
    }

    /// Values that need no encoder: JSON values themselves and the common primitives.
    @inline(__always)
    static func direct<T: Encodable>(_ value: T) -> JSONValue? {
        switch value {
        case let v as JSONValue: return v
        case let v as JSONObject: return .object(v)
        case let v as String: return .string(v)
        case let v as Bool: return .bool(v)
        case let v as Int: return .number(JSONNumber(v))
        case let v as Int64: return .number(JSONNumber(v))
        default: return nil
        }
    }

    static func box<T: Encodable>(_ value: T, codingPath: @autoclosure () -> [any CodingKey]) throws -> _EncodingNode {
        if let direct = direct(value) { return .value(direct) }
        let encoder = _JSONValueEncoderImpl(codingPath: codingPath())
        try value.encode(to: encoder)
        return encoder.node ?? .value(.object(JSONObject()))
    }

    static func integer<T: BinaryInteger>(_ v: T) -> _EncodingNode {
        .value(.number(JSONNumber(canonicalText: String(v), isInteger: true)))
    }

    static func double(_ v: Double, codingPath: @autoclosure () -> [any CodingKey]) throws -> _EncodingNode {
        guard v.isFinite else {
            throw EncodingError.invalidValue(
                v, EncodingError.Context(codingPath: codingPath(), debugDescription: "\(v) is not a valid JSON number"))
        }
        return .value(.number(JSONNumber(v)))
    }

    static func float(_ v: Float, codingPath: @autoclosure () -> [any CodingKey]) throws -> _EncodingNode {
        guard v.isFinite else {
            throw EncodingError.invalidValue(
                v, EncodingError.Context(codingPath: codingPath(), debugDescription: "\(v) is not a valid JSON number"))
        }
        // The float's own shortest digits (0.1, not 0.10000000149011612).
        return .value(.number(JSONNumber(Double(v.description) ?? Double(v))))
    }
}

final class _EncodingObject {
    var members: [(key: String, node: _EncodingNode)] = []

    func set(_ key: String, _ node: _EncodingNode) { members.append((key, node)) }

    /// Members in canonical order; when a key was encoded twice the later one wins.
    func resolve() -> JSONObject {
        var resolved = [JSONObject.Member]()
        resolved.reserveCapacity(members.count)
        for m in members { resolved.append(JSONObject.Member(key: m.key, value: m.node.resolve())) }
        if JSONObject.sortCanonically(&resolved) != nil {
            // Rare: a key encoded twice. Keep the last value given for each key.
            var last = [JSONObject.Member]()
            for m in members.reversed() where !last.contains(where: { _utf8Equal($0.key, m.key) }) {
                last.append(JSONObject.Member(key: m.key, value: m.node.resolve()))
            }
            _ = JSONObject.sortCanonically(&last)
            return JSONObject(sortedMembers: last)
        }
        return JSONObject(sortedMembers: resolved)
    }
}

final class _EncodingArray {
    var elements: [_EncodingNode] = []
}

final class _JSONValueEncoderImpl: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var node: _EncodingNode?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: _EncodingObject
        if case .object(let existing)? = node {
            object = existing
        } else {
            object = _EncodingObject()
            node = .object(object)
        }
        return KeyedEncodingContainer(_KeyedEncoder<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: _EncodingArray
        if case .array(let existing)? = node {
            array = existing
        } else {
            array = _EncodingArray()
            node = .array(array)
        }
        return _UnkeyedEncoder(array: array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        _SingleValueEncoder(encoder: self)
    }
}

struct _KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: _EncodingObject
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.set(key.stringValue, .value(.null)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.set(key.stringValue, .value(.bool(value))) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.set(key.stringValue, .value(.string(value))) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        object.set(key.stringValue, try .double(value, codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        object.set(key.stringValue, try .float(value, codingPath: codingPath + [key]))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.set(key.stringValue, .integer(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try .box(value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = _EncodingObject()
        object.set(key.stringValue, .object(nested))
        return KeyedEncodingContainer(_KeyedEncoder<NestedKey>(object: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = _EncodingArray()
        object.set(key.stringValue, .array(nested))
        return _UnkeyedEncoder(array: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = _JSONValueEncoderImpl(codingPath: codingPath + [_JSONKey.superKey])
        object.set(_JSONKey.superKey.stringValue, .encoder(encoder))
        return encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let encoder = _JSONValueEncoderImpl(codingPath: codingPath + [key])
        object.set(key.stringValue, .encoder(encoder))
        return encoder
    }
}

struct _UnkeyedEncoder: UnkeyedEncodingContainer {
    let array: _EncodingArray
    let codingPath: [any CodingKey]
    var count: Int { array.elements.count }

    private var nextPath: [any CodingKey] { codingPath + [_JSONKey(index: count)] }

    mutating func encodeNil() throws { array.elements.append(.value(.null)) }
    mutating func encode(_ value: Bool) throws { array.elements.append(.value(.bool(value))) }
    mutating func encode(_ value: String) throws { array.elements.append(.value(.string(value))) }
    mutating func encode(_ value: Double) throws { array.elements.append(try .double(value, codingPath: nextPath)) }
    mutating func encode(_ value: Float) throws { array.elements.append(try .float(value, codingPath: nextPath)) }
    mutating func encode(_ value: Int) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: Int8) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: Int16) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: Int32) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: Int64) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: UInt) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: UInt8) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: UInt16) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: UInt32) throws { array.elements.append(.integer(value)) }
    mutating func encode(_ value: UInt64) throws { array.elements.append(.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        array.elements.append(try .box(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        let nested = _EncodingObject()
        array.elements.append(.object(nested))
        return KeyedEncodingContainer(_KeyedEncoder<NestedKey>(object: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let nested = _EncodingArray()
        array.elements.append(.array(nested))
        return _UnkeyedEncoder(array: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = _JSONValueEncoderImpl(codingPath: nextPath)
        array.elements.append(.encoder(encoder))
        return encoder
    }
}

struct _SingleValueEncoder: SingleValueEncodingContainer {
    let encoder: _JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ node: _EncodingNode) { encoder.node = node }

    mutating func encodeNil() throws { set(.value(.null)) }
    mutating func encode(_ value: Bool) throws { set(.value(.bool(value))) }
    mutating func encode(_ value: String) throws { set(.value(.string(value))) }
    mutating func encode(_ value: Double) throws { set(try .double(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { set(try .float(value, codingPath: codingPath)) }
    mutating func encode(_ value: Int) throws { set(.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        set(try .box(value, codingPath: codingPath))
    }
}
