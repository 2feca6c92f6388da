public import DeployLogEvents
public import DeployLogStore
import Foundation
public import Logging

/// Blue-green deployments: configure a pair, deploy a version to its inactive colour (migrate,
/// health-check, switch only when healthy), switch traffic, all recorded in `bluegreen-<name>`
/// with the stream's expected version on every append (two runs on one pair conflict instead of
/// interleaving).
///
/// Blocking (libpq, subprocesses): call it off Swift's shared pool.
public struct BlueGreenDeployer: Sendable {
    public let store: any EventStore
    public var actor: String
    public var logger: Logger?
    /// Seconds a switch command may run.
    public var switchTimeoutSeconds: Double = 300

    public init(store: any EventStore, actor: String, logger: Logger? = nil) {
        self.store = store
        self.actor = actor
        self.logger = logger
    }

    // MARK: Configure

    /// Appends BlueGreenConfigured with passwords removed from both URLs. A new pair starts with
    /// `activeColor` (default blue); a reconfigured pair keeps the colour serving now (moving
    /// traffic is `switchTraffic`'s job, so asking for the other colour here is refused).
    @discardableResult
    public func configure(
        name: String, blueURL: String, greenURL: String, blueEnvironment: String? = nil,
        greenEnvironment: String? = nil, activeColor: BlueGreenColor? = nil, switchCommand: String? = nil,
        healthCheckQuery: String? = nil, slowStatementMs: Int64? = nil
    ) throws(EngineError) -> Int64 {
        guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "/" || $0.isNewline }) else {
            throw EngineError(.badInput, "bad blue-green pair name '\(name)': no spaces, slashes or newlines")
        }
        for (flag, url) in [("--blue", blueURL), ("--green", greenURL)] where !Self.isPostgresURL(url) {
            throw EngineError(
                .badInput,
                "\(flag) must be a postgres:// or postgresql:// URL, got '\(CredentialRedaction.redact(string: url))'")
        }
        let existing = try BlueGreenPair.load(name, from: store)
        if let existing, let activeColor, activeColor != existing.activeColor {
            throw EngineError(
                .badInput,
                "blue-green \(name) is serving \(existing.activeColor.rawValue): --active cannot move traffic (use `deploylog bluegreen switch \(name)`)"
            )
        }
        let event = BlueGreenConfigured(
            deploymentName: name, blueEnvironment: blueEnvironment ?? existing?.blueEnvironment ?? "\(name)-blue",
            greenEnvironment: greenEnvironment ?? existing?.greenEnvironment ?? "\(name)-green",
            blueDatabaseUrl: CredentialRedaction.redact(string: blueURL),
            greenDatabaseUrl: CredentialRedaction.redact(string: greenURL),
            activeColor: existing?.activeColor ?? activeColor ?? .blue,
            switchCommand: switchCommand ?? existing?.switchCommand,
            healthCheckQuery: healthCheckQuery ?? existing?.healthCheckQuery,
            slowStatementMs: slowStatementMs ?? existing?.slowStatementMs)
        return try append(
            [event], to: existing ?? BlueGreenPair(name: name),
            metadata: metadata(source: "deploylog bluegreen configure"))
    }

    // MARK: Deploy

    public struct DeployResult: Sendable, Equatable {
        public var pair: String
        public var version: String
        public var targetColor: BlueGreenColor
        public var migrationsApplied: [String]
        public var checks: [HealthCheck]
        public var healthy: Bool
        /// Whether traffic moved to `targetColor`.
        public var switched: Bool
        /// Why it did not, when it did not.
        public var failure: String?
        public var switchOutput: String?
    }

    /// Progress of a deploy, for a terminal.
    public enum Progress: Sendable {
        case deploying(version: String, color: BlueGreenColor, environment: String)
        case migrated([String])
        case checked([HealthCheck])
        case switched(from: BlueGreenColor, to: BlueGreenColor)
        case failed(String)
    }

    /// Deploys `version` to the inactive colour: DeployToInactiveStarted; the migrations of
    /// `source` applied to that colour's database (environment = the colour's environment);
    /// health checks on it (HealthChecksRecorded); then, only when healthy, the switch
    /// (TrafficSwitchStarted, the command, TrafficSwitched). A failed migration, a failed check or
    /// a failed switch command records BlueGreenDeployFailed and leaves the active colour serving.
    ///
    /// Returns the result (also when it failed: `switched` is false and `failure` says why);
    /// throws only when nothing could be recorded (no pair, bad source, store errors).
    public func deploy(
        name: String, version: String, source: MigrationSource, pipelineId: String? = nil,
        healthCheck: HealthCheckOptions? = nil, progress: (@Sendable (Progress) -> Void)? = nil
    ) throws(EngineError) -> DeployResult {
        guard var pair = try BlueGreenPair.load(name, from: store) else { throw Self.noPair(name) }
        if let unfinished = pair.unfinishedSwitch { throw Self.unfinished(unfinished, of: name, refusing: "deploy") }
        _ = try source.load()  // a bad migration file is refused before anything is recorded
        let target = pair.inactiveColor
        let environment = pair.environment(of: target)
        guard let url = pair.databaseURL(of: target) else {
            throw EngineError(
                .badInput,
                "blue-green \(name) has no database URL for \(target.rawValue) (configure it with --\(target.rawValue))"
            )
        }
        let meta = metadata(source: "deploylog bluegreen deploy", correlation: pipelineId)
        var result = DeployResult(
            pair: name, version: version, targetColor: target, migrationsApplied: [], checks: [], healthy: false,
            switched: false)

        progress?(.deploying(version: version, color: target, environment: environment))
        try append(
            [
                DeployToInactiveStarted(
                    deploymentName: name, version: version, targetColor: target, pipelineId: pipelineId)
            ],
            to: &pair, metadata: meta)

        var migrator = Migrator(store: store, environment: environment, actor: actor, logger: logger)
        migrator.lockTimeout = 300
        do {
            let run = try migrator.up(source, targetURL: url, deploymentId: pipelineId, causationId: pipelineId)
            result.migrationsApplied = run.applied.map(\.name)
            progress?(.migrated(result.migrationsApplied))
        } catch {
            let reason = "migrating \(target.rawValue) (\(environment)) failed: \(error.message)"
            try fail(&pair, version: version, reason: reason, metadata: meta)
            result.failure = reason
            progress?(.failed(reason))
            return result
        }

        let options = healthCheck ?? options(of: pair)
        let checks = HealthChecker.run(url: url, options: options, logger: logger)
        result.checks = checks
        result.healthy = HealthChecker.isHealthy(checks)
        try append(
            [HealthChecksRecorded(deploymentName: name, color: target, healthy: result.healthy, checks: checks)],
            to: &pair,
            metadata: meta)
        progress?(.checked(checks))
        guard result.healthy else {
            let reason =
                "health checks failed on \(target.rawValue): \(HealthChecker.problem(checks) ?? "unhealthy"); traffic stays on \(pair.activeColor.rawValue)"
            try fail(&pair, version: version, reason: reason, metadata: meta)
            result.failure = reason
            progress?(.failed(reason))
            return result
        }

        do {
            result.switchOutput = try switchTraffic(&pair, version: version, metadata: meta)
            result.switched = true
            progress?(.switched(from: target == .blue ? .green : .blue, to: target))
        } catch {
            let reason =
                "switching traffic to \(target.rawValue) failed: \(error.message); traffic stays on \(pair.activeColor.rawValue)"
            try fail(&pair, version: version, reason: reason, metadata: meta)
            result.failure = reason
            progress?(.failed(reason))
        }
        return result
    }

    // MARK: Switch

    public struct SwitchResult: Sendable, Equatable {
        public var pair: String
        public var fromColor: BlueGreenColor
        public var toColor: BlueGreenColor
        public var version: String
        public var output: String?
    }

    /// Moves traffic to the inactive colour: TrafficSwitchStarted, the configured command, then
    /// TrafficSwitched. A failing command records BlueGreenDeployFailed and throws `.stepFailed`:
    /// the active colour does not change.
    @discardableResult
    ///
    /// A colour whose last health checks failed, or whose last deploy recorded none (it failed
    /// before them, say in a migration), is refused (nothing is recorded) unless `force`: deploy
    /// to it again first.
    ///
    /// A pair whose last switch started and has no outcome (`BlueGreenPair.unfinishedSwitch`) is
    /// refused too unless `force`, which is how the operator reconciles it: the same switch
    /// (the active colour has not changed, so the inactive one is where it was going) runs
    /// again and its outcome is recorded. Switch commands set where traffic goes, so running one
    /// that may already have run is safe; guessing its outcome from the log is not.
    public func switchTraffic(name: String, pipelineId: String? = nil, force: Bool = false) throws(EngineError)
        -> SwitchResult
    {
        guard var pair = try BlueGreenPair.load(name, from: store) else { throw Self.noPair(name) }
        if !force, let unfinished = pair.unfinishedSwitch {
            throw Self.unfinished(unfinished, of: name, refusing: "switch")
        }
        let from = pair.activeColor
        let to = pair.inactiveColor
        let version = pair.versions[to] ?? "unknown"
        if !force, pair.uncheckedColors.contains(to) {
            let why = pair.status == "failed" ? pair.lastFailure.map { " (it failed: \($0))" } ?? "" : ""
            throw EngineError(
                .stepFailed,
                "blue-green \(name): the last deploy to \(to.rawValue) (version \(version)) has no health checks\(why); "
                    + "traffic stays on \(from.rawValue) — deploy to \(to.rawValue) again, or force the switch")
        }
        if !force, let last = pair.lastHealthChecks[to], !last.healthy {
            throw EngineError(
                .stepFailed,
                "blue-green \(name): the last health checks of \(to.rawValue) failed (\(HealthChecker.problem(last.checks) ?? "unhealthy")); "
                    + "traffic stays on \(from.rawValue) — deploy to \(to.rawValue) again, or force the switch")
        }
        let meta = metadata(source: "deploylog bluegreen switch", correlation: pipelineId)
        do {
            let output = try switchTraffic(&pair, version: version, metadata: meta)
            return SwitchResult(pair: name, fromColor: from, toColor: to, version: version, output: output)
        } catch {
            let reason =
                "switching traffic to \(to.rawValue) failed: \(error.message); traffic stays on \(from.rawValue)"
            try fail(&pair, version: version, reason: reason, metadata: meta)
            throw EngineError(.stepFailed, "blue-green \(name): \(reason)")
        }
    }

    /// TrafficSwitchStarted, the command, TrafficSwitched (not when the command fails).
    private func switchTraffic(_ pair: inout BlueGreenPair, version: String, metadata: EventMetadata)
        throws(EngineError) -> String?
    {
        let from = pair.activeColor
        let to = pair.inactiveColor
        try append(
            [TrafficSwitchStarted(deploymentName: pair.name, fromColor: from, toColor: to)], to: &pair,
            metadata: metadata)
        let output = try Self.runSwitchCommand(pair, to: to, version: version, timeoutSeconds: switchTimeoutSeconds)
        try append(
            [TrafficSwitched(deploymentName: pair.name, fromColor: from, toColor: to, version: version)], to: &pair,
            metadata: metadata)
        return output
    }

    /// Runs the pair's switch command (if it has one) with `DEPLOYLOG_BLUEGREEN`,
    /// `DEPLOYLOG_COLOR`, `DEPLOYLOG_FROM_COLOR`, `DEPLOYLOG_DATABASE_URL` (no password: libpq
    /// reads `PGPASSWORD` or `~/.pgpass`), `DEPLOYLOG_ENVIRONMENT` and `DEPLOYLOG_VERSION` set.
    /// Returns its output; throws `.stepFailed` when it exits non-zero or times out.
    public static func runSwitchCommand(
        _ pair: BlueGreenPair, to color: BlueGreenColor, version: String, timeoutSeconds: Double = 300
    ) throws(EngineError) -> String? {
        guard let command = pair.switchCommand, !command.isEmpty else { return nil }
        let from: BlueGreenColor = color == .blue ? .green : .blue
        let env = [
            "DEPLOYLOG_BLUEGREEN": pair.name, "DEPLOYLOG_COLOR": color.rawValue, "DEPLOYLOG_FROM_COLOR": from.rawValue,
            "DEPLOYLOG_DATABASE_URL": pair.databaseURL(of: color) ?? "",
            "DEPLOYLOG_ENVIRONMENT": pair.environment(of: color),
            "DEPLOYLOG_VERSION": version,
        ]
        let r = try ShellCommand.run(command, timeoutSeconds: timeoutSeconds, environment: env)
        let output = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.succeeded else {
            let tail = output.split(whereSeparator: \.isNewline).last.map { ": \($0)" } ?? ""
            throw EngineError(.stepFailed, "switch command \(r.failureText(timeoutSeconds: timeoutSeconds))\(tail)")
        }
        return output.isEmpty ? nil : output
    }

    /// What a rollback runs to switch a pair back: the pair's command, folded from the log at
    /// the time of the switch (the rollback records the events itself).
    public func trafficSwitcher() -> @Sendable (TrafficSwitch) throws -> String? {
        let store = self.store
        let timeout = switchTimeoutSeconds
        return { request in
            guard let pair = try BlueGreenPair.load(request.deploymentName, from: store),
                let to = BlueGreenColor(rawValue: request.toColor)
            else { return nil }
            return try Self.runSwitchCommand(pair, to: to, version: request.version, timeoutSeconds: timeout)
        }
    }

    // MARK: Internals

    /// The pair's configured health checks.
    public func options(of pair: BlueGreenPair) -> HealthCheckOptions {
        HealthCheckOptions(query: pair.healthCheckQuery, slowStatementMs: pair.slowStatementMs.map(Double.init))
    }

    private func fail(_ pair: inout BlueGreenPair, version: String, reason: String, metadata: EventMetadata)
        throws(EngineError)
    {
        try append(
            [
                BlueGreenDeployFailed(
                    deploymentName: pair.name, version: version, reason: reason, rollbackTriggered: false)
            ],
            to: &pair, metadata: metadata)
    }

    private func metadata(source: String, correlation: String? = nil) -> EventMetadata {
        EventMetadata(actor: actor, correlationId: correlation ?? UUID().uuidString.lowercased(), source: source)
    }

    /// Appends to the pair's stream at its folded version, and folds the events in.
    @discardableResult
    private func append<E: DeployLogEvent>(_ events: [E], to pair: BlueGreenPair, metadata: EventMetadata)
        throws(EngineError) -> Int64
    {
        var copy = pair
        return try append(events, to: &copy, metadata: metadata)
    }

    @discardableResult
    private func append<E: DeployLogEvent>(_ events: [E], to pair: inout BlueGreenPair, metadata: EventMetadata)
        throws(EngineError) -> Int64
    {
        var proposed: [ProposedEvent] = []
        for e in events { proposed.append(try ProposedEvent(e, metadata: metadata)) }
        let stream = BlueGreenPair.stream(pair.name)
        let result: AppendResult
        do {
            result = try store.append(proposed, to: stream, expectedVersion: .after(pair.streamVersion))
        } catch {
            throw EngineError(error)
        }
        do {
            try store.read(from: result.positions[0], filter: EventFilter(stream: stream), limit: proposed.count) { e in
                pair.apply(e)
                return true
            }
        } catch {
            throw EngineError(.internalError, "reading back \(stream): \(error)")
        }
        return result.positions.last ?? 0
    }

    static func noPair(_ name: String) -> EngineError {
        EngineError(
            .notFound,
            "no blue-green pair '\(name)' (configure it with `deploylog bluegreen configure \(name) --blue URL --green URL`)"
        )
    }

    /// Why a deploy or switch is refused while the pair's last switch has no outcome.
    static func unfinished(_ u: BlueGreenPair.UnfinishedSwitch, of name: String, refusing action: String)
        -> EngineError
    {
        EngineError(
            .conflict,
            "blue-green \(name): \(action) refused: the traffic switch from \(u.fromColor.rawValue) to \(u.toColor.rawValue) "
                + "started at \(u.startedAt) (position \(u.position)) has no outcome — a run is switching now, or one was killed "
                + "and \(u.toColor.rawValue) may be serving; once none is running, `deploylog bluegreen switch \(name) --force` "
                + "runs that switch again and records its outcome")
    }

    static func isPostgresURL(_ s: String) -> Bool {
        let l = s.lowercased()
        return l.hasPrefix("postgres://") || l.hasPrefix("postgresql://")
    }
}
