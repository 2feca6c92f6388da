import ArgumentParser
import DeployLogEvents
import DeployLogProjections
import DeployLogStore

/// Output formats of the projection commands.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case json, table, csv
}

extension StoreOptions {
    /// Where the point-in-time snapshots of this store are kept: beside a file store's
    /// segments. A PostgreSQL store has none (states are folded from the start).
    var snapshotDirectory: SnapshotDirectory? { isPostgres ? nil : SnapshotDirectory(path: path + "/snapshots") }

    /// The point-in-time engine over the store.
    func pointInTime(_ store: any EventStore) -> PointInTime {
        PointInTime(store: store, snapshots: snapshotDirectory)
    }
}

extension CLIError {
    /// A point-in-time error (or anything below it), with its exit status.
    init(point error: any Error) {
        switch error {
        case let e as PointError: self.init(e.code == .badInput ? .badInput : .notFound, e.message)
        default: self.init(wrapping: error)
        }
    }
}

/// Parses `--as-of` (RFC 3339), naming the option on failure.
func parseInstant(_ text: String?, option: String) throws(CLIError) -> Timestamp {
    guard let text else { return Timestamp.now() }
    guard let t = Timestamp(iso8601: text) else {
        throw CLIError.usage("\(option) '\(text)' is not an RFC 3339 time (e.g. 2026-11-20T10:15:02Z)")
    }
    return t
}
