import DeployLogEvents
import DeployLogProjections
public import DeployLogStore
import Foundation
public import Logging

/// Runs a pipeline, appending each step to `pipeline-<id>` as it happens: PipelineStarted, then
/// per stage StageStarted and StageCompleted or StageFailed; after a failed stage the rest are
/// StageSkipped and the run ends PipelineFailed, else PipelineCompleted.
///
/// When a stage failed and the environment's rollback policy (folded from the log) is
/// `automatic`, a rollback to the position just before PipelineStarted follows at once (the
/// rollback engine's plan: migrations the run applied reverted, traffic it switched moved back,
/// configuration restored), and the run ends PipelineRolledBack: its status is `rolled_back`.
///
/// Blocking (libpq, subprocesses): call it off Swift's shared pool.
public struct PipelineRunner: Sendable {
    public let store: any EventStore
    public var actor: String
    public var logger: Logger?
    /// The environment's database; nil: the URL its EnvironmentConfigured recorded.
    public var targetURL: String?
    /// The working directory of `run` steps (nil: this process's).
    public var workingDirectory: String?

    public init(store: any EventStore, actor: String, logger: Logger? = nil) {
        self.store = store
        self.actor = actor
        self.logger = logger
    }

    public enum Status: String, Sendable {
        case completed, failed
        case rolledBack = "rolled_back"
    }

    public struct StageResult: Sendable, Equatable {
        public enum Outcome: String, Sendable { case completed, failed, skipped }
        public var name: String
        public var order: Int
        public var outcome: Outcome
        public var durationMs: Int64
        public var output: String?
        public var error: String?
    }

    public struct Result: Sendable, Equatable {
        public var pipelineId: String
        public var status: Status
        public var stages: [StageResult]
        public var failedStage: String?
        public var error: String?
        /// The rollback that followed a failure, when one did.
        public var rollbackId: String?
        public var rollbackSteps: [String] = []
        /// Why no rollback followed a failure, or why the rollback failed.
        public var rollbackNote: String?
        /// The log position just before PipelineStarted: where a rollback returns to.
        public var startPosition: Int64
    }

    public enum Progress: Sendable {
        case started(pipelineId: String, environment: String)
        case stageStarted(PipelineDefinition.Stage, order: Int, of: Int)
        case stageFinished(StageResult)
        case rollingBack(rollbackId: String, steps: [String])
        case finished(Status)
    }

    /// Runs `definition`. A failing pipeline is a result (status `failed` or `rolled_back`),
    /// not an error; errors are what stops the run from being recorded: an unknown environment
    /// or blue-green pair, a bad migration directory (all refused before anything is appended),
    /// the store failing, the log moving under the run.
    public func run(
        _ definition: PipelineDefinition, pipelineId: String? = nil, progress: (@Sendable (Progress) -> Void)? = nil
    ) throws(EngineError) -> Result {
        // Every decision from the log: the environment and its policy, the pairs it switches.
        let environments = Environments(store: store)
        guard let environment = try environments.environment(definition.environment) else {
            throw EngineError(
                .notFound,
                "no environment '\(definition.environment)' (configure it with `deploylog env set \(definition.environment) --type … --url …`)"
            )
        }
        guard environment.isActive else {
            throw EngineError(.badInput, "environment '\(definition.environment)' is deactivated")
        }
        let needsDatabase = definition.stages.contains {
            switch $0.step {
            case .migrate, .healthCheck: true
            default: false
            }
        }
        let url = targetURL ?? environment.databaseUrl
        if needsDatabase, url == nil || url!.isEmpty {
            throw EngineError(
                .badInput,
                "environment '\(definition.environment)' has no database URL for the migrate and healthCheck steps (set one with `deploylog env set`, or give --target)"
            )
        }
        for stage in definition.stages {
            switch stage.step {
            case .migrate(let source): _ = try source.load()
            case .switchTraffic(let pair):
                guard try BlueGreenPair.load(pair, from: store) != nil else {
                    throw EngineError(.notFound, "stage '\(stage.name)': no blue-green pair '\(pair)'")
                }
            default: break
            }
        }

        let id = pipelineId ?? UUID().uuidString.lowercased()
        let metadata = EventMetadata(actor: actor, correlationId: id, source: "deploylog pipeline run")
        var stream = StreamWriter(store: store, stream: "pipeline-\(id)", metadata: metadata)
        let startedAt = try stream.append(
            PipelineStarted(
                pipelineId: id, pipelineName: definition.name, pipelineVersion: definition.version,
                environment: definition.environment, triggeredBy: definition.triggeredBy ?? actor,
                gitCommitHash: definition.gitCommit, gitBranch: definition.gitBranch,
                gitCommittedAt: definition.gitCommittedAt,
                config: definition.config))
        var result = Result(
            pipelineId: id, status: .completed, stages: [], failedStage: nil, error: nil, rollbackId: nil,
            startPosition: startedAt - 1)
        progress?(.started(pipelineId: id, environment: definition.environment))

        for (index, stage) in definition.stages.enumerated() {
            let order = index + 1
            if let failed = result.failedStage {
                let reason = "stage \(failed) failed"
                try stream.append(
                    StageSkipped(
                        pipelineId: id, stageName: stage.name, stageOrder: order, reason: reason, stageType: stage.type)
                )
                let r = StageResult(
                    name: stage.name, order: order, outcome: .skipped, durationMs: 0, output: nil, error: reason)
                result.stages.append(r)
                progress?(.stageFinished(r))
                continue
            }
            progress?(.stageStarted(stage, order: order, of: definition.stages.count))
            try stream.append(
                StageStarted(
                    pipelineId: id, stageName: stage.name, stageOrder: order, stageType: stage.type,
                    config: stage.step.config))
            let clock = ContinuousClock()
            let started = clock.now
            let (output, error) = try execute(
                stage, pipelineId: id, environment: definition.environment, url: url, version: definition.version)
            let ms = HealthChecker.ms(clock.now - started)
            let bounded = output.map { ShellCommand.bound($0) }
            if let error {
                try stream.append(
                    StageFailed(
                        pipelineId: id, stageName: stage.name, stageOrder: order, durationMs: ms, output: bounded,
                        error: error))
                result.failedStage = stage.name
                result.error = error
            } else {
                try stream.append(
                    StageCompleted(
                        pipelineId: id, stageName: stage.name, stageOrder: order, durationMs: ms, output: bounded))
            }
            let r = StageResult(
                name: stage.name, order: order, outcome: error == nil ? .completed : .failed, durationMs: ms,
                output: bounded,
                error: error)
            result.stages.append(r)
            progress?(.stageFinished(r))
        }

        guard let failedStage = result.failedStage, let error = result.error else {
            try stream.append(PipelineCompleted(pipelineId: id))
            progress?(.finished(.completed))
            return result
        }
        try stream.append(PipelineFailed(pipelineId: id, failedStage: failedStage, error: error))
        result.status = .failed

        // The policy as the log says it is now (the run may have been reconfigured meanwhile).
        let policy = try environments.environment(definition.environment)?.rollbackPolicy ?? "manual"
        guard policy == "automatic" else {
            result.rollbackNote = "rollback policy of \(definition.environment) is \(policy): no automatic rollback"
            progress?(.finished(.failed))
            return result
        }
        do {
            let planner = RollbackPlanner(store: store, environment: definition.environment)
            let plan = try planner.plan(toPosition: result.startPosition, describedAs: "the start of pipeline \(id)")
            let rollbackId = UUID().uuidString.lowercased()
            result.rollbackId = rollbackId
            result.rollbackSteps = plan.steps.map(\.summary)
            progress?(.rollingBack(rollbackId: rollbackId, steps: result.rollbackSteps))
            var executor = RollbackExecutor(
                store: store, environment: definition.environment, actor: actor, logger: logger)
            executor.trafficSwitcher = BlueGreenDeployer(store: store, actor: actor, logger: logger).trafficSwitcher()
            try executor.execute(
                plan, targetURL: url, reason: "stage \(failedStage) failed: \(error)", rollbackType: .automatic,
                pipelineId: id, rollbackId: rollbackId)
            try stream.append(PipelineRolledBack(pipelineId: id, rollbackId: rollbackId))
            result.status = .rolledBack
        } catch {
            result.rollbackNote = "automatic rollback failed: \(error.message)"
        }
        progress?(.finished(result.status))
        return result
    }

    /// Runs one stage's step: its output, and the error when it failed.
    private func execute(
        _ stage: PipelineDefinition.Stage, pipelineId: String, environment: String, url: String?, version: String
    ) throws(EngineError) -> (String?, String?) {
        switch stage.step {
        case .run(let command, let timeout):
            var variables = [
                "DEPLOYLOG_PIPELINE_ID": pipelineId, "DEPLOYLOG_ENVIRONMENT": environment, "DEPLOYLOG_VERSION": version,
            ]
            // The environment's database (no password: libpq reads PGPASSWORD or ~/.pgpass).
            if let url, !url.isEmpty { variables["DEPLOYLOG_DATABASE_URL"] = url }
            let r = try ShellCommand.run(
                command, timeoutSeconds: timeout, environment: variables, directory: workingDirectory)
            let output = r.output.isEmpty ? nil : r.output
            return r.succeeded ? (output, nil) : (output, "command \(r.failureText(timeoutSeconds: timeout))")
        case .migrate(let source):
            let migrator = Migrator(store: store, environment: environment, actor: actor, logger: logger)
            do {
                let run = try migrator.up(
                    source, targetURL: url ?? "", deploymentId: pipelineId, causationId: pipelineId)
                var lines = run.applied.map { "applied \($0.fileName) in \($0.executionTimeMs) ms" }
                if !run.registered.isEmpty { lines.insert("registered \(run.registered.count) migrations", at: 0) }
                if run.applied.isEmpty { lines.append("no pending migrations") }
                return (lines.joined(separator: "\n"), nil)
            } catch {
                if error.code == .conflict { throw error }
                return (nil, error.message)
            }
        case .healthCheck(let options):
            let checks = HealthChecker.run(url: url ?? "", options: options, logger: logger)
            return (HealthChecker.summary(checks), HealthChecker.problem(checks).map { "health check failed: \($0)" })
        case .switchTraffic(let pair):
            let deployer = BlueGreenDeployer(store: store, actor: actor, logger: logger)
            do {
                let s = try deployer.switchTraffic(name: pair, pipelineId: pipelineId)
                var out =
                    "traffic of \(pair) switched from \(s.fromColor.rawValue) to \(s.toColor.rawValue) (version \(s.version))"
                if let o = s.output { out += "\n" + o }
                return (out, nil)
            } catch {
                if error.code == .conflict { throw error }
                return (nil, error.message)
            }
        }
    }
}

/// Appends catalog events to one stream, each at the stream's expected version.
struct StreamWriter {
    let store: any EventStore
    let stream: String
    let metadata: EventMetadata
    var version: Int64?

    init(store: any EventStore, stream: String, metadata: EventMetadata) {
        self.store = store
        self.stream = stream
        self.metadata = metadata
    }

    /// Appends `event`; returns its position.
    @discardableResult
    mutating func append<E: DeployLogEvent>(_ event: E) throws(EngineError) -> Int64 {
        let proposed = try ProposedEvent(event, metadata: metadata, expectedVersion: .after(version))
        do {
            let r = try store.append([proposed], to: stream, expectedVersion: .after(version))
            version = r.streamVersions.last ?? version
            return r.positions.last ?? 0
        } catch {
            throw EngineError(error)
        }
    }
}

extension ShellCommand {
    /// `text` cut to the default output limit (head and tail kept).
    static func bound(_ text: String, limit: Int = defaultOutputLimit) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return text }
        let head = limit / 4
        let tail = limit - head
        return String(decoding: bytes[..<head], as: UTF8.self)
            + "\n[… \(bytes.count - limit) bytes of output left out …]\n"
            + String(decoding: bytes[(bytes.count - tail)...], as: UTF8.self)
    }
}
