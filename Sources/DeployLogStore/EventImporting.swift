public import DeployLogEvents

/// A store that takes events already recorded by another store, exactly as they are: what
/// `deploylog copy` needs to move a log between backends with positions, recorded times and
/// hashes unchanged.
public protocol EventImporting: EventStore {
    /// Stores `events` keeping their positions, stream versions, times and hashes, atomically
    /// (all or none) and durably.
    ///
    /// They must continue this store: the first at head + 1, then gapless; each stream version
    /// the one after its stream's last; no event id already stored; and each event's `hash`
    /// (when given) the chain hash over the previous one and the event's canonical bytes —
    /// checked, so an import can never break the chain. A violation is a `conflict` (the store
    /// moved on) or `corruption` (a hash that does not follow), and nothing is written.
    func importRecorded(_ events: [RecordedEvent]) throws(StoreError)
}

extension FileStore: EventImporting {}
