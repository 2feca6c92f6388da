public import DeployLogEvents
import DeployLogPostgres
public import DeployLogStore
import Foundation
public import Logging

/// A blue-green traffic switch a rollback asks for. The blue-green module fills
/// `RollbackExecutor.trafficSwitcher` with the pair's configured switch command; without it the
/// switch is recorded (TrafficSwitchStarted, TrafficSwitched) and no command runs.
public struct TrafficSwitch: Sendable, Equatable {
    public var deploymentName: String
    public var fromColor: String
    public var toColor: String
    public var version: String
    public var environment: String
    public var rollbackId: String
}

/// Executes a rollback plan: RollbackStarted, then each step followed by its events in one
/// atomic append (RollbackStepExecuted, with MigrationRolledBack for a reverted migration),
/// then RollbackCompleted — or RollbackFailed at the first failing step, after which a rerun
/// plans only what is left and so resumes.
///
/// Steps that touch the database run under the deploylog advisory lock on the target; the plan
/// is made again under the lock and must equal the one shown, so a plan is never executed
/// against a log that moved.
public struct RollbackExecutor: Sendable {
    public let store: any EventStore
    public let environment: String
    public var actor: String
    public var lockTimeout: Double = 300
    public var logger: Logger?
    /// Runs a blue-green switch; returns what it printed. Nil: the switch is only recorded.
    public var trafficSwitcher: (@Sendable (TrafficSwitch) throws -> String?)?

    public init(store: any EventStore, environment: String, actor: String, logger: Logger? = nil) {
        self.store = store
        self.environment = environment
        self.actor = actor
        self.logger = logger
    }

    public struct Result: Sendable, Equatable {
        public var rollbackId: String
        public var stepsExecuted: Int
        /// The migrations reverted, in the order they were.
        public var reverted: [String]
        public var lastPosition: Int64
    }

    public enum Progress: Sendable {
        case step(RollbackPlan.Step, of: Int)
        case done(RollbackPlan.Step, durationMs: Int64)
    }

    /// Executes `plan`.
    ///
    /// - Parameters:
    ///   - targetURL: the environment's database; required when the plan reverts or re-applies
    ///     migrations.
    ///   - rollbackType: `manual` from the command line; `automatic` from a failed pipeline.
    ///   - pipelineId: the pipeline being rolled back, if any.
    /// - Throws: `.conflict` when the log moved since the plan; `.stepFailed` after recording
    ///   RollbackFailed; `.unavailable` when the target cannot be reached or stays locked.
    @discardableResult
    public func execute(
        _ plan: RollbackPlan, targetURL: String?, reason: String, rollbackType: RollbackType = .manual,
        pipelineId: String? = nil, rollbackId: String? = nil, progress: (@Sendable (Progress) -> Void)? = nil
    ) throws(EngineError) -> Result {
        let id = rollbackId ?? UUID().uuidString.lowercased()
        let metadata = EventMetadata(
            actor: actor, correlationId: id, causationId: pipelineId, source: "deploylog rollback")
        let planner = RollbackPlanner(store: store, environment: environment)
        var target: TargetDatabase?
        defer { target?.unlock() }
        if plan.needsDatabase {
            guard let targetURL else {
                throw EngineError(
                    .badInput,
                    "the plan reverts migrations in \(environment) but there is no database URL (give --target, or `env set \(environment) --url`)"
                )
            }
            let t = try TargetDatabase(url: targetURL, logger: logger)
            try t.lock(timeout: lockTimeout, environment: environment)
            target = t
        }
        // Under the lock: the plan again, from the log as it is now.
        let fresh = try planner.plan(toPosition: plan.targetPosition)
        guard fresh.steps == plan.steps else {
            throw EngineError(
                .conflict,
                "the log changed since the rollback plan for \(environment) was made (head \(plan.headPosition), now \(fresh.headPosition)); nothing was done — plan again"
            )
        }
        var ledger = try MigrationLedger.load(environment: environment, from: store)
        var rollbackVersion: Int64? = nil
        var result = Result(rollbackId: id, stepsExecuted: 0, reverted: [], lastPosition: 0)

        // Rollbacks of this environment left running by a run that died: closed as failed.
        var opening: [ProposedEvent] = []
        for stale in try runningRollbacks() {
            var e = try ProposedEvent(
                RollbackFailed(
                    rollbackId: stale, error: "abandoned: its run ended without an outcome; resumed by rollback \(id)"),
                metadata: metadata)
            e.expectedVersion = .any
            opening.append(e)
        }
        var reasonText = reason
        if let resumes = plan.resumes { reasonText += " (resumes failed rollback \(resumes))" }
        opening.append(
            try ProposedEvent(
                RollbackStarted(
                    rollbackId: id, environment: environment, pipelineId: pipelineId, reason: reasonText,
                    rollbackType: rollbackType, previousVersion: plan.previousVersion,
                    targetVersion: plan.targetVersion,
                    targetPosition: plan.targetPosition), metadata: metadata, expectedVersion: .noStream))
        result.lastPosition = try append(opening)
        rollbackVersion = 0

        for step in plan.steps {
            progress?(.step(step, of: plan.steps.count))
            let clock = ContinuousClock()
            let started = clock.now
            var events: [ProposedEvent] = []
            var output: String? = nil
            do throws(EngineError) {
                switch step.action {
                case .revertMigration(let name, let sql, let transactional, let deploymentId):
                    try runSQL(target, sql, transactional, what: "rollback SQL of migration '\(name)'")
                    let ms = Migrator.milliseconds(clock.now - started)
                    events.append(
                        try ProposedEvent(
                            MigrationRolledBack(
                                environment: environment, name: name, deploymentId: deploymentId, rollbackId: id,
                                executionTimeMs: ms), metadata: metadata, expectedVersion: .after(ledger.streamVersion))
                    )
                    result.reverted.append(name)
                case .reapplyMigration(let name, let sql, let transactional):
                    guard let target else {
                        throw EngineError(.internalError, "no target database for SQL of migration '\(name)'")
                    }
                    var startedEvent = try ProposedEvent(
                        MigrationStarted(environment: environment, name: name, deploymentId: id), metadata: metadata,
                        expectedVersion: .after(ledger.streamVersion))
                    startedEvent.expectedVersion = .after(ledger.streamVersion)
                    try appendAndFold([startedEvent], &ledger)
                    do { try target.run(sql: sql, transactional: transactional) } catch {
                        // The migration's own outcome, before RollbackFailed: without it the
                        // migrations stream shows it running for ever and the next `up`
                        // records it as interrupted instead of failed with its error.
                        try appendAndFold(
                            [
                                try ProposedEvent(
                                    MigrationFailed(
                                        environment: environment, name: name, deploymentId: id,
                                        executionTimeMs: Migrator.milliseconds(clock.now - started),
                                        error: Migrator.describe(error)),
                                    metadata: metadata, expectedVersion: .after(ledger.streamVersion))
                            ], &ledger)
                        throw EngineError(
                            .stepFailed, "SQL of migration '\(name)': \(Migrator.describe(error))",
                            sqlState: error.sqlState)
                    }
                    let ms = Migrator.milliseconds(clock.now - started)
                    events.append(
                        try ProposedEvent(
                            MigrationApplied(
                                environment: environment, name: name, deploymentId: id, executionTimeMs: ms,
                                appliedBy: actor), metadata: metadata, expectedVersion: .after(ledger.streamVersion)))
                case .switchTraffic(let name, let from, let to, let version):
                    let request = TrafficSwitch(
                        deploymentName: name, fromColor: from, toColor: to, version: version, environment: environment,
                        rollbackId: id)
                    guard let fromColor = BlueGreenColor(rawValue: from), let toColor = BlueGreenColor(rawValue: to)
                    else {
                        throw EngineError(.internalError, "blue-green \(name): unknown colour \(from) or \(to)")
                    }
                    events.append(
                        try ProposedEvent(
                            TrafficSwitchStarted(deploymentName: name, fromColor: fromColor, toColor: toColor),
                            metadata: metadata))
                    output = try switchTraffic(request)
                    events.append(
                        try ProposedEvent(
                            TrafficSwitched(
                                deploymentName: name, fromColor: fromColor, toColor: toColor, version: version),
                            metadata: metadata))
                case .restoreConfiguration(let config):
                    var data = config
                    data["environment"] = .string(environment)
                    events.append(
                        ProposedEvent(
                            stream: "environment-\(environment)", type: EnvironmentConfigured.eventType,
                            data: CredentialRedaction.redact(.object(data)), metadata: metadata.object))
                case .deactivateEnvironment:
                    events.append(
                        try ProposedEvent(
                            EnvironmentDeactivated(environment: environment, reason: "rollback \(id)"),
                            metadata: metadata))
                }
            } catch {
                let failed = try? append([
                    try ProposedEvent(
                        RollbackFailed(rollbackId: id, failedStep: step.order, error: error.message),
                        metadata: metadata, expectedVersion: .after(rollbackVersion))
                ])
                result.lastPosition = failed ?? result.lastPosition
                throw EngineError(
                    .stepFailed,
                    "rollback \(id) of \(environment) failed at step \(step.order) (\(step.actionName) \(step.target)): \(error.message); "
                        + "run the same rollback again to resume", sqlState: error.sqlState)
            }
            let ms = Migrator.milliseconds(clock.now - started)
            events.append(
                try ProposedEvent(
                    RollbackStepExecuted(
                        rollbackId: id, step: step.order, action: step.actionName, target: step.target, durationMs: ms,
                        output: output), metadata: metadata, expectedVersion: .after(rollbackVersion)))
            result.lastPosition = try appendAndFold(events, &ledger)
            rollbackVersion = (rollbackVersion ?? -1) + 1
            result.stepsExecuted += 1
            progress?(.done(step, durationMs: ms))
        }
        result.lastPosition = try append([
            try ProposedEvent(
                RollbackCompleted(rollbackId: id), metadata: metadata, expectedVersion: .after(rollbackVersion))
        ])
        return result
    }

    private func switchTraffic(_ request: TrafficSwitch) throws(EngineError) -> String? {
        guard let trafficSwitcher else { return "recorded only: no switch command was run by the rollback" }
        do { return try trafficSwitcher(request) } catch {
            throw EngineError(.stepFailed, "switching \(request.deploymentName) to \(request.toColor): \(error)")
        }
    }

    private func runSQL(_ target: TargetDatabase?, _ sql: String, _ transactional: Bool, what: String)
        throws(EngineError)
    {
        guard let target else { throw EngineError(.internalError, "no target database for \(what)") }
        do { try target.run(sql: sql, transactional: transactional) } catch {
            throw EngineError(.stepFailed, "\(what): \(Migrator.describe(error))", sqlState: error.sqlState)
        }
    }

    @discardableResult
    private func append(_ events: [ProposedEvent]) throws(EngineError) -> Int64 {
        do { return try store.append(events).positions.last ?? 0 } catch { throw EngineError(error) }
    }

    /// Appends, then folds the environment's migration events among them into `ledger`.
    @discardableResult
    private func appendAndFold(_ events: [ProposedEvent], _ ledger: inout MigrationLedger) throws(EngineError) -> Int64
    {
        let result: AppendResult
        do { result = try store.append(events) } catch { throw EngineError(error) }
        let stream = MigrationLedger.stream(environment)
        for (i, e) in events.enumerated() where e.stream == stream {
            do {
                try store.read(from: result.positions[i], filter: EventFilter(stream: stream), limit: 1) {
                    ledger.apply($0)
                    return false
                }
            } catch {
                throw EngineError(.internalError, "reading back \(stream): \(error)")
            }
        }
        return result.positions.last ?? 0
    }

    /// Rollbacks of this environment started and never finished.
    private func runningRollbacks() throws(EngineError) -> [String] {
        var running: [String] = []
        do {
            let filter = EventFilter(
                categories: ["rollback"],
                types: [RollbackStarted.eventType, RollbackCompleted.eventType, RollbackFailed.eventType])
            var envOf: [String: String] = [:]
            try store.read(from: 1, filter: filter, limit: nil) { e in
                guard let d = e.data.objectValue, let id = d["rollbackId"]?.stringValue else { return true }
                if e.type == RollbackStarted.eventType {
                    envOf[id] = d["environment"]?.stringValue
                    if envOf[id] == environment { running.append(id) }
                } else {
                    running.removeAll { $0 == id }
                }
                return true
            }
        } catch {
            throw EngineError(.internalError, "reading rollbacks: \(error)")
        }
        return running
    }
}
