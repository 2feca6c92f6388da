import DeployLogEvents
import DeployLogProjections
public import DeployLogStore

/// Plans a rollback by replay: folds the log to the target and to the head and turns the
/// difference of the environment's state (applied migrations, blue-green traffic,
/// configuration) into steps. Reads the log only.
public struct RollbackPlanner: Sendable {
    public let store: any EventStore
    public let environment: String

    public init(store: any EventStore, environment: String) {
        self.store = store
        self.environment = environment
    }

    /// The log position a target stands for.
    public func resolve(_ target: RollbackTarget) throws(EngineError) -> Int64 {
        switch target {
        case .point(let point):
            do { return try PointInTime(store: store, snapshots: nil, writesSnapshots: false).resolve(point) } catch let
                e
                as PointError
            {
                throw EngineError(e.code == .badInput ? .badInput : .notFound, e.message)
            } catch {
                throw EngineError(.internalError, "\(error)")
            }
        case .version(let v):
            var versions: [String: String] = [:]
            var found: Int64?
            do {
                try store.read(from: 1, filter: EventFilter(stream: MigrationLedger.stream(environment)), limit: nil) {
                    e in
                    guard let d = e.data.objectValue, let name = d["name"]?.stringValue else { return true }
                    if e.type == MigrationRegistered.eventType { versions[name] = d["version"]?.stringValue }
                    if e.type == MigrationApplied.eventType, versions[name] == v { found = e.position }
                    return true
                }
            } catch {
                throw EngineError(.internalError, "reading \(MigrationLedger.stream(environment)): \(error)")
            }
            guard let found else {
                throw EngineError(.notFound, "no migration of version \(v) was ever applied in \(environment)")
            }
            return found
        }
    }

    /// The plan to go back to `target`. Refuses a target that is not a consistent point for the
    /// environment (something was in flight there), naming the nearest earlier consistent one,
    /// and a migration to revert that has no rollback SQL, naming it.
    public func plan(to target: RollbackTarget) throws(EngineError) -> RollbackPlan {
        try plan(toPosition: try resolve(target), describedAs: target.description)
    }

    public func plan(toPosition target: Int64, describedAs label: String? = nil) throws(EngineError) -> RollbackPlan {
        let fold = try Fold.run(store: store, environment: environment, target: target)
        let label = label ?? "position:\(target)"
        guard fold.now.environments[environment] != nil || fold.atTarget.environments[environment] != nil else {
            throw EngineError(.notFound, "no environment '\(environment)' in the log")
        }
        guard fold.targetIsConsistent else {
            let nearest = fold.lastConsistentBeforeTarget
            throw EngineError(
                .badInput,
                "\(label) (position \(target)) is not a consistent point for \(environment): \(fold.inFlightAtTarget) was in flight there; "
                    + "the nearest earlier consistent point is position:\(nearest)")
        }
        let now = EnvironmentView(fold.now.environments[environment])
        let then = EnvironmentView(fold.atTarget.environments[environment])
        var steps: [RollbackPlan.Step] = []
        var notes: [String] = []
        func add(_ a: RollbackPlan.Step.Action) { steps.append(RollbackPlan.Step(order: steps.count + 1, action: a)) }

        // Migrations applied since: reverted, last applied first.
        let ledger = fold.ledger
        for m in now.appliedInOrder.reversed() where then.applied[m.name] == nil {
            guard let entry = ledger.entries[m.name], let sql = entry.rollbackSql else {
                throw EngineError(
                    .badInput,
                    "cannot roll \(environment) back to \(label): migration '\(m.name)' (version \(m.version)) has no rollback SQL recorded; "
                        + "nothing was done")
            }
            add(
                .revertMigration(
                    name: m.name, sql: sql, transactional: entry.rollbackTransactional,
                    deploymentId: entry.deploymentId ?? ""))
        }
        // Migrations applied at the target and rolled back since: applied again, in their order.
        for m in then.appliedInOrder where now.applied[m.name] == nil {
            guard let entry = ledger.entries[m.name], !entry.sql.isEmpty else {
                throw EngineError(.badInput, "cannot re-apply migration '\(m.name)': its SQL is not in the log")
            }
            add(.reapplyMigration(name: m.name, sql: entry.sql, transactional: entry.transactional))
        }
        // Blue-green pairs serving this environment: traffic back to the colour active then.
        for name in fold.now.blueGreen.keys.sorted() {
            guard fold.pairServes(name, environment), let current = fold.now.blueGreen[name] else { continue }
            guard let before = fold.atTarget.blueGreen[name] else {
                notes.append("blue-green \(name) was configured after the target; its traffic is left as it is")
                continue
            }
            if before.activeColor != current.activeColor {
                add(
                    .switchTraffic(
                        deploymentName: name, fromColor: current.activeColor, toColor: before.activeColor,
                        version: before.activeVersion ?? "unknown"))
            }
        }
        // Configuration.
        if let config = then.configuration {
            if config != now.configuration || (then.isActive && !now.isActive) { add(.restoreConfiguration(config)) }
        } else if now.configuration != nil {
            notes.append("\(environment) had no configuration at the target; its current configuration is kept")
        }
        if !then.isActive && now.isActive { add(.deactivateEnvironment) }

        return RollbackPlan(
            environment: environment, targetPosition: target, headPosition: fold.now.position, steps: steps,
            previousVersion: now.appliedInOrder.last?.version, targetVersion: then.appliedInOrder.last?.version,
            notes: notes, resumes: fold.failedRollback(to: target))
    }

    /// An environment's state, or the empty one when the log does not name it there.
    struct EnvironmentView {
        var applied: [String: StateProjector.AppliedMigration]
        var appliedInOrder: [StateProjector.AppliedMigration]
        var configuration: JSONObject?
        var isActive: Bool

        init(_ e: StateProjector.Environment?) {
            applied = e?.applied ?? [:]
            appliedInOrder = e?.appliedInOrder ?? []
            configuration = e?.configuration
            isActive = e?.isActive ?? true
        }
    }

    /// One pass over the log: the state at the target and at the head, whether the target is
    /// consistent for the environment, the migrations ledger, pairs and past rollbacks.
    struct Fold {
        var now = StateProjector()
        var atTarget = StateProjector()
        var targetIsConsistent = false
        var lastConsistentBeforeTarget: Int64 = 0
        var inFlightAtTarget = ""
        var ledger: MigrationLedger
        var pairs = BlueGreenProjector()
        /// Rollbacks of the environment: id → (target position, last outcome).
        var rollbacks: [(id: String, target: Int64, failed: Bool)] = []

        static func run(store: any EventStore, environment: String, target: Int64) throws(EngineError) -> Fold {
            var f = Fold(ledger: MigrationLedger(environment: environment))
            let stream = MigrationLedger.stream(environment)
            var targetTaken = false
            func takeTarget() {
                var s = f.now
                s.advance(to: target, occurredAt: f.now.lastOccurredAt)
                f.atTarget = s
                let env = s.environments[environment]
                f.targetIsConsistent = env?.isConsistent ?? true
                if let env, !env.isConsistent {
                    let what =
                        env.runningPipelines.map { "pipeline \($0)" } + env.runningMigrations.map { "migration \($0)" }
                        + env.runningRollbacks.map { "rollback \($0)" }
                    f.inFlightAtTarget = what.joined(separator: ", ")
                }
                targetTaken = true
            }
            do {
                let head = try store.head().position
                guard target <= head else {
                    throw EngineError(.notFound, "position \(target) is past the head of the log (\(head))")
                }
                // Only the types the state folds (stage and rollback-step events change nothing
                // here, so the positions skipped keep the consistency of the one before them).
                try store.read(from: 1, filter: EventFilter(types: StateProjector.readsTypes), limit: nil) { e in
                    if !targetTaken, e.position > target { takeTarget() }
                    if !targetTaken, f.now.environments[environment]?.isConsistent ?? true {
                        f.lastConsistentBeforeTarget = e.position - 1
                    }
                    let p = ProjectedEvent(e)
                    f.now.apply(p)
                    f.pairs.apply(p)
                    if e.stream == stream { f.ledger.apply(e) }
                    if e.type == RollbackStarted.eventType,
                        e.data.objectValue?["environment"]?.stringValue == environment,
                        let id = e.data.objectValue?["rollbackId"]?.stringValue
                    {
                        f.rollbacks.append(
                            (id, e.data.objectValue?["targetPosition"]?.numberValue?.int64Value ?? -1, false))
                    }
                    if e.type == RollbackFailed.eventType || e.type == RollbackCompleted.eventType,
                        let id = e.data.objectValue?["rollbackId"]?.stringValue,
                        let i = f.rollbacks.firstIndex(where: { $0.id == id })
                    {
                        f.rollbacks[i].failed = e.type == RollbackFailed.eventType
                    }
                    return true
                }
                if !targetTaken { takeTarget() }
                f.now.advance(to: head, occurredAt: f.now.lastOccurredAt)
            } catch let e as EngineError {
                throw e
            } catch let e as StoreError {
                throw EngineError(e)
            } catch {
                throw EngineError(.internalError, "reading the log: \(error)")
            }
            return f
        }

        /// Whether the pair named `name` serves `environment`: named after it, or one of its
        /// colours' environments is it or starts with `<environment>-`.
        func pairServes(_ name: String, _ environment: String) -> Bool {
            if name == environment { return true }
            guard let d = pairs.deployment(name) else { return false }
            return [d.blueEnvironment, d.greenEnvironment].contains {
                $0 == environment || $0.hasPrefix(environment + "-")
            }
        }

        /// The last rollback of the environment, when it failed and went to `target`.
        func failedRollback(to target: Int64) -> String? {
            guard let last = rollbacks.last, last.failed, last.target == target else { return nil }
            return last.id
        }
    }
}
