public import DeployLogEvents

/// A store that can deliver only what a fold reads of each event (`FoldFields`: position,
/// type, schema version, `occurredAt`, data), decoding less than `read` does; the projections'
/// folds use it when the store has it (the file store and the PostgreSQL store).
package protocol FoldFieldsReading: EventStore {
    /// As `read`, but each event as its fold fields (the rest of the envelope is checked, not
    /// built). `classify` gives each type's `typeCode` (called once per type and decoding
    /// thread). Returns the last position examined, as `read` would have.
    @discardableResult
    func readFoldFields(
        from position: Int64, filter: EventFilter, limit: Int?, classify: @escaping @Sendable (String) -> UInt8,
        _ body: (FoldFields) throws -> Bool
    ) throws -> Int64
}

extension FileStore: FoldFieldsReading {}

extension EventFilter {
    /// `matches` for what fold fields hold: position, type and time (not the stream, which
    /// they do not carry; a reader filtering by stream checks it on its own columns).
    package func matchesFoldFields(_ f: FoldFields) -> Bool {
        if let throughPosition, f.position > throughPosition { return false }
        if let types, !types.contains(f.type) { return false }
        if let since, f.occurredAt < since { return false }
        if let until, !(f.occurredAt < until) { return false }
        return true
    }
}
