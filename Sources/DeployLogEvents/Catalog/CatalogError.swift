/// Event data that the catalog refuses: one line naming the type and what was wrong,
/// e.g. `StageFailed data.stageOrder: missing required field`.
public struct CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// `data` does not match the type's fields (wrong JSON type, missing required field,
        /// value outside an enumeration, not an object).
        public static let invalidData = Code("invalidData")
        /// `schemaVersion` is below 1.
        public static let invalidSchemaVersion = Code("invalidSchemaVersion")
        /// `schemaVersion` is newer than this catalog knows: written by a newer deploylog.
        public static let newerSchemaVersion = Code("newerSchemaVersion")
        /// An older `schemaVersion` with no upcaster to the next version.
        public static let missingUpcaster = Code("missingUpcaster")
        /// An upcaster threw.
        public static let upcastFailed = Code("upcastFailed")
    }

    public var code: Code
    /// The event type (the envelope's `type`).
    public var eventType: String
    /// The schema version the data was written with.
    public var schemaVersion: Int
    /// What was wrong, e.g. `data.stageOrder: missing required field`.
    public var message: String

    public init(_ code: Code, eventType: String, schemaVersion: Int, _ message: String) {
        self.code = code
        self.eventType = eventType
        self.schemaVersion = schemaVersion
        self.message = message
    }

    public var description: String { "\(eventType) \(message)" }
}
