import ArgumentParser
import DeployLogEvents
import DeployLogProjections
import DeployLogStore

/// `deploylog state --at POINT`: every environment and blue-green pair as they were then.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show the state of every environment at a point of the log.",
        discussion: """
            POINT is position:N (after the event at N), time:ISO-8601 (after every event of the \
            longest prefix of the log that occurred at or before it), pipeline:ID (after the last \
            event of that pipeline's stream) or head. For each environment: its configuration, the \
            migrations applied (name, version, applied at), its last pipeline (id, version, \
            status), what is in flight, and whether the point is consistent (nothing in flight). \
            For each blue-green pair: its active colour, status and last health checks.
            Snapshots kept in the store's snapshots/ folder make this fast on long logs; they are \
            a cache, checked before use, and rebuilt when missing.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("The point: position:N, time:ISO-8601, pipeline:ID or head.", valueName: "point"))
    var at: String = "head"

    @Option(name: .customLong("env"), help: ArgumentHelp("Only this environment.", valueName: "name"))
    var environment: String?

    @Option(help: "Output format: json or table.")
    var format: ReportFormat = .table

    func validate() throws {
        if format == .csv { throw ValidationError("--format must be json or table for state") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let result: PointInTime.Result
        let progress = ProgressLine(enabled: true)
        do {
            let point = try StatePoint(parsing: at)
            result = try storeOptions.pointInTime(store).state(at: point) { p in progress.update("folding: position \(p)") }
        } catch {
            progress.finish()
            throw CLIError(point: error)
        }
        progress.finish()
        if let environment, result.state.environments[environment] == nil {
            throw CLIError.notFound("no environment '\(environment)' at position \(result.position)")
        }
        switch format {
        case .json:
            StandardOutput.shared.write(PrettyJSON.string(result.state.json(environment: environment)) + "\n")
        default:
            StandardOutput.shared.write(Self.table(result.state, environment: environment))
        }
    }

    static func table(_ s: StateProjector, environment: String?) -> String {
        var out = "state at position \(s.position)"
        if let t = s.lastOccurredAt { out += " (last event occurred \(t.canonicalText))" }
        out += "\n\n"
        let names = s.environments.keys.sorted().filter { environment == nil || $0 == environment }
        let rows = names.map { name -> [String] in
            let e = s.environments[name]!
            let inFlight = e.runningPipelines.map { "pipeline \($0)" } + e.runningMigrations.map { "migration \($0)" }
                + e.runningRollbacks.map { "rollback \($0)" }
            return [
                name, e.isActive ? "yes" : "no", String(e.applied.count), e.appliedInOrder.last?.name ?? "",
                e.lastPipeline.map { "\($0.pipelineVersion) \($0.status)" } ?? "",
                inFlight.isEmpty ? "-" : inFlight.joined(separator: ", "), e.isConsistent ? "yes" : "no",
            ]
        }
        out += TextTable.render(
            ["ENVIRONMENT", "ACTIVE", "MIGRATIONS", "LAST MIGRATION", "LAST PIPELINE", "IN FLIGHT", "CONSISTENT"], rows)
        if !s.blueGreen.isEmpty {
            out += "\n"
            let pairs = s.blueGreen.keys.sorted().map { name -> [String] in
                let bg = s.blueGreen[name]!
                let health = bg.lastHealthChecks.members.map { m in
                    "\(m.key) \(m.value.objectValue?["healthy"]?.boolValue == true ? "healthy" : "unhealthy")"
                }
                return [
                    name, bg.activeColor, bg.status, bg.activeVersion ?? "",
                    health.isEmpty ? "-" : health.joined(separator: ", "),
                ]
            }
            out += TextTable.render(["BLUE-GREEN", "ACTIVE", "STATUS", "VERSION", "LAST HEALTH CHECKS"], pairs)
        }
        return out
    }
}

/// `deploylog diff A B`: what changed between two points.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed in the state between two points of the log.",
        discussion: """
            A and B are points as `state --at` takes them (position:N, time:ISO-8601, pipeline:ID, \
            head). Each change is a path in the state document with its value at A and at B; \
            migrations are compared by name.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The earlier point.", valueName: "a"))
    var from: String

    @Argument(help: ArgumentHelp("The later point (default: head).", valueName: "b"))
    var to: String = "head"

    @Option(name: .customLong("env"), help: ArgumentHelp("Only this environment.", valueName: "name"))
    var environment: String?

    @Option(help: "Output format: json or table.")
    var format: ReportFormat = .table

    func validate() throws {
        if format == .csv { throw ValidationError("--format must be json or table for diff") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let a: PointInTime.Result
        let b: PointInTime.Result
        let progress = ProgressLine(enabled: true)
        do {
            let engine = storeOptions.pointInTime(store)
            a = try engine.state(at: try StatePoint(parsing: from)) { p in progress.update("folding: position \(p)") }
            b = try engine.state(at: try StatePoint(parsing: to)) { p in progress.update("folding: position \(p)") }
        } catch {
            progress.finish()
            throw CLIError(point: error)
        }
        progress.finish()
        let changes = StateDiff.changes(from: a.state, to: b.state, environment: environment)
        switch format {
        case .json:
            let doc: JSONValue = .object(
                JSONObject([
                    ("from", .number(JSONNumber(a.position))), ("to", .number(JSONNumber(b.position))),
                    ("changes", StateDiff.json(changes)),
                ]))
            StandardOutput.shared.write(PrettyJSON.string(doc) + "\n")
        default:
            var out = "diff from position \(a.position) to position \(b.position): \(changes.count) change"
            out += changes.count == 1 ? "\n" : "s\n"
            for c in changes {
                let before = c.before.map { $0.canonicalString } ?? "(absent)"
                let after = c.after.map { $0.canonicalString } ?? "(absent)"
                out += "  \(c.path): \(before) -> \(after)\n"
            }
            StandardOutput.shared.write(out)
        }
    }
}
