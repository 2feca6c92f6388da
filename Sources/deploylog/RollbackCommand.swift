import ArgumentParser
import DeployLogEngine
import DeployLogEvents
import DeployLogStore
import Foundation

/// `deploylog rollback --env E --to POINT`: rollback by replay.
struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Return an environment to the state it had at an earlier point of the log.",
        discussion: """
            POINT is position:N, time:ISO-8601, pipeline:ID or version:V (right after the last \
            migration of that version was applied). It must be a consistent point for the \
            environment (nothing in flight there); otherwise the nearest earlier one is named. \
            The plan is the difference between the folded state now and at POINT: migrations \
            applied since, reverted newest first with the rollback SQL recorded when they were \
            registered; blue-green traffic switched back (recorded; the switch command belongs \
            to the blue-green pair); the configuration restored. The plan is printed; \
            --dry-run stops there. Otherwise it runs after --yes, or after a confirmation on a \
            terminal. A rerun after a failed rollback resumes with the steps left.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var engine: EngineOptions

    @Option(help: ArgumentHelp("position:N, time:ISO-8601, pipeline:ID or version:V.", valueName: "point"))
    var to: String

    @Flag(name: .customLong("dry-run"), help: "Print the plan and stop.")
    var dryRun = false

    @Flag(help: "Execute without asking.")
    var yes = false

    @Option(help: ArgumentHelp("Why, recorded in RollbackStarted.", valueName: "text"))
    var reason: String = "manual rollback"

    func run() throws(CLIError) {
        let target: RollbackTarget
        do { target = try RollbackTarget(parsing: to) } catch { throw CLIError(error) }
        let store = try storeOptions.open()
        let plan: RollbackPlan
        do { plan = try RollbackPlanner(store: store, environment: engine.environment).plan(to: target) } catch {
            throw CLIError(error)
        }
        StandardOutput.shared.write(plan.text)
        if dryRun || plan.isEmpty {
            if dryRun { StandardOutput.shared.write("dry run: nothing was done\n") }
            return
        }
        if !yes {
            guard StandardIO.stdinIsTerminal else {
                throw CLIError.usage(
                    "refusing to roll back \(engine.environment) without --yes: stdin is not a terminal to confirm on")
            }
            StandardOutput.shared.write("execute these \(plan.steps.count) steps on \(engine.environment)? [y/N] ")
            StandardOutput.shared.flush()
            let answer = readLine()?.lowercased() ?? ""
            guard answer == "y" || answer == "yes" else {
                StandardOutput.shared.write("not confirmed: nothing was done\n")
                return
            }
        }
        let url = plan.needsDatabase ? try engine.targetURL(store) : nil
        var executor = RollbackExecutor(store: store, environment: engine.environment, actor: engine.resolvedActor)
        executor.lockTimeout = engine.lockTimeout
        // Traffic goes back through the pair's configured switch command, as `bluegreen switch` runs it.
        executor.trafficSwitcher = BlueGreenDeployer(store: store, actor: engine.resolvedActor).trafficSwitcher()
        let result: RollbackExecutor.Result
        do {
            result = try executor.execute(plan, targetURL: url, reason: reason) { p in
                if case .done(let step, let ms) = p {
                    StandardOutput.shared.write(
                        "step \(step.order)/\(plan.steps.count) done: \(step.actionName) \(step.target) (\(ms) ms)\n")
                    StandardOutput.shared.flush()
                }
            }
        } catch {
            throw CLIError(error)
        }
        StandardOutput.shared.write(
            "rolled back \(engine.environment) to position \(plan.targetPosition) (rollback \(result.rollbackId), \(result.stepsExecuted) steps)\n"
        )
    }
}
