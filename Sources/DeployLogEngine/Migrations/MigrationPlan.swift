public import DeployLogEvents

/// What `migrate up` would do, decided from the files and the environment's folded log alone:
/// the migrations to register (new, or changed while not applied) and the pending ones in the
/// order they would run.
public struct MigrationPlan: Sendable, Equatable {
    public var environment: String
    /// New files, and files changed since they were registered that are not applied now.
    public var toRegister: [MigrationFile]
    /// Not applied now, in dependency order (version order breaks ties).
    public var toApply: [MigrationFile]
    /// Applied migrations whose file is unchanged (or absent from the source).
    public var alreadyApplied: [String]
    /// Migrations started by a run that never recorded an outcome: recorded as failed and run
    /// again by the next `up`.
    public var interrupted: [String]
    /// The stream version the plan was made at (nil: no stream yet).
    public var streamVersion: Int64?

    public var isEmpty: Bool { toApply.isEmpty && toRegister.isEmpty && interrupted.isEmpty }
}

/// One line of `migrate status`.
public struct MigrationStatusEntry: Sendable, Equatable {
    public enum State: String, Sendable {
        /// In the source, not applied (never registered, registered, failed or rolled back).
        case pending
        case applied
        /// Applied, and the file now differs from what was applied.
        case changed
        /// The last attempt failed (and it is not applied).
        case failed
        /// Rolled back and not applied again.
        case rolledBack = "rolled_back"
        /// Started with no outcome recorded.
        case running
        /// Applied, but no longer in the source.
        case appliedNotInSource = "applied_not_in_source"
    }

    public var name: String
    public var version: String
    public var fileName: String?
    public var state: State
    public var appliedAt: Timestamp?
    public var appliedBy: String?
    public var error: String?
}

extension MigrationPlan {
    /// Makes the plan: refuses a missing dependency, a dependency cycle, an applied
    /// migration whose file changed (naming the file, both checksums, who applied it and when)
    /// and a migration to run that controls transactions itself or holds a password.
    public static func make(files: [MigrationFile], ledger: MigrationLedger) throws(EngineError) -> MigrationPlan {
        var toRegister: [MigrationFile] = []
        var alreadyApplied: [String] = []
        var pending: [MigrationFile] = []
        for f in files {
            let sum = f.checksum
            if let entry = ledger.entries[f.name] {
                if entry.isApplied {
                    guard entry.checksum == sum else {
                        let when = entry.appliedAt?.canonicalText ?? "an unknown time"
                        throw EngineError(
                            .checksumMismatch,
                            "\(f.fileName): migration '\(f.name)' changed after it was applied to \(ledger.environment) "
                                + "(checksum applied \(entry.checksum), file now \(sum); applied by \(entry.appliedBy ?? "unknown") at \(when)); "
                                + "write a new migration instead of editing an applied one")
                    }
                    alreadyApplied.append(f.name)
                    continue
                }
                if entry.checksum != sum || entry.version != f.version { toRegister.append(f) }
            } else {
                toRegister.append(f)
            }
            try f.refuseTransactionControl()
            try f.refuseCredentials()
            pending.append(f)
        }
        let inSource = Set(files.map(\.name))
        for entry in ledger.applied where !inSource.contains(entry.name) { alreadyApplied.append(entry.name) }
        let ordered = try MigrationOrder.sort(pending, satisfied: ledger.appliedNames)
        return MigrationPlan(
            environment: ledger.environment, toRegister: toRegister, toApply: ordered, alreadyApplied: alreadyApplied,
            interrupted: ledger.running.map(\.name), streamVersion: ledger.streamVersion)
    }

    /// Every migration of the source and the ledger, with its state (in version order, then
    /// applied migrations no longer in the source).
    public static func status(files: [MigrationFile], ledger: MigrationLedger) -> [MigrationStatusEntry] {
        var out: [MigrationStatusEntry] = []
        for f in files {
            guard let e = ledger.entries[f.name] else {
                out.append(
                    MigrationStatusEntry(name: f.name, version: f.version, fileName: f.fileName, state: .pending))
                continue
            }
            let state: MigrationStatusEntry.State
            if e.isRunning {
                state = .running
            } else if e.isApplied {
                state = e.checksum == f.checksum ? .applied : .changed
            } else if e.lastError != nil {
                state = .failed
            } else if e.deploymentId != nil {
                state = .rolledBack
            } else {
                state = .pending
            }
            out.append(
                MigrationStatusEntry(
                    name: f.name, version: f.version, fileName: f.fileName, state: state, appliedAt: e.appliedAt,
                    appliedBy: e.appliedBy, error: e.isApplied ? nil : e.lastError))
        }
        let inSource = Set(files.map(\.name))
        for e in ledger.applied where !inSource.contains(e.name) {
            out.append(
                MigrationStatusEntry(
                    name: e.name, version: e.version, fileName: nil, state: .appliedNotInSource, appliedAt: e.appliedAt,
                    appliedBy: e.appliedBy))
        }
        return out
    }
}
