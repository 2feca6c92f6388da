/// A set of event types and the upcasters that bring their older schema versions up to date.
///
/// `EventCatalog.registry` is the v1 catalog; tests (and a future catalog) build their own.
public struct EventRegistry: Sendable {
    /// The known types, in the order given.
    public let types: [any DeployLogEvent.Type]
    public let upcasters: [EventUpcaster]

    private let typesByName: [String: any DeployLogEvent.Type]
    private let upcastersByStep: [Step: EventUpcaster]

    private struct Step: Hashable {
        var eventType: String
        var fromVersion: Int
    }

    /// Wire names must be unique, and so must each upcaster's (type, fromVersion).
    public init(types: [any DeployLogEvent.Type], upcasters: [EventUpcaster] = []) {
        var byName: [String: any DeployLogEvent.Type] = [:]
        for t in types {
            precondition(byName[t.eventType] == nil, "event type \(t.eventType) registered twice")
            byName[t.eventType] = t
        }
        var bySteps: [Step: EventUpcaster] = [:]
        for u in upcasters {
            let step = Step(eventType: u.eventType, fromVersion: u.fromVersion)
            precondition(bySteps[step] == nil, "two upcasters for \(u.eventType) v\(u.fromVersion)")
            bySteps[step] = u
        }
        self.types = types
        self.upcasters = upcasters
        self.typesByName = byName
        self.upcastersByStep = bySteps
    }

    /// The type whose wire name is `name`, or `nil` for a type this registry does not know.
    public func type(named name: String) -> (any DeployLogEvent.Type)? { typesByName[name] }

    /// Applies upcasters, one version at a time, from `schemaVersion` up to the type's current
    /// version (for a type the registry does not know: as far as its upcasters go).
    /// Returns the version reached and the data in that version's shape.
    public func upcast(type: String, schemaVersion: Int, data: JSONValue) throws(CatalogError) -> (Int, JSONValue) {
        let target = typesByName[type]?.schemaVersion
        if let target { try checkVersion(type: type, schemaVersion: schemaVersion, current: target) }
        return try upcast(type: type, schemaVersion: schemaVersion, data: data, to: target)
    }

    /// Checks `data` against the type's fields, after upcasting it to the current version.
    /// Data of a type this registry does not know passes: the log keeps it and projectors
    /// ignore it.
    public func validate(type: String, schemaVersion: Int, data: JSONValue) throws(CatalogError) {
        guard schemaVersion >= 1 else {
            throw CatalogError(
                .invalidSchemaVersion, eventType: type, schemaVersion: schemaVersion,
                "schemaVersion \(schemaVersion): must be 1 or more")
        }
        guard let eventType = typesByName[type] else { return }
        try validateOpened(eventType, schemaVersion: schemaVersion, data: data)
    }

    /// Decodes `data` as an `E` and checks its lengths, on the data upcast once.
    private func validateOpened<E: DeployLogEvent>(
        _: E.Type, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) {
        let current = try upcastAndDecode(E.self, schemaVersion: schemaVersion, data: data).data
        try Self.checkLengths(of: E.self, current, type: E.eventType, schemaVersion: E.schemaVersion)
    }

    /// Throws `.invalidData` for the first string of `data` longer than its field's
    /// `maxLength` (data already in the type's current shape).
    public static func checkLengths(
        of eventType: any DeployLogEvent.Type, _ data: JSONValue, type: String, schemaVersion: Int
    ) throws(CatalogError) {
        guard case .object(let object) = data else { return }
        for field in eventType.fields where field.maxLength != nil {
            if let problem = field.lengthProblem(object[field.name]) {
                throw CatalogError(.invalidData, eventType: type, schemaVersion: schemaVersion, problem)
            }
        }
    }

    /// Decodes `data` written with `schemaVersion` as an `E`, upcasting it first.
    public func decode<E: DeployLogEvent>(_: E.Type, schemaVersion: Int, data: JSONValue) throws(CatalogError) -> E {
        try upcastAndDecode(E.self, schemaVersion: schemaVersion, data: data).event
    }

    /// `decode`, also returning the data in the current version's shape.
    private func upcastAndDecode<E: DeployLogEvent>(
        _: E.Type, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) -> (event: E, data: JSONValue) {
        try checkVersion(type: E.eventType, schemaVersion: schemaVersion, current: E.schemaVersion)
        let (version, current) = try upcast(
            type: E.eventType, schemaVersion: schemaVersion, data: data, to: E.schemaVersion)
        guard version == E.schemaVersion else {
            throw CatalogError(
                .missingUpcaster, eventType: E.eventType, schemaVersion: schemaVersion,
                "schemaVersion \(schemaVersion): no upcaster from version \(version) to \(version + 1)")
        }
        guard case .object = current else {
            throw CatalogError(
                .invalidData, eventType: E.eventType, schemaVersion: schemaVersion,
                "data: expected object, found \(current.typeName)")
        }
        do {
            return (try JSONValueDecoder().decode(E.self, from: current), current)
        } catch {
            var message = JSONValueDecoder.describe(error, root: "data")
            if version != schemaVersion { message += " (after upcasting from schemaVersion \(schemaVersion))" }
            throw CatalogError(.invalidData, eventType: E.eventType, schemaVersion: schemaVersion, message)
        }
    }

    /// Decodes an event of any known type; `nil` for a type this registry does not know.
    public func decode(
        type: String, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) -> (any DeployLogEvent)? {
        guard let eventType = typesByName[type] else { return nil }
        return try decodeOpened(eventType, schemaVersion: schemaVersion, data: data)
    }

    private func decodeOpened<E: DeployLogEvent>(
        _ t: E.Type, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) -> E {
        try decode(t, schemaVersion: schemaVersion, data: data)
    }

    private func checkVersion(type: String, schemaVersion: Int, current: Int) throws(CatalogError) {
        if schemaVersion < 1 {
            throw CatalogError(
                .invalidSchemaVersion, eventType: type, schemaVersion: schemaVersion,
                "schemaVersion \(schemaVersion): must be 1 or more")
        }
        if schemaVersion > current {
            throw CatalogError(
                .newerSchemaVersion, eventType: type, schemaVersion: schemaVersion,
                "schemaVersion \(schemaVersion): written by a newer deploylog (this one reads \(type) up to version \(current))"
            )
        }
    }

    private func upcast(
        type: String, schemaVersion: Int, data: JSONValue, to target: Int?
    ) throws(CatalogError) -> (Int, JSONValue) {
        var version = schemaVersion
        var data = data
        while target.map({ version < $0 }) ?? true,
            let upcaster = upcastersByStep[Step(eventType: type, fromVersion: version)]
        {
            guard case .object(let object) = data else {
                throw CatalogError(
                    .invalidData, eventType: type, schemaVersion: schemaVersion,
                    "data: expected object, found \(data.typeName)")
            }
            do {
                data = .object(try upcaster.transform(object))
            } catch {
                throw CatalogError(
                    .upcastFailed, eventType: type, schemaVersion: schemaVersion,
                    "schemaVersion \(schemaVersion): upcasting from version \(version) to \(version + 1) failed: \(error)"
                )
            }
            version += 1
        }
        return (version, data)
    }
}
