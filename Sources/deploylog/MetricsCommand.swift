import ArgumentParser
import DeployLogEvents
import DeployLogProjections
import DeployLogStore

/// Folds the metrics projector over the pipeline and rollback streams (the only ones it reads).
func foldMetrics(_ store: any EventStore) throws(CLIError) -> MetricsProjector {
    var m = MetricsProjector()
    let progress = ProgressLine(enabled: true)
    defer { progress.finish() }
    var count = 0
    do {
        try store.read(from: 1, filter: EventFilter(categories: ["pipeline", "rollback"]), limit: nil) { e in
            m.apply(ProjectedEvent(e))
            count += 1
            if count & 4095 == 0 { progress.update("folding: position \(e.position)") }
            return true
        }
    } catch {
        throw CLIError(wrapping: error)
    }
    return m
}

/// `deploylog metrics`: deployment metrics and the DORA keys per environment.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Deployment metrics and DORA keys per environment, as of an instant.",
        discussion: """
            Only events that occurred at or before --as-of count. The window holds the pipelines \
            started in (as-of - window, as-of]; each has the status of its latest terminal event \
            up to as-of, or running. Per environment: total, successful, failed and rolled-back \
            deployments, success rate (%), average and maximum deployment time (s), deployments \
            per day, median lead time (commit to completion, s), change failure rate (fraction), \
            median time to restore (s), and per stage its runs, success rate and average duration.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customLong("as-of"), help: ArgumentHelp("The instant (RFC 3339; default: now).", valueName: "time"))
    var asOf: String?

    @Option(name: .customLong("window-days"), help: ArgumentHelp("The window in days.", valueName: "days"))
    var windowDays: Int = 30

    @Option(name: .customLong("env"), help: ArgumentHelp("Only this environment.", valueName: "name"))
    var environment: String?

    @Option(help: "Output format: json, table or csv.")
    var format: ReportFormat = .table

    func validate() throws {
        if windowDays < 1 { throw ValidationError("--window-days must be at least 1, got \(windowDays)") }
    }

    func run() throws(CLIError) {
        let instant = try parseInstant(asOf, option: "--as-of")
        let store = try storeOptions.open()
        let report = MetricsReport(try foldMetrics(store), asOf: instant, windowDays: windowDays, environment: environment)
        let columns = [
            "environment", "total", "completed", "failed", "rolled_back", "running", "success_rate",
            "avg_time_s", "max_time_s", "deploys_per_day", "lead_time_median_s", "change_failure_rate",
            "time_to_restore_median_s",
        ]
        let json = report.json
        let rows = (json.objectValue?["environments"]?.arrayValue ?? []).map { e -> [String] in
            let o = e.objectValue ?? JSONObject()
            return [
                "environment", "totalDeployments", "successfulDeployments", "failedDeployments",
                "rolledBackDeployments", "runningDeployments", "successRate", "avgDeploymentTimeSeconds",
                "maxDeploymentTimeSeconds", "deploymentsPerDay", "leadTimeSecondsMedian", "changeFailureRate",
                "timeToRestoreSecondsMedian",
            ].map { TextTable.cell(o[$0]) }
        }
        switch format {
        case .json: StandardOutput.shared.write(PrettyJSON.string(json) + "\n")
        case .csv: StandardOutput.shared.write(TextTable.csv(columns, rows))
        case .table:
            var out = "metrics as of \(instant.canonicalText), window \(windowDays) days\n\n"
            out += TextTable.render(columns.map { $0.uppercased() }, rows)
            for env in report.environments where !env.stages.isEmpty {
                out += "\n\(env.environment) stages\n"
                out += TextTable.render(
                    ["STAGE", "RUNS", "COMPLETED", "FAILED", "SKIPPED", "SUCCESS_RATE", "AVG_DURATION_S"],
                    env.stages.map { s in
                        [
                            s.stageName, String(s.runs), String(s.completed), String(s.failed), String(s.skipped),
                            s.successRate.map { TextTable.cell(.number(JSONNumber($0))) } ?? "",
                            s.avgDurationSeconds.map { TextTable.cell(.number(JSONNumber($0))) } ?? "",
                        ]
                    })
            }
            StandardOutput.shared.write(out)
        }
    }
}

/// `deploylog health`: the seed's `get_deployment_health()` document, as of an instant.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "The deployment health document (the seed's get_deployment_health()), as of an instant.",
        discussion: """
            Today's (UTC) pipelines by status, those running, the average minutes of pipelines \
            completed in the last 7 days, each environment's last finished deployment, and the \
            last ten rollbacks of the last 7 days.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customLong("as-of"), help: ArgumentHelp("The instant (RFC 3339; default: now).", valueName: "time"))
    var asOf: String?

    @Option(help: "Output format: json.")
    var format: ReportFormat = .json

    func validate() throws {
        if format != .json { throw ValidationError("--format must be json for health") }
    }

    func run() throws(CLIError) {
        let instant = try parseInstant(asOf, option: "--as-of")
        let store = try storeOptions.open()
        let doc = HealthReport.json(try foldMetrics(store), asOf: instant)
        StandardOutput.shared.write(PrettyJSON.string(doc) + "\n")
    }
}
