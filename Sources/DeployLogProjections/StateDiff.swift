public import DeployLogEvents

/// What changed between two states: one entry per changed leaf of their JSON documents.
///
/// Arrays of objects that carry a `name` (applied migrations) are compared by name, so one
/// migration applied shows as one addition rather than a shifted list; other arrays compare as
/// whole values. Paths use `/` between keys (`environments/production/lastPipeline/status`).
public enum StateDiff {
    public struct Change: Sendable, Equatable {
        public var path: String
        /// nil: absent on that side.
        public var before: JSONValue?
        public var after: JSONValue?
    }

    public static func changes(from a: StateProjector, to b: StateProjector, environment: String? = nil) -> [Change] {
        var out: [Change] = []
        var left = a.json(environment: environment).objectValue ?? JSONObject()
        var right = b.json(environment: environment).objectValue ?? JSONObject()
        // The points themselves are reported by the caller, not as changes.
        for key in ["position", "occurredAt"] {
            left.removeValue(forKey: key)
            right.removeValue(forKey: key)
        }
        compare(.object(left), .object(right), path: "", into: &out)
        return out
    }

    static func compare(_ a: JSONValue?, _ b: JSONValue?, path: String, into out: inout [Change]) {
        if a == b { return }
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            let keys = Set(x.keys).union(y.keys).sorted(by: JSONObject.keyPrecedes)
            for k in keys { compare(x[k], y[k], path: join(path, k), into: &out) }
        case (.array(let x)?, .array(let y)?) where isNamedList(x) && isNamedList(y):
            let xs = named(x)
            let ys = named(y)
            var order: [String] = x.compactMap { $0.objectValue?["name"]?.stringValue }
            for v in y { if let n = v.objectValue?["name"]?.stringValue, xs[n] == nil { order.append(n) } }
            for n in order { compare(xs[n], ys[n], path: join(path, n), into: &out) }
        default:
            out.append(Change(path: path, before: a, after: b))
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path)/\(key)" }

    static func isNamedList(_ a: [JSONValue]) -> Bool {
        a.allSatisfy { $0.objectValue?["name"]?.stringValue != nil }
    }

    static func named(_ a: [JSONValue]) -> [String: JSONValue] {
        var m: [String: JSONValue] = [:]
        for v in a { if let n = v.objectValue?["name"]?.stringValue { m[n] = v } }
        return m
    }

    /// `{"changes": [{"path", "before", "after"}]}` (absent sides are null).
    public static func json(_ changes: [Change]) -> JSONValue {
        .array(
            changes.map { c in
                .object(JSONObject([("path", .string(c.path)), ("before", c.before ?? .null), ("after", c.after ?? .null)]))
            })
    }
}
