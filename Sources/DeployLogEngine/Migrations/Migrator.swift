import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation
public import Logging

/// Applies migrations to one environment's database and records every step in the log.
///
/// `up`: connects to the target, takes the deploylog advisory lock there (waiting for another
/// run to finish), folds the environment's `migrations-<environment>` stream, refuses a
/// missing dependency, a cycle or a changed applied file before running anything, registers
/// new migrations, then applies the pending ones in dependency order: MigrationStarted
/// (durable before the SQL runs), the SQL, then MigrationApplied or MigrationFailed. Every
/// append carries the stream's expected version, so a writer that raced us without the lock
/// makes the run stop with a conflict instead of recording a migration twice.
///
/// `plan` and `status` read the log only: they change nothing and need no database.
///
/// A pipeline stage calls it with its pipeline id as `deploymentId`; the demo passes the seed's
/// migrations as `.files` (`MigrationSource.seed`).
///
/// Blocking (libpq and fsync): call it from a thread of your own, not from Swift's shared
/// task pool.
public struct Migrator: Sendable {
    public let store: any EventStore
    public let environment: String
    /// Who runs it, recorded in every event's metadata and as `appliedBy`.
    public var actor: String
    /// Seconds to wait for another run's lock on the target.
    public var lockTimeout: Double = 300
    public var logger: Logger?

    public init(store: any EventStore, environment: String, actor: String, logger: Logger? = nil) {
        self.store = store
        self.environment = environment
        self.actor = actor
        self.logger = logger
    }

    /// What the log says about this environment's migrations now.
    public func ledger() throws(EngineError) -> MigrationLedger {
        try MigrationLedger.load(environment: environment, from: store)
    }

    public func plan(_ source: MigrationSource) throws(EngineError) -> MigrationPlan {
        try MigrationPlan.make(files: try source.load(), ledger: try ledger())
    }

    public func status(_ source: MigrationSource) throws(EngineError) -> [MigrationStatusEntry] {
        MigrationPlan.status(files: try source.load(), ledger: try ledger())
    }

    /// What `up` did.
    public struct Run: Sendable, Equatable {
        public struct Applied: Sendable, Equatable {
            public var name: String
            public var fileName: String
            public var executionTimeMs: Int64
        }
        public var deploymentId: String
        public var registered: [String]
        public var applied: [Applied]
        /// Interrupted runs' migrations recorded as failed before this run.
        public var recoveredInterrupted: [String]
        /// The log's position after the run's last event.
        public var lastPosition: Int64
    }

    /// Progress of `up`, for a terminal line: called before and after each migration.
    public enum Progress: Sendable {
        case starting(MigrationFile, index: Int, of: Int)
        case applied(MigrationFile, executionTimeMs: Int64)
    }

    /// Applies the pending migrations of `source` to the database at `targetURL`.
    ///
    /// - Parameter deploymentId: ties the events of the run together (a pipeline passes its id);
    ///   a new UUID when nil.
    /// - Throws: `EngineError` — `.badInput`/`.checksumMismatch` before anything ran,
    ///   `.unavailable` when the target cannot be reached or stays locked, `.stepFailed` after
    ///   recording MigrationFailed (SQLSTATE, message and file in the message), `.conflict` when
    ///   the stream moved under the run.
    @discardableResult
    public func up(
        _ source: MigrationSource, targetURL: String, deploymentId: String? = nil, causationId: String? = nil,
        progress: (@Sendable (Progress) -> Void)? = nil
    ) throws(EngineError) -> Run {
        let files = try source.load()
        // Refuse what the log alone can refuse before touching the target.
        _ = try MigrationPlan.make(files: files, ledger: try ledger())

        let target = try TargetDatabase(url: targetURL, logger: logger)
        defer { target.unlock() }
        try target.lock(timeout: lockTimeout, environment: environment)
        // Under the lock: the log as it is now (another run may have just finished).
        var ledger = try self.ledger()
        let plan = try MigrationPlan.make(files: files, ledger: ledger)
        let deployment = deploymentId ?? UUID().uuidString.lowercased()
        let metadata = EventMetadata(
            actor: actor, correlationId: deployment, causationId: causationId, source: "deploylog migrate up")
        let appliedBy = actor == target.role || target.role.isEmpty ? actor : "\(actor) (role \(target.role))"
        var run = Run(deploymentId: deployment, registered: [], applied: [], recoveredInterrupted: [], lastPosition: 0)

        var batch: [ProposedEvent] = []
        for name in plan.interrupted {
            batch.append(
                try ProposedEvent(
                    MigrationFailed(
                        environment: environment, name: name,
                        deploymentId: ledger.entries[name]?.deploymentId ?? deployment,
                        executionTimeMs: 0,
                        error:
                            "interrupted: the run that started it ended without recording an outcome (found by deployment \(deployment))"
                    ),
                    metadata: metadata))
            run.recoveredInterrupted.append(name)
        }
        for f in plan.toRegister {
            batch.append(
                try ProposedEvent(
                    MigrationRegistered(
                        environment: environment, name: f.name, version: f.version, migrationType: f.type, sql: f.upSQL,
                        rollbackSql: f.downSQL, dependencies: f.dependencies, checksum: f.checksum,
                        transactional: f.upTransactional,
                        rollbackTransactional: f.downSQL == nil || f.downTransactional == f.upTransactional
                            ? nil : f.downTransactional),
                    metadata: metadata))
            run.registered.append(f.name)
        }
        // Each append is durable before the SQL after it runs, and one append (one fsync) per
        // migration carries the previous migration's outcome with this one's MigrationStarted.
        var carry = batch
        var carriedOutcome: (MigrationFile, Int64)? = nil
        func reportCarried() {
            if let (f, ms) = carriedOutcome {
                run.applied.append(Run.Applied(name: f.name, fileName: f.fileName, executionTimeMs: ms))
                progress?(.applied(f, executionTimeMs: ms))
                carriedOutcome = nil
            }
        }
        for (i, f) in plan.toApply.enumerated() {
            carry.append(
                try ProposedEvent(
                    MigrationStarted(environment: environment, name: f.name, deploymentId: deployment),
                    metadata: metadata))
            run.lastPosition = try append(carry, &ledger, outcome: carriedOutcome != nil)
            carry = []
            reportCarried()
            progress?(.starting(f, index: i + 1, of: plan.toApply.count))
            logger?.debug("applying migration", metadata: ["environment": "\(environment)", "file": "\(f.fileName)"])
            let clock = ContinuousClock()
            let started = clock.now
            var failure: PostgresError?
            do { try target.run(sql: f.upSQL, transactional: f.upTransactional) } catch { failure = error }
            let ms = Self.milliseconds(clock.now - started)
            if let failure {
                let text = Self.describe(failure)
                run.lastPosition = try append(
                    [
                        try ProposedEvent(
                            MigrationFailed(
                                environment: environment, name: f.name, deploymentId: deployment, executionTimeMs: ms,
                                error: text), metadata: metadata)
                    ], &ledger, outcome: true)
                var partial =
                    f.upTransactional
                    ? "" : " (it ran outside a transaction: statements before the failing one stay applied)"
                if failure.sqlState == "25001" && f.upTransactional {
                    partial +=
                        "; a statement that cannot run in a transaction needs `-- deploylog:up transaction=false`"
                }
                throw EngineError(
                    .stepFailed, "\(f.fileName): migration '\(f.name)' failed on \(environment): \(text)\(partial)",
                    sqlState: failure.sqlState)
            }
            carry.append(
                try ProposedEvent(
                    MigrationApplied(
                        environment: environment, name: f.name, deploymentId: deployment, executionTimeMs: ms,
                        appliedBy: appliedBy), metadata: metadata))
            carriedOutcome = (f, ms)
        }
        if !carry.isEmpty { run.lastPosition = try append(carry, &ledger, outcome: carriedOutcome != nil) }
        reportCarried()
        return run
    }

    /// Appends to the environment's stream at the ledger's version and folds the result in.
    ///
    /// `outcome`: the events record SQL that already ran. Then a conflict (a writer that did
    /// not hold the target's lock, e.g. the same environment deployed to another database)
    /// must not lose the record: the stream is folded again and the append retried once at
    /// its new version; the error, if any, says that the SQL ran.
    private func append(
        _ events: [ProposedEvent], _ ledger: inout MigrationLedger, outcome: Bool = false
    ) throws(EngineError) -> Int64 {
        let stream = MigrationLedger.stream(environment)
        var result: AppendResult
        do {
            result = try store.append(events, to: stream, expectedVersion: .after(ledger.streamVersion))
        } catch let error where error.code == .conflict && outcome {
            logger?.debug("conflict recording an outcome; folding \(stream) again", metadata: ["error": "\(error)"])
            ledger = try self.ledger()
            do {
                result = try store.append(events, to: stream, expectedVersion: .after(ledger.streamVersion))
            } catch {
                throw EngineError(
                    .conflict,
                    "\(error.message): the migration's SQL ran on the target but its outcome could not be recorded; "
                        + "another writer is using \(stream) without the target's lock")
            }
        } catch {
            throw EngineError(error)
        }
        // Fold what was written without reading it back (a read costs more than the append):
        // the store assigned positions and versions; the times are ours, close to the store's,
        // and only this run's ledger sees them (every later run folds the log itself).
        let now = Timestamp.now()
        for (i, e) in events.enumerated() {
            ledger.apply(
                RecordedEvent(
                    position: result.positions[i], stream: stream, streamVersion: result.streamVersions[i],
                    eventId: e.eventId, type: e.type, schemaVersion: e.schemaVersion, occurredAt: e.occurredAt ?? now,
                    recordedAt: now, metadata: e.metadata, data: e.data))
        }
        return result.positions.last ?? 0
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, attos) = d.components
        return s * 1000 + attos / 1_000_000_000_000_000
    }

    /// `SQLSTATE 42P01: relation "x" does not exist`.
    static func describe(_ e: PostgresError) -> String {
        var s = ""
        if let state = e.sqlState { s += "SQLSTATE \(state): " }
        s += e.message
        return s
    }
}
