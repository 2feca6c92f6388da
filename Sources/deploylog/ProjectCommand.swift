import ArgumentParser
import DeployLogEvents
import DeployLogPostgres
import DeployLogProjectionSink
import DeployLogStore
import Foundation

/// `deploylog project rebuild|catch-up|status`: the projected tables in PostgreSQL.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Write the projections to PostgreSQL tables (the seed's tables and views).",
        discussion: """
            The tables of projections/*.sql live in one schema (--schema, default deploylog_read) \
            of the database given by --database or $DEPLOYLOG_DATABASE_URL; readers put it on \
            their search_path. Each projector's checkpoint (version, position, chain hash) is in \
            deploylog_projection_checkpoints beside its tables, written in the transaction that \
            writes its rows. The session and the database's default TimeZone are set to UTC: the \
            seed's TIMESTAMP columns hold UTC.

            Exit status: 0 ok; 64 usage (no --database, bad option); 66 no store; 67 the \
            database's tables do not match the projectors (rebuild with --zero-downtime); 69 the \
            database cannot be reached, or another sink is writing the schema; 70 a database or \
            internal error. Passwords are never printed.
            """,
        subcommands: [ProjectRebuildCommand.self, ProjectCatchUpCommand.self, ProjectStatusCommand.self])
}

/// `--database` and `--schema`, shared by the `project` subcommands.
struct DatabaseOptions: ParsableArguments {
    static let environmentVariable = "DEPLOYLOG_DATABASE_URL"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The PostgreSQL database (postgres://… or conninfo; default: $DEPLOYLOG_DATABASE_URL).",
            valueName: "url"))
    var database: String?

    @Option(name: .long, help: ArgumentHelp("The schema of the tables.", valueName: "name"))
    var schema: String = ProjectionSink.defaultSchema

    /// `--database`, else `$DEPLOYLOG_DATABASE_URL`.
    var address: String? {
        if let database, !database.isEmpty { return database }
        if let env = ProcessInfo.processInfo.environment[Self.environmentVariable], !env.isEmpty { return env }
        return nil
    }

    func validate() throws {
        guard let address else { throw ValidationError("give --database URL or set \(Self.environmentVariable)") }
        if PostgresURL.isMistypedURL(address) {
            // Never echo the address: it may hold a password.
            throw ValidationError("--database must be a postgres:// (postgresql://) URL or keyword=value conninfo")
        }
        if let problem = PostgresURL.credentialProblem(address) { throw ValidationError("--database: \(problem)") }
    }

    /// The sink over `store`, connected to the database.
    func sink(_ store: any EventStore) throws(CLIError) -> ProjectionSink {
        do {
            let connection = try PostgresConnection(address ?? "")
            return try ProjectionSink(connection: connection, store: store, schema: schema)
        } catch {
            throw projectError(error)
        }
    }
}

/// An error of the sink, the database or the store as the CLI reports it (see the exit
/// statuses in `ProjectCommand`). PostgreSQL's messages never hold the password.
func projectError(_ error: any Error) -> CLIError {
    switch error {
    case let e as PostgresError where e.kind == .connection && e.message.hasPrefix("invalid connection string"):
        return CLIError(.usage, "--database: \(e.message)")
    case let e as PostgresError where e.kind == .connection:
        return CLIError(.locked, "database unavailable: \(e.message)")
    case let e as PostgresError:
        return CLIError(.internalError, "database error: \(e.message)" + (e.sqlState.map { " (SQLSTATE \($0))" } ?? ""))
    case let e as ProjectionSinkError:
        switch e.code {
        case .busy: return CLIError(.locked, e.message)
        case .invalidRequest: return CLIError(.usage, e.message)
        case .schemaMismatch, .conflict: return CLIError(.conflict, e.message)
        case .valueTooLong: return CLIError(.badInput, e.message)
        case .internal: return CLIError(.internalError, e.message)
        }
    default:
        return CLIError(wrapping: error)
    }
}

/// Runs `body` with a progress line on a terminal, mapping errors for the CLI.
private func withSink<T>(
    _ storeOptions: StoreOptions, _ databaseOptions: DatabaseOptions, _ body: (ProjectionSink) throws -> T
) throws(CLIError) -> T {
    let sink = try databaseOptions.sink(try storeOptions.open())
    let progress = ProgressLine(enabled: true)
    defer { progress.finish() }
    sink.progress = { progress.update($0) }
    do { return try body(sink) } catch { throw projectError(error) }
}

/// The lines `rebuild` and `catch-up` print: one per projector, then a summary.
private func render(_ report: SinkReport, verb: String, address: String, seconds: Double) -> String {
    var out = ""
    for e in report.entries {
        let what: String
        switch e.action {
        case .rebuilt(let reason): what = "rebuilt (\(reason))"
        case .caughtUp(let from): what = "caught up from position \(from)"
        case .upToDate: what = "up to date"
        }
        let name = e.projector.name.padding(toLength: 13, withPad: " ", startingAt: 0)
        out += "\(name) v\(e.projector.version)  \(what), \(e.rows) rows\n"
    }
    out += "\(verb) \(address) schema \(report.schema) to position \(report.head.position) "
    out += "(hash \(report.head.hash.prefix(16))…) in \(String(format: "%.2f", seconds)) s\n"
    for note in report.notes { StandardIO.reportError("warning: " + note) }
    return out
}

private func elapsed(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// `deploylog project rebuild`.
struct ProjectRebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild the projected tables from the whole log (bulk COPY, one transaction).",
        discussion: """
            Creates what is missing (projections/*.sql), empties the projectors' tables, loads \
            them with binary COPY and writes their checkpoints, all in one transaction: readers \
            wait for it, and a failure leaves the previous tables as they were. --only rebuilds \
            one projector (and rollbacks with pipelines: its rows reference them); metrics has \
            only views, which are (re)created. --zero-downtime builds every table in a shadow \
            schema (<schema>_next), catches it up, and swaps it in with two schema renames in \
            one transaction, while readers keep reading; it refuses (67) while a schema of your \
            own is named <schema>_next or <schema>_old (the sink drops only those it made).
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var databaseOptions: DatabaseOptions

    @Option(
        help: ArgumentHelp(
            "Only this projector: \(SinkProjector.allCases.map(\.name).joined(separator: ", ")).",
            valueName: "name"))
    var only: SinkProjector?

    @Flag(name: .customLong("zero-downtime"), help: "Build into a shadow schema and swap it in.")
    var zeroDowntime = false

    func validate() throws {
        if zeroDowntime && only != nil {
            throw ValidationError("--zero-downtime rebuilds every projector: it cannot be combined with --only")
        }
    }

    func run() throws(CLIError) {
        let start = DispatchTime.now()
        let (report, address) = try withSink(storeOptions, databaseOptions) { sink in
            let report =
                zeroDowntime ? try sink.rebuildWithoutDowntime() : try sink.rebuild(only: only.map { [$0] })
            return (report, sink.connection.address)
        }
        StandardOutput.shared.write(render(report, verb: "rebuilt", address: address, seconds: elapsed(since: start)))
    }
}

/// `deploylog project catch-up`.
struct ProjectCatchUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catch-up",
        abstract: "Write what the log gained since each projector's checkpoint (one transaction).",
        discussion: """
            Upserts only the rows changed after each checkpoint and moves the checkpoints to the \
            log's head. A projector never built, built by another version, or from another log \
            (its checkpoint's hash differs) is rebuilt instead, and the output says why.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var databaseOptions: DatabaseOptions

    func run() throws(CLIError) {
        let start = DispatchTime.now()
        let (report, address) = try withSink(storeOptions, databaseOptions) { sink in
            (try sink.catchUp(), sink.connection.address)
        }
        StandardOutput.shared.write(render(report, verb: "caught up", address: address, seconds: elapsed(since: start)))
    }
}

/// `deploylog project status`.
struct ProjectStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Each projector's code version, checkpoint, and how far behind the log it is.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var databaseOptions: DatabaseOptions

    @Option(help: "Output format: table or json.")
    var format: ReportFormat = .table

    func validate() throws {
        if format == .csv { throw ValidationError("--format must be table or json for project status") }
    }

    func run() throws(CLIError) {
        let (statuses, address) = try withSink(storeOptions, databaseOptions) { sink in
            (try sink.status(), sink.connection.address)
        }
        let head = statuses.first?.head ?? 0
        func state(_ s: ProjectorStatus.State) -> String {
            switch s {
            case .upToDate: "up to date"
            case .behind: "behind"
            case .notBuilt: "not built"
            case .rebuildNeeded(let why): "rebuild needed: \(why)"
            }
        }
        switch format {
        case .json:
            let projectors = statuses.map { s -> JSONValue in
                let c = s.checkpoint
                return .object(
                    JSONObject([
                        ("projector", .string(s.projector.name)), ("codeVersion", .number(JSONNumber(s.codeVersion))),
                        ("version", c.map { .number(JSONNumber($0.version)) } ?? .null),
                        ("position", c.map { .number(JSONNumber($0.position)) } ?? .null),
                        ("hash", c.map { .string($0.hash) } ?? .null),
                        (
                            "updatedAt",
                            c.map { .string(Timestamp(microsecondsSinceEpoch: $0.updatedAt).canonicalText) } ?? .null
                        ),
                        ("head", .number(JSONNumber(s.head))), ("behind", .number(JSONNumber(s.behind))),
                        ("state", .string(state(s.state))),
                    ]))
            }
            let doc: JSONValue = .object(
                JSONObject([
                    ("database", .string(address)), ("schema", .string(databaseOptions.schema)),
                    ("head", .number(JSONNumber(head))), ("projectors", .array(projectors)),
                ]))
            StandardOutput.shared.write(PrettyJSON.string(doc) + "\n")
        default:
            let rows = statuses.map { s -> [String] in
                let c = s.checkpoint
                return [
                    s.projector.name, String(s.codeVersion), c.map { String($0.version) } ?? "-",
                    c.map { String($0.position) } ?? "-", String(s.head), String(s.behind),
                    c.map { String($0.hash.prefix(16)) } ?? "-", state(s.state),
                ]
            }
            var out = "\(address) schema \(databaseOptions.schema), log head \(head)\n\n"
            out += TextTable.render(
                ["PROJECTOR", "CODE_VERSION", "VERSION", "POSITION", "HEAD", "BEHIND", "HASH", "STATE"], rows)
            StandardOutput.shared.write(out)
        }
    }
}

extension SinkProjector: ExpressibleByArgument {}
