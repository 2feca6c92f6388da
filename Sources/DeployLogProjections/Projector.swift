public import DeployLogEvents

/// A projector: a pure fold of the log into one read model. No I/O, no clock, no randomness:
/// the same events give the same state, byte for byte, every time.
///
/// `name` and `version` identify what the fold computes: a new version means the state it
/// built before (snapshots, projected tables) must be rebuilt.
public protocol Projector: Sendable, Equatable {
    static var name: String { get }
    static var version: Int { get }
    init()
    /// Folds one event in. Kinds a projector does not handle (including `.unknown`) are ignored.
    mutating func apply(_ event: ProjectedEvent)
    /// The read model as tables with the seed's table and column names.
    var tables: [Table] { get }
}

extension Projector {
    /// Folds `events`, in order, into a fresh state.
    public static func fold(_ events: some Sequence<RecordedEvent>) -> Self {
        var p = Self()
        for e in events { p.apply(ProjectedEvent(e)) }
        return p
    }
}

/// One table of a read model: the seed's column names, rows of JSON values (strings,
/// numbers, booleans, null; objects and arrays for JSONB and array columns; timestamps as
/// RFC 3339 UTC text with microseconds).
public struct Table: Sendable, Equatable {
    public var name: String
    public var columns: [String]
    public var rows: [[JSONValue]]

    public init(name: String, columns: [String], rows: [[JSONValue]] = []) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }

    /// The rows as JSON objects keyed by column name, in row order.
    public var objects: [JSONObject] {
        rows.map { row in
            var o = JSONObject()
            for (c, v) in zip(columns, row) { o[c] = v }
            return o
        }
    }

    /// The value of `column` in row `index`.
    public func value(_ column: String, row index: Int) -> JSONValue? {
        guard let c = columns.firstIndex(of: column), rows.indices.contains(index) else { return nil }
        return rows[index][c]
    }
}

// MARK: - Cell helpers

extension JSONValue {
    static func text(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    static func int(_ v: Int64?) -> JSONValue { v.map { .number(JSONNumber($0)) } ?? .null }
    static func int(_ v: Int) -> JSONValue { .number(JSONNumber(v)) }
    static func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.canonicalText) } ?? .null }
    static func flag(_ b: Bool?) -> JSONValue { b.map { .bool($0) } ?? .null }
    /// A fixed-point decimal: `value` rounded to `places` decimals (half away from zero).
    static func decimal(_ value: Double?, places: Int) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(JSONNumber(Decimals.round(value, places: places)))
    }
}

/// Rounding as PostgreSQL's `ROUND(numeric, n)` does it: half away from zero.
public enum Decimals {
    public static func round(_ value: Double, places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (value * scale).rounded(.toNearestOrAwayFromZero) / scale
    }

    /// Microseconds as seconds rounded to 3 decimals (exact: milliseconds are whole).
    public static func seconds(microseconds us: Int64) -> Double {
        let ms = (Double(us) / 1000).rounded(.toNearestOrAwayFromZero)
        return ms / 1000
    }
}

/// Serial ids as the seed's `SERIAL` columns hand them out: 1, 2, 3 … in order of first sight.
struct SerialIDs: Sendable, Equatable {
    private(set) var ids: [String: Int] = [:]

    var count: Int { ids.count }

    subscript(key: String) -> Int? { ids[key] }

    /// The id of `key`, assigning the next one when it is new.
    mutating func id(for key: String) -> (id: Int, isNew: Bool) {
        if let id = ids[key] { return (id, false) }
        let id = ids.count + 1
        ids[key] = id
        return (id, true)
    }
}

/// The last key found in a `[String: Int]` index, and its value: the events of a pipeline come
/// in runs, and comparing two strings (often the same storage) is cheaper than hashing one.
/// Only for indexes whose entries never change once made. Not state: equal to any other.
struct RecentLookup: Sendable, Equatable {
    private var key = ""
    private var value = -1

    static func == (_: RecentLookup, _: RecentLookup) -> Bool { true }

    /// `index[key]`.
    @inline(__always)
    mutating func find(_ key: String, in index: [String: Int]) -> Int? {
        if value >= 0, key == self.key { return value }
        guard let v = index[key] else { return nil }
        self.key = key
        value = v
        return v
    }
}
