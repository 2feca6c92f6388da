/// The event catalog, version 1: every event type deploylog knows, and the upcasters that
/// read their older schema versions. `events/` holds the same catalog as data.
///
/// Unknown types are not errors: the log keeps them, shows them, hashes and verifies them,
/// and projectors ignore them (a newer writer must not break an older reader).
public enum EventCatalog {
    /// Every type of catalog v1, grouped by stream category.
    public static let allTypes: [any DeployLogEvent.Type] = [
        // environment-<environment>
        EnvironmentConfigured.self, EnvironmentDeactivated.self,
        // migrations-<environment>
        MigrationRegistered.self, MigrationStarted.self, MigrationApplied.self, MigrationFailed.self,
        MigrationRolledBack.self,
        // pipeline-<pipelineId>
        PipelineStarted.self, StageStarted.self, StageCompleted.self, StageFailed.self, StageSkipped.self,
        PipelineCompleted.self, PipelineFailed.self, PipelineRolledBack.self,
        // bluegreen-<deploymentName>
        BlueGreenConfigured.self, DeployToInactiveStarted.self, HealthChecksRecorded.self,
        TrafficSwitchStarted.self, TrafficSwitched.self, BlueGreenDeployFailed.self,
        // rollback-<rollbackId>
        RollbackStarted.self, RollbackStepExecuted.self, RollbackCompleted.self, RollbackFailed.self,
    ]

    /// The stream categories, in catalog order.
    public static let streamCategories = ["environment", "migrations", "pipeline", "bluegreen", "rollback"]

    /// Upcasters from older schema versions. Version 1 is the current version of every type,
    /// so there are none yet; each future version adds one here (see `EventUpcaster`).
    public static let upcasters: [EventUpcaster] = []

    /// The catalog as a registry: `allTypes` with `upcasters`.
    public static let registry = EventRegistry(types: allTypes, upcasters: upcasters)

    /// The type whose wire name is `name`; `nil` for an unknown type.
    public static func type(named name: String) -> (any DeployLogEvent.Type)? {
        registry.type(named: name)
    }

    /// Checks the `data` of an event about to be appended. An unknown type passes; a known one
    /// is upcast to its current version and decoded. A `schemaVersion` newer than the catalog
    /// knows is refused (written by a newer deploylog).
    public static func validate(type: String, schemaVersion: Int, data: JSONValue) throws(CatalogError) {
        try registry.validate(type: type, schemaVersion: schemaVersion, data: data)
    }

    /// Decodes `data`, written with `schemaVersion`, as an `E`, upcasting it first.
    public static func decode<E: DeployLogEvent>(
        _ type: E.Type, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) -> E {
        try registry.decode(type, schemaVersion: schemaVersion, data: data)
    }

    /// Decodes an event of any catalog type; `nil` for an unknown type (projectors skip those).
    public static func decode(
        type: String, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) -> (any DeployLogEvent)? {
        try registry.decode(type: type, schemaVersion: schemaVersion, data: data)
    }

    /// Brings `data` from `schemaVersion` to the type's current version; returns that version
    /// and the upcast data (unchanged when there is nothing to do).
    public static func upcast(
        type: String, schemaVersion: Int, data: JSONValue
    ) throws(CatalogError) -> (Int, JSONValue) {
        try registry.upcast(type: type, schemaVersion: schemaVersion, data: data)
    }

    /// `decode` with the given upcasters in place of the catalog's.
    public static func decode<E: DeployLogEvent>(
        _ type: E.Type, schemaVersion: Int, data: JSONValue, upcasters: [EventUpcaster]
    ) throws(CatalogError) -> E {
        try EventRegistry(types: allTypes, upcasters: upcasters).decode(type, schemaVersion: schemaVersion, data: data)
    }

    /// `upcast` with the given upcasters in place of the catalog's.
    public static func upcast(
        type: String, schemaVersion: Int, data: JSONValue, upcasters: [EventUpcaster]
    ) throws(CatalogError) -> (Int, JSONValue) {
        try EventRegistry(types: allTypes, upcasters: upcasters).upcast(
            type: type, schemaVersion: schemaVersion, data: data)
    }
}
