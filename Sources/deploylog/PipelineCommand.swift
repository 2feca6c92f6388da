import ArgumentParser
import DeployLogEngine
import DeployLogEvents
import DeployLogStore
import Foundation

/// `deploylog pipeline run FILE.yaml`.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run a deployment pipeline, recording every stage as it happens.",
        subcommands: [PipelineRunCommand.self])
}

struct PipelineRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the pipeline a YAML file describes.",
        discussion: """
            The file:
              name: camera-counting-db
              version: 1.3.0
              environment: staging              (configured with `deploylog env set`)
              git: {commit: 9f1c2ab, branch: main, committedAt: "2026-11-20T09:12:00Z"}
              stages:                           (in order; each has one step)
                - {name: Build, type: build, run: "swift build", timeout: 600}
                - {name: Deploy, type: deploy, migrate: migrations}
                - {name: Health, type: validate, healthCheck: {query: "SELECT 1"}}
                - {name: Switch, type: deploy, switch: camera-counting-prod}
            Stage types: build, test, deploy, validate. Steps: run (a shell command run in the \
            file's folder, killed at its timeout in seconds; output captured, bounded), migrate (a directory, relative to the \
            file, applied to the environment's database), healthCheck (connectivity, the query, \
            slow statements from pg_stat_statements), switch (a blue-green pair's traffic).
            A failed stage marks the rest skipped and fails the pipeline; when the environment's \
            rollback policy is automatic, a rollback to just before the pipeline started follows \
            and the pipeline ends rolled_back. Exit status 1 when the pipeline failed or was \
            rolled back; 65 for a bad file (one line naming the file, line and field).
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The pipeline file.", valueName: "file.yaml"))
    var file: String

    @Option(
        help: ArgumentHelp(
            "The environment's database URL (default: the one from `env set`; the password comes from PGPASSWORD or ~/.pgpass).",
            valueName: "url"))
    var target: String?

    @Option(
        help: ArgumentHelp(
            "Who is acting, recorded in every event (default: $DEPLOYLOG_ACTOR, else $USER@host).", valueName: "name"))
    var actor: String?

    func run() throws(CLIError) {
        let definition: PipelineDefinition
        do { definition = try PipelineDefinition.load(path: file) } catch { throw CLIError(error) }
        let store = try storeOptions.open()
        var runner = PipelineRunner(store: store, actor: EngineOptions.actor(actor))
        runner.targetURL = target
        // `run` steps start where the file is, as `migrate` directories are found from there.
        let folder = (file as NSString).deletingLastPathComponent
        runner.workingDirectory = folder.isEmpty ? nil : folder
        let out = StandardOutput.shared
        let result: PipelineRunner.Result
        do {
            result = try runner.run(definition) { p in
                switch p {
                case .started(let id, let env):
                    out.write("pipeline \(id): \(definition.name) \(definition.version) -> \(env)\n")
                case .stageStarted: break
                case .stageFinished(let s): out.write(Self.line(s, of: definition.stages.count) + "\n")
                case .rollingBack(let id, let steps):
                    out.write("automatic rollback \(id): \(steps.count) step\(steps.count == 1 ? "" : "s")\n")
                    for (i, s) in steps.enumerated() { out.write("  \(i + 1). \(s)\n") }
                case .finished: break
                }
                out.flush()
            }
        } catch {
            throw CLIError(error)
        }
        out.write("pipeline \(result.pipelineId): \(result.status.rawValue)\n")
        guard result.status == .completed else {
            var message =
                "pipeline \(definition.name) \(definition.version) \(result.status.rawValue): stage \(result.failedStage ?? "?") failed: \(result.error ?? "")"
            if let note = result.rollbackNote { message += "; \(note)" }
            throw CLIError(.stepFailed, message)
        }
    }

    /// `  2/4 Migrate (deploy): failed in 41 ms — error`, with the stage's output's last line.
    static func line(_ s: PipelineRunner.StageResult, of total: Int) -> String {
        var line = "  \(s.order)/\(total) \(s.name): \(s.outcome.rawValue)"
        if s.outcome != .skipped { line += " in \(s.durationMs) ms" }
        if s.outcome == .failed, let e = s.error { line += " — \(e)" }
        return line
    }
}
