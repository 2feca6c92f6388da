/// Moves the `data` of one event type from schema version `fromVersion` to `fromVersion + 1`.
///
/// Events are never rewritten: an event keeps the version and the data it was written with,
/// and readers upcast it, one version at a time, to the shape their Swift type decodes.
/// Renaming or removing a field, or changing its meaning, needs a new schema version, a new
/// `events/<Type>.v<N>.json`, and an upcaster from the previous version.
public struct EventUpcaster: Sendable {
    public var eventType: String
    public var fromVersion: Int
    public var transform: @Sendable (JSONObject) throws -> JSONObject

    public init(eventType: String, fromVersion: Int, transform: @escaping @Sendable (JSONObject) throws -> JSONObject) {
        precondition(fromVersion >= 1, "schema versions start at 1")
        self.eventType = eventType
        self.fromVersion = fromVersion
        self.transform = transform
    }

    /// The version the transform produces.
    public var toVersion: Int { fromVersion + 1 }

    /// An upcaster that renames a field (when present), keeping its value.
    public static func renamingField(
        _ oldName: String, to newName: String, eventType: String, fromVersion: Int
    ) -> EventUpcaster {
        EventUpcaster(eventType: eventType, fromVersion: fromVersion) { data in
            var data = data
            if let value = data.removeValue(forKey: oldName) { data[newName] = value }
            return data
        }
    }

    /// An upcaster that adds a field with a default value where it is absent (or `null`).
    public static func addingField(
        _ name: String, default value: JSONValue, eventType: String, fromVersion: Int
    ) -> EventUpcaster {
        EventUpcaster(eventType: eventType, fromVersion: fromVersion) { data in
            var data = data
            if data[name]?.isNull ?? true { data[name] = value }
            return data
        }
    }
}
