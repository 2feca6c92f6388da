import ArgumentParser
import DeployLogEngine
import DeployLogEvents
import DeployLogStore
import Foundation

/// `deploylog migrate status|plan|up`.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply a directory of migrations to an environment's database, recording every step.",
        discussion: """
            A migration is a file <version>__<name>.sql with optional headers:
              -- deploylog:type index            (schema|data|index|function; default schema)
              -- deploylog:depends a, b          (names of migrations applied first)
              -- deploylog:up transaction=false  (default: one transaction per migration)
              <SQL>
              -- deploylog:down                  (the rollback SQL; transaction=false allowed)
              <SQL>
            Pending migrations run in dependency order (version order breaks ties). `up` holds an \
            advisory lock on the target and appends to migrations-<env> at its expected version, \
            so two deploys never both apply a migration.
            """,
        subcommands: [MigrateStatusCommand.self, MigratePlanCommand.self, MigrateUpCommand.self])
}

/// `--dir`.
struct MigrationDirectoryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The directory of migration files.", valueName: "path"))
    var dir: String
}

struct MigrateStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show each migration's state in the environment (changes nothing).")

    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .customLong("env"), help: ArgumentHelp("The environment.", valueName: "name"))
    var environment: String
    @OptionGroup var directory: MigrationDirectoryOptions
    @Option(help: "Output format: table or json.")
    var format: ReportFormat = .table

    func validate() throws {
        if format == .csv { throw ValidationError("--format must be table or json for migrate status") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let entries: [MigrationStatusEntry]
        do {
            entries = try Migrator(store: store, environment: environment, actor: "").status(.directory(directory.dir))
        } catch {
            throw CLIError(error)
        }
        switch format {
        case .json:
            let rows: [JSONValue] = entries.map { e in
                .object(
                    JSONObject([
                        ("name", .string(e.name)), ("version", .string(e.version)),
                        ("file", e.fileName.map { .string($0) } ?? .null), ("state", .string(e.state.rawValue)),
                        ("appliedAt", e.appliedAt.map { .string($0.canonicalText) } ?? .null),
                        ("appliedBy", e.appliedBy.map { .string($0) } ?? .null),
                        ("error", e.error.map { .string($0) } ?? .null),
                    ]))
            }
            StandardOutput.shared.write(PrettyJSON.string(.array(rows)) + "\n")
        default:
            let rows = entries.map { e in
                [
                    e.version, e.name, e.state.rawValue, e.appliedAt?.canonicalText ?? "", e.appliedBy ?? "",
                    e.error ?? "",
                ]
            }
            StandardOutput.shared.write(
                TextTable.render(["VERSION", "NAME", "STATE", "APPLIED AT", "APPLIED BY", "ERROR"], rows))
        }
    }
}

struct MigratePlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Print what `migrate up` would do; changes nothing.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .customLong("env"), help: ArgumentHelp("The environment.", valueName: "name"))
    var environment: String
    @OptionGroup var directory: MigrationDirectoryOptions

    func run() throws(CLIError) {
        // A missing store is an empty log: nothing applied yet.
        let plan: MigrationPlan
        do {
            if storeOptions.storeExists {
                plan = try Migrator(store: try storeOptions.open(), environment: environment, actor: "").plan(
                    .directory(directory.dir))
            } else {
                plan = try MigrationPlan.make(
                    files: try MigrationSource.directory(directory.dir).load(),
                    ledger: MigrationLedger(environment: environment))
            }
        } catch let e as CLIError {
            throw e
        } catch let e as EngineError {
            throw CLIError(e)
        } catch {
            throw CLIError(wrapping: error)
        }
        StandardOutput.shared.write(Self.text(plan))
    }

    static func text(_ plan: MigrationPlan) -> String {
        var out = "migration plan for \(plan.environment):"
        if plan.isEmpty { return out + " nothing to do (\(plan.alreadyApplied.count) applied)\n" }
        out += "\n"
        for name in plan.interrupted { out += "  record as failed (interrupted run): \(name)\n" }
        for f in plan.toRegister { out += "  register \(f.fileName) (checksum \(f.checksum.prefix(12)))\n" }
        for (i, f) in plan.toApply.enumerated() {
            var notes: [String] = [f.type.rawValue]
            if !f.upTransactional { notes.append("outside a transaction") }
            if f.downSQL == nil { notes.append("no rollback SQL") }
            out += "  \(i + 1). apply \(f.fileName) (\(notes.joined(separator: ", ")))\n"
        }
        out += "\(plan.toApply.count) to apply, \(plan.alreadyApplied.count) already applied\n"
        return out
    }
}

struct MigrateUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Register and apply pending migrations to the environment's database.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var directory: MigrationDirectoryOptions
    @Option(
        name: .customLong("deployment-id"),
        help: ArgumentHelp("Ties the run's events together (default: a new UUID).", valueName: "id"))
    var deploymentId: String?

    func run() throws(CLIError) {
        let source = MigrationSource.directory(directory.dir)
        // Refuse bad files before creating anything.
        do { _ = try source.load() } catch { throw CLIError(error) }
        let store = try storeOptions.openOrCreate()
        let url = try engine.targetURL(store)
        var migrator = Migrator(store: store, environment: engine.environment, actor: engine.resolvedActor)
        migrator.lockTimeout = engine.lockTimeout
        let run: Migrator.Run
        do {
            run = try migrator.up(source, targetURL: url, deploymentId: deploymentId) { p in
                if case .applied(let f, let ms) = p {
                    StandardOutput.shared.write("applied \(f.fileName) (\(ms) ms)\n")
                    StandardOutput.shared.flush()
                }
            }
        } catch {
            throw CLIError(error)
        }
        for name in run.recoveredInterrupted {
            StandardOutput.shared.write(
                "recorded \(name) as failed: an earlier run was interrupted while applying it\n")
        }
        let count = run.applied.count
        StandardOutput.shared.write(
            count == 0
                ? "\(engine.environment) is up to date\n"
                : "\(count) migration\(count == 1 ? "" : "s") applied to \(engine.environment) (deployment \(run.deploymentId))\n"
        )
    }
}
