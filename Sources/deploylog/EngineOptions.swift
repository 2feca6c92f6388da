import ArgumentParser
import DeployLogEngine
import DeployLogStore
import Foundation

/// Options of the commands that deploy to an environment (`migrate`, `rollback`).
struct EngineOptions: ParsableArguments {
    @Option(name: .customLong("env"), help: ArgumentHelp("The environment.", valueName: "name"))
    var environment: String

    @Option(
        help: ArgumentHelp(
            "The target database URL (default: the environment's URL from `env set`; the password comes from PGPASSWORD or ~/.pgpass).",
            valueName: "url"))
    var target: String?

    @Option(
        help: ArgumentHelp(
            "Who is acting, recorded in every event (default: $DEPLOYLOG_ACTOR, else $USER@host).", valueName: "name"))
    var actor: String?

    @Option(
        name: .customLong("lock-timeout"),
        help: ArgumentHelp("Seconds to wait for another deploy's lock on the target.", valueName: "seconds"))
    var lockTimeout: Double = 300

    func validate() throws {
        if environment.isEmpty || environment.contains(where: { $0 == " " || $0 == "/" || $0.isNewline }) {
            throw ValidationError("--env must be an environment name without spaces or slashes")
        }
        if lockTimeout < 0 { throw ValidationError("--lock-timeout must be ≥ 0") }
    }

    /// `--actor`, else `$DEPLOYLOG_ACTOR`, else `$USER@host`.
    var resolvedActor: String { Self.actor(actor) }

    static func actor(_ given: String?) -> String {
        if let given, !given.isEmpty { return given }
        let env = ProcessInfo.processInfo.environment
        if let a = env["DEPLOYLOG_ACTOR"], !a.isEmpty { return a }
        let user = env["USER"] ?? env["LOGNAME"] ?? "unknown"
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }

    /// `--target`, else the environment's configured URL.
    func targetURL(_ store: any EventStore) throws(CLIError) -> String {
        if let target, !target.isEmpty { return target }
        do { return try Environments(store: store).databaseURL(of: environment) } catch { throw CLIError(error) }
    }
}

extension StoreOptions {
    /// Opens the store (a directory or a PostgreSQL database), creating it first when there
    /// is none (commands that record).
    func openOrCreate() throws(CLIError) -> any EventImporting {
        try Self.create(address)
    }
}

extension CLIError {
    /// An engine error with its exit status: 65 bad input (files, dependencies, targets,
    /// plans), 66 not found, 67 conflict, 68 a changed applied migration, 69 target
    /// unreachable or locked, 1 a migration or rollback step failed on the target, 70 internal.
    init(_ error: EngineError) {
        let code: ExitCode =
            switch error.code {
            case .badInput: .badInput
            case .notFound: .notFound
            case .conflict: .conflict
            case .checksumMismatch: .verificationFailed
            case .unavailable: .locked
            case .stepFailed: .stepFailed
            case .internalError: .internalError
            }
        self.init(code, error.message)
    }
}
