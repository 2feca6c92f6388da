import ArgumentParser
import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore
import Foundation

extension EnvironmentType: ExpressibleByArgument {}
extension RollbackPolicy: ExpressibleByArgument {}

/// `deploylog env set|list|show`: environments as events.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Configure environments (each configuration is an EnvironmentConfigured event).",
        discussion: """
            Credentials are never stored: a password in --url is removed before the event is \
            appended; commands that deploy take it from PGPASSWORD or ~/.pgpass at run time.
            """,
        subcommands: [EnvSetCommand.self, EnvListCommand.self, EnvShowCommand.self])
}

struct EnvSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Configure an environment; options not given keep their current values.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The environment's name.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("development, staging or production (required the first time).", valueName: "type"))
    var type: EnvironmentType?

    @Option(
        help: ArgumentHelp("The database URL; any password in it is removed before it is stored.", valueName: "url"))
    var url: String?

    @Option(
        name: .customLong("rollback-policy"),
        help: ArgumentHelp("automatic or manual (default manual).", valueName: "policy"))
    var rollbackPolicy: RollbackPolicy?

    @Option(name: .customLong("database-name"), help: ArgumentHelp("Default: the URL's database.", valueName: "name"))
    var databaseName: String?

    @Option(name: .customLong("database-user"), help: ArgumentHelp("Default: the URL's user.", valueName: "role"))
    var databaseUser: String?

    @Option(
        name: .customLong("pool-size"),
        help: ArgumentHelp("Connections the application's pool keeps (default 10).", valueName: "n"))
    var poolSize: Int?

    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp("The database's connection limit (default 100).", valueName: "n"))
    var maxConnections: Int?

    @Option(
        name: .customLong("backup-schedule"),
        help: ArgumentHelp("hourly, daily or a cron expression.", valueName: "schedule"))
    var backupSchedule: String?

    @Option(help: ArgumentHelp("Whether it is monitored: true or false (default true).", valueName: "bool"))
    var monitoring: Bool?

    @Option(help: ArgumentHelp("Whether alerts are sent: true or false (default true).", valueName: "bool"))
    var alerting: Bool?

    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "A free setting KEY=VALUE (repeatable); VALUE is JSON when it parses, else a string.",
            valueName: "key=value"))
    var config: [String] = []

    @Option(help: ArgumentHelp("Who is acting (default: $DEPLOYLOG_ACTOR, else $USER@host).", valueName: "name"))
    var actor: String?

    func validate() throws {
        if name.isEmpty || name.contains(where: { $0 == " " || $0 == "/" || $0.isNewline }) {
            throw ValidationError("environment name '\(name)' must not be empty or hold spaces or slashes")
        }
        if let poolSize, poolSize < 1 { throw ValidationError("--pool-size must be ≥ 1") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be ≥ 1") }
        for c in config where !c.contains("=") || c.hasPrefix("=") {
            throw ValidationError("--config '\(c)' must be KEY=VALUE")
        }
        if let url, !url.isEmpty {
            if !PostgresURL.isURL(url) { throw ValidationError("--url must be a postgres:// or postgresql:// URL") }
            if let problem = PostgresURL.credentialProblem(url) { throw ValidationError("--url: \(problem)") }
        }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.openOrCreate()
        let environments = Environments(store: store)
        let existing: EnvironmentsProjector.Environment?
        do { existing = try environments.environment(name) } catch { throw CLIError(error) }
        guard let kind = type ?? existing.flatMap({ EnvironmentType(rawValue: $0.environmentType) }) else {
            throw CLIError.usage("environment '\(name)' is new: give --type development|staging|production")
        }
        let redactedURL = url.map { CredentialRedaction.redact(string: $0) }
        let components = url.flatMap { URLComponents(string: $0) }
        var configObject = existing?.configData.objectValue ?? JSONObject()
        for c in config {
            let eq = c.firstIndex(of: "=")!
            let key = String(c[..<eq])
            let text = String(c[c.index(after: eq)...])
            configObject[key] = (try? JSONParser.parse(Array(text.utf8))) ?? .string(text)
        }
        let event = EnvironmentConfigured(
            environment: name, environmentType: kind, databaseUrl: redactedURL ?? existing?.databaseUrl,
            databaseName: databaseName ?? components.map { String($0.path.drop { $0 == "/" }) }.flatMap {
                $0.isEmpty ? nil : $0
            }
                ?? existing?.databaseName,
            databaseUser: databaseUser ?? components?.user ?? existing?.databaseUser,
            connectionPoolSize: poolSize ?? existing.map { Int($0.connectionPoolSize) } ?? 10,
            maxConnections: maxConnections ?? existing.map { Int($0.maxConnections) } ?? 100,
            backupSchedule: backupSchedule ?? existing?.backupSchedule,
            monitoringEnabled: monitoring ?? existing?.monitoringEnabled ?? true,
            alertingEnabled: alerting ?? existing?.alertingEnabled ?? true,
            rollbackPolicy: rollbackPolicy ?? existing.flatMap { RollbackPolicy(rawValue: $0.rollbackPolicy) }
                ?? .manual,
            config: configObject)
        let position: Int64
        do {
            position = try environments.configure(
                event, metadata: EventMetadata(actor: EngineOptions.actor(actor), source: "deploylog env set"))
        } catch {
            throw CLIError(error)
        }
        var line = "configured \(name) (\(kind.rawValue)) at position \(position)"
        if let url, let redactedURL, url != redactedURL { line += "; the password in --url was not stored" }
        StandardOutput.shared.write(line + "\n")
    }
}

struct EnvListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List environments.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Output format: table or json.")
    var format: ReportFormat = .table

    func validate() throws {
        if format == .csv { throw ValidationError("--format must be table or json for env list") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let all: [EnvironmentsProjector.Environment]
        do { all = try Environments(store: store).all() } catch { throw CLIError(error) }
        switch format {
        case .json:
            StandardOutput.shared.write(PrettyJSON.string(.array(all.map { .object(EnvShowCommand.json($0)) })) + "\n")
        default:
            let rows = all.map { e in
                [
                    e.environmentName, e.environmentType, e.databaseUrl ?? "", e.rollbackPolicy,
                    e.isActive ? "yes" : "no",
                    e.updatedAt.canonicalText,
                ]
            }
            StandardOutput.shared.write(
                TextTable.render(["NAME", "TYPE", "DATABASE URL", "ROLLBACK", "ACTIVE", "UPDATED"], rows))
        }
    }
}

struct EnvShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one environment's configuration as JSON.")

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: ArgumentHelp("The environment's name.", valueName: "name"))
    var name: String

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let env: EnvironmentsProjector.Environment?
        do { env = try Environments(store: store).environment(name) } catch { throw CLIError(error) }
        guard let env else { throw CLIError.notFound("no environment '\(name)' in the log") }
        StandardOutput.shared.write(PrettyJSON.string(.object(Self.json(env))) + "\n")
    }

    static func json(_ e: EnvironmentsProjector.Environment) -> JSONObject {
        JSONObject([
            ("name", .string(e.environmentName)), ("environmentType", .string(e.environmentType)),
            ("databaseUrl", e.databaseUrl.map { .string($0) } ?? .null),
            ("databaseName", e.databaseName.map { .string($0) } ?? .null),
            ("databaseUser", e.databaseUser.map { .string($0) } ?? .null),
            ("connectionPoolSize", .number(JSONNumber(e.connectionPoolSize))),
            ("maxConnections", .number(JSONNumber(e.maxConnections))),
            ("backupSchedule", e.backupSchedule.map { .string($0) } ?? .null),
            ("monitoringEnabled", .bool(e.monitoringEnabled)), ("alertingEnabled", .bool(e.alertingEnabled)),
            ("rollbackPolicy", .string(e.rollbackPolicy)), ("config", e.configData), ("isActive", .bool(e.isActive)),
            ("createdAt", .string(e.createdAt.canonicalText)), ("updatedAt", .string(e.updatedAt.canonicalText)),
            ("lastPosition", .number(JSONNumber(e.lastPosition))),
        ])
    }
}
