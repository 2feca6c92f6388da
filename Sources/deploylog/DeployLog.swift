import ArgumentParser
import DeployLogStore
import Foundation

/// The `deploylog` command: the system of record for database deployments.
@main
struct DeployLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploylog",
        abstract: "An append-only, hash-chained event log of database deployments.",
        discussion: """
            Every action of a deployment is an immutable event in an append-only log: \
            LZ4-compressed, SHA-256 hash-chained, with gapless global positions. The store is a \
            directory or a PostgreSQL database (--store PATH|postgres://…, $DEPLOYLOG_STORE, or \
            ./.deploylog); `copy` moves a log between them unchanged.

            Typical use:
              deploylog --store DIR init
              deploylog --store DIR append < history.ndjson
              deploylog --store DIR log --format ndjson > export.ndjson
              deploylog --store DIR checkpoint > checkpoint.json
              deploylog --store DIR verify --checkpoint checkpoint.json
              deploylog env set staging --type staging --url postgres://app@db/staging
              deploylog migrate up --env staging --dir migrations
              deploylog rollback --env staging --to position:N --dry-run
              deploylog pipeline run deploy.yaml
              deploylog bluegreen deploy prod --version 1.3.0 --dir migrations
              deploylog demo

            \(ExitCode.documentation)
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, AppendCommand.self, LogCommand.self, ShowCommand.self, VerifyCommand.self,
            CheckpointCommand.self, StateCommand.self, DiffCommand.self, MetricsCommand.self, HealthCommand.self,
            ProjectCommand.self, CopyCommand.self, EnvCommand.self, MigrateCommand.self, RollbackCommand.self,
            PipelineCommand.self, BlueGreenCommand.self, DemoCommand.self,
        ])

    @OptionGroup var storeOptions: StoreOptions

    /// Runs the command line; every failure becomes one `deploylog: ` line on stderr and the
    /// exit status of `ExitCode+DeployLog.swift`.
    static func main() {
        let status: Int32
        do {
            var command = try parseAsRoot()
            try command.run()
            status = ExitCode.success.rawValue
        } catch {
            status = report(error)
        }
        StandardOutput.shared.flush()
        StandardIO.terminate(status)
    }

    /// Prints `error` and returns the exit status for it.
    static func report(_ error: any Error) -> Int32 {
        StandardOutput.shared.flush()
        switch error {
        case let e as CLIError:
            StandardIO.reportError(e.message)
            return e.exitCode.rawValue
        case let e as StoreError:
            let e = CLIError(e)
            StandardIO.reportError(e.message)
            return e.exitCode.rawValue
        case let e as ExitCode:
            return e.rawValue
        default:
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: the text is the output.
                StandardOutput.shared.write(fullMessage(for: error) + "\n")
                StandardOutput.shared.flush()
                return code.rawValue
            }
            let message = self.message(for: error)
            if code == .validationFailure {
                StandardIO.reportError(message + helpHint(fullMessage(for: error)))
                return ExitCode.usage.rawValue
            }
            StandardIO.reportError("internal error: \(message)")
            return ExitCode.internalError.rawValue
        }
    }

    /// ` (see 'deploylog log --help')`, taken from ArgumentParser's usage text.
    private static func helpHint(_ full: String) -> String {
        guard let start = full.range(of: "See '"), let end = full[start.upperBound...].firstIndex(of: "'") else {
            return ""
        }
        return " (see '\(full[start.upperBound..<end])')"
    }
}
