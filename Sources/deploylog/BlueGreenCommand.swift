import ArgumentParser
import DeployLogEngine
import DeployLogEvents
import DeployLogStore
import Foundation

extension BlueGreenColor: ExpressibleByArgument {}

/// `deploylog bluegreen configure|deploy|switch|status`.
struct BlueGreenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bluegreen",
        abstract: "Blue-green deployments: deploy to the inactive colour, switch traffic only when it is healthy.",
        discussion: """
            A pair is two databases (blue and green); one serves traffic. `deploy` migrates the \
            inactive one, health-checks it (connectivity; the configured query; slow statements \
            from pg_stat_statements where installed, else a WARNING) and switches traffic to it \
            only when no check failed; a failed check records BlueGreenDeployFailed and leaves the \
            active colour serving (exit 1). The switch runs the pair's --switch-command with \
            DEPLOYLOG_COLOR, DEPLOYLOG_FROM_COLOR, DEPLOYLOG_DATABASE_URL, DEPLOYLOG_ENVIRONMENT, \
            DEPLOYLOG_VERSION and DEPLOYLOG_BLUEGREEN set. Everything is recorded in \
            bluegreen-<name>; passwords in URLs are removed before they are stored.
            """,
        subcommands: [
            BlueGreenConfigureCommand.self, BlueGreenDeployCommand.self, BlueGreenSwitchCommand.self,
            BlueGreenStatusCommand.self,
        ])
}

struct BlueGreenConfigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Configure a blue-green pair (reconfiguring keeps the colour serving now).")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The pair's name.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("The blue database's URL (its password is not stored).", valueName: "url"))
    var blue: String

    @Option(help: ArgumentHelp("The green database's URL (its password is not stored).", valueName: "url"))
    var green: String

    @Option(
        name: .customLong("blue-env"),
        help: ArgumentHelp("Blue's environment name (default NAME-blue).", valueName: "name"))
    var blueEnvironment: String?

    @Option(
        name: .customLong("green-env"),
        help: ArgumentHelp("Green's environment name (default NAME-green).", valueName: "name"))
    var greenEnvironment: String?

    @Option(help: ArgumentHelp("The colour serving traffic, for a new pair (default blue).", valueName: "color"))
    var active: BlueGreenColor?

    @Option(
        name: .customLong("switch-command"),
        help: ArgumentHelp("The shell command that moves traffic.", valueName: "cmd"))
    var switchCommand: String?

    @Option(
        name: .customLong("health-query"),
        help: ArgumentHelp("The query a colour must answer to be healthy (default: a catalog query).", valueName: "sql")
    )
    var healthQuery: String?

    @Option(
        name: .customLong("slow-statement-ms"),
        help: ArgumentHelp("Statements slower than this (mean_exec_time) are reported (default 5000).", valueName: "ms")
    )
    var slowStatementMs: Int64?

    @Option(help: ArgumentHelp("Who is acting (default: $DEPLOYLOG_ACTOR, else $USER@host).", valueName: "name"))
    var actor: String?

    func validate() throws {
        if let slowStatementMs, slowStatementMs < 1 { throw ValidationError("--slow-statement-ms must be at least 1") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.openOrCreate()
        let deployer = BlueGreenDeployer(store: store, actor: EngineOptions.actor(actor))
        let position: Int64
        do {
            position = try deployer.configure(
                name: name, blueURL: blue, greenURL: green, blueEnvironment: blueEnvironment,
                greenEnvironment: greenEnvironment, activeColor: active, switchCommand: switchCommand,
                healthCheckQuery: healthQuery, slowStatementMs: slowStatementMs)
        } catch {
            throw CLIError(error)
        }
        let pair: BlueGreenPair?
        do { pair = try BlueGreenPair.load(name, from: store) } catch { throw CLIError(error) }
        StandardOutput.shared.write(
            "configured blue-green \(name) at position \(position): \(pair?.activeColor.rawValue ?? "blue") serving\n")
    }
}

struct BlueGreenDeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy a version to the inactive colour; switch traffic to it when it is healthy.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The pair's name.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("The version being deployed.", valueName: "version"))
    var version: String

    @Option(help: ArgumentHelp("The directory of migration files.", valueName: "path"))
    var dir: String

    @Option(help: ArgumentHelp("Who is acting (default: $DEPLOYLOG_ACTOR, else $USER@host).", valueName: "name"))
    var actor: String?

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let deployer = BlueGreenDeployer(store: store, actor: EngineOptions.actor(actor))
        let out = StandardOutput.shared
        let result: BlueGreenDeployer.DeployResult
        do {
            result = try deployer.deploy(name: name, version: version, source: .directory(dir)) { p in
                switch p {
                case .deploying(let v, let color, let env): out.write("deploying \(v) to \(color.rawValue) (\(env))\n")
                case .migrated(let names):
                    out.write("migrated: \(names.isEmpty ? "nothing pending" : names.joined(separator: ", "))\n")
                case .checked(let checks):
                    for c in checks {
                        out.write("  \(c.name): \(c.status.rawValue)\(c.detail.map { " — " + $0 } ?? "")\n")
                    }
                case .switched(let from, let to):
                    out.write("traffic switched from \(from.rawValue) to \(to.rawValue)\n")
                case .failed: break
                }
                out.flush()
            }
        } catch {
            throw CLIError(error)
        }
        if let failure = result.failure {
            throw CLIError(.stepFailed, "blue-green \(name) \(version): \(failure)")
        }
    }
}

struct BlueGreenSwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Switch traffic to the inactive colour (runs the switch command, records both ends).")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The pair's name.", valueName: "name"))
    var name: String

    @Flag(
        help:
            "Switch even when the inactive colour's last health checks failed, or when the last switch has no recorded outcome (it runs again)."
    )
    var force = false

    @Option(help: ArgumentHelp("Who is acting (default: $DEPLOYLOG_ACTOR, else $USER@host).", valueName: "name"))
    var actor: String?

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let result: BlueGreenDeployer.SwitchResult
        do {
            result = try BlueGreenDeployer(store: store, actor: EngineOptions.actor(actor)).switchTraffic(
                name: name, force: force)
        } catch {
            throw CLIError(error)
        }
        if let output = result.output { StandardOutput.shared.write(output + "\n") }
        StandardOutput.shared.write(
            "traffic of \(name) switched from \(result.fromColor.rawValue) to \(result.toColor.rawValue) (version \(result.version))\n"
        )
    }
}

struct BlueGreenStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a pair: the colour serving, each colour's version and last checks.")

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The pair's name.", valueName: "name"))
    var name: String

    @Option(help: "Output format: table or json.")
    var format: ReportFormat = .table

    func validate() throws {
        if format == .csv { throw ValidationError("--format must be table or json for bluegreen status") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let loaded: BlueGreenPair?
        do { loaded = try BlueGreenPair.load(name, from: store) } catch { throw CLIError(error) }
        guard let pair = loaded else {
            throw CLIError.notFound("no blue-green pair '\(name)' (configure it with `deploylog bluegreen configure`)")
        }
        StandardOutput.shared.write(format == .json ? PrettyJSON.string(Self.json(pair)) + "\n" : Self.table(pair))
    }

    static func json(_ pair: BlueGreenPair) -> JSONValue {
        func colour(_ c: BlueGreenColor) -> JSONValue {
            var o = JSONObject()
            o["environment"] = .string(pair.environment(of: c))
            o["databaseUrl"] = pair.databaseURL(of: c).map { .string($0) } ?? .null
            o["version"] = pair.versions[c].map { .string($0) } ?? .null
            if let h = pair.lastHealthChecks[c] {
                o["lastHealthChecks"] = .object(
                    JSONObject([
                        ("healthy", .bool(h.healthy)),
                        (
                            "checks",
                            .array(
                                h.checks.map { c in
                                    .object(
                                        JSONObject([
                                            ("name", .string(c.name)), ("status", .string(c.status.rawValue)),
                                            ("detail", c.detail.map { .string($0) } ?? .null),
                                            ("durationMs", .number(JSONNumber(c.durationMs))),
                                        ]))
                                })
                        ),
                    ]))
            } else {
                o["lastHealthChecks"] = .null
            }
            return .object(o)
        }
        var o = JSONObject()
        o["deploymentName"] = .string(pair.name)
        o["activeColor"] = .string(pair.activeColor.rawValue)
        o["status"] = .string(pair.status)
        o["lastFailure"] = pair.lastFailure.map { .string($0) } ?? .null
        o["switchCommand"] = pair.switchCommand.map { .string($0) } ?? .null
        o["blue"] = colour(.blue)
        o["green"] = colour(.green)
        return .object(o)
    }

    static func table(_ pair: BlueGreenPair) -> String {
        var out =
            "blue-green \(pair.name): \(pair.activeColor.rawValue) serving (version \(pair.versions[pair.activeColor] ?? "none")), status \(pair.status)\n"
        if let failure = pair.lastFailure { out += "last failure: \(failure)\n" }
        let rows = [BlueGreenColor.blue, .green].map { c -> [String] in
            let checks = pair.lastHealthChecks[c].map { h in
                (h.healthy ? "healthy: " : "UNHEALTHY: ")
                    + h.checks.map { "\($0.name) \($0.status.rawValue)" }.joined(separator: ", ")
            }
            return [
                c.rawValue + (c == pair.activeColor ? " *" : ""), pair.environment(of: c), pair.versions[c] ?? "",
                pair.databaseURL(of: c) ?? "", checks ?? "",
            ]
        }
        out += TextTable.render(["COLOR", "ENVIRONMENT", "VERSION", "DATABASE", "LAST HEALTH CHECKS"], rows)
        return out
    }
}
