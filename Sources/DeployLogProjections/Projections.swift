public import DeployLogEvents
public import DeployLogStore

/// Every projector, folded together in one pass over the log.
public struct Projections: Sendable, Equatable {
    public var pipelines = PipelinesProjector()
    public var migrations = MigrationsProjector()
    public var rollbacks = RollbacksProjector()
    public var blueGreen = BlueGreenProjector()
    public var environments = EnvironmentsProjector()
    public var metrics = MetricsProjector()
    public var state = StateProjector()

    /// Name and version of each projector, in the order of `tables`.
    public static let projectors: [(name: String, version: Int)] = [
        (PipelinesProjector.name, PipelinesProjector.version), (MigrationsProjector.name, MigrationsProjector.version),
        (RollbacksProjector.name, RollbacksProjector.version), (BlueGreenProjector.name, BlueGreenProjector.version),
        (EnvironmentsProjector.name, EnvironmentsProjector.version), (MetricsProjector.name, MetricsProjector.version),
        (StateProjector.name, StateProjector.version),
    ]

    public init() {}

    public mutating func apply(_ event: RecordedEvent) { apply(ProjectedEvent(event)) }

    public mutating func apply(_ e: ProjectedEvent) {
        pipelines.apply(e)
        migrations.apply(e)
        rollbacks.apply(e)
        blueGreen.apply(e)
        environments.apply(e)
        metrics.apply(e)
        state.apply(e)
    }

    /// Every table of every read model (the seed's tables and views, then the state summary).
    public var tables: [Table] {
        pipelines.tables + migrations.tables + rollbacks.tables + blueGreen.tables + environments.tables
            + metrics.tables
    }

    /// Folds the log from its first event up to `position` (inclusive; nil: the head).
    public static func fold(_ store: any EventStore, upTo position: Int64? = nil) throws -> Projections {
        var p = Projections()
        let head = try store.head().position
        let last = min(position ?? head, head)
        guard last > 0 else { return p }
        try read(store, limit: Int(last)) { e in p.apply(e) }
        return p
    }

    /// Folds one projector over the log up to `position`.
    public static func fold<P: Projector>(_ type: P.Type, _ store: any EventStore, upTo position: Int64? = nil) throws -> P {
        var p = P()
        let head = try store.head().position
        let last = min(position ?? head, head)
        guard last > 0 else { return p }
        if var state = p as? StateProjector {
            // The state reads few types: the index skips the others without decoding them,
            // then the state moves to the last position as if it had folded them (they only
            // move it).
            let filter = EventFilter(types: StateProjector.readsTypes, throughPosition: last)
            try read(store, from: 1, filter: filter, limit: nil) { e in state.apply(e) }
            var at: Timestamp? = nil
            try store.read(from: last, filter: EventFilter(), limit: 1) { e in
                at = e.occurredAt
                return false
            }
            state.advance(to: last, occurredAt: at)
            if let folded = state as? P { return folded }
        }
        try read(store, limit: Int(last)) { e in p.apply(e) }
        return p
    }

    /// The first `limit` events of the log as the projectors see them, in order. From a store
    /// that reads fold fields (the file store, the PostgreSQL store), only what the projectors
    /// read is decoded, ahead of `body` on another thread.
    static func read(_ store: any EventStore, limit: Int, _ body: (ProjectedEvent) -> Void) throws {
        try read(store, from: 1, filter: EventFilter(), limit: limit) { e in body(e) }
    }

    /// The events of `store.read(from:filter:limit:)` as the projectors see them.
    static func read(
        _ store: any EventStore, from position: Int64, filter: EventFilter, limit: Int?, _ body: (ProjectedEvent) throws -> Void
    ) throws {
        if let folding = store as? any FoldFieldsReading {
            try folding.readFoldFields(from: position, filter: filter, limit: limit, classify: ProjectedEvent.classify) { f in
                try body(ProjectedEvent(f))
                return true
            }
            return
        }
        try store.read(from: position, filter: filter, limit: limit) { e in
            try body(ProjectedEvent(e))
            return true
        }
    }
}
