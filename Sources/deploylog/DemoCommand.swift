import ArgumentParser
import DeployLogEngine
import DeployLogEvents
import DeployLogProjections
import DeployLogStore
import Foundation

/// `deploylog demo`: the seed's system, run for real on a throwaway PostgreSQL, then the log's
/// reports and its verification.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the camera-counting deployments for real on a throwaway PostgreSQL, then show the log.",
        discussion: """
            Starts a local PostgreSQL server (as the postgres user when run as root) in a temporary \
            folder; creates the staging, production-blue and production-green databases; deploys \
            the seed's four camera-counting migrations (embedded in the binary, the CREATE INDEX \
            CONCURRENTLY one outside a transaction) through a pipeline to staging, then blue-green \
            to production with a traffic switch; shows a deploy whose health check fails leaving \
            traffic where it was; runs a release with a failing migration on staging, which rolls \
            back automatically. Then prints the pipelines, metrics, health and state, and verifies \
            the log. The server is stopped and removed; the log is written to a temporary store \
            that is removed, unless --store names one to keep (it must be new or empty); \
            $DEPLOYLOG_STORE is not used.
            Needs the PostgreSQL server binaries (initdb, pg_ctl; `pg_config --bindir`).
            """)

    /// Only an explicit --store counts: without one the demo writes to a temporary store
    /// (never to $DEPLOYLOG_STORE or ./.deploylog).
    @OptionGroup var storeOptions: StoreOptions

    func run() throws(CLIError) {
        let store = storeOptions.store
        let out = StandardOutput.shared
        let temporary = store == nil || store!.isEmpty
        let path =
            temporary
            ? FileManager.default.temporaryDirectory.path + "/deploylog-demo-" + UUID().uuidString.lowercased() : store!
        defer {
            if temporary { try? FileManager.default.removeItem(atPath: path) }
        }

        let outcome: DemoScenario.Outcome
        do {
            // The store is released at the end of this scope: the reports below open it again.
            let fileStore: FileStore
            try? FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            do { fileStore = try FileStore.create(at: path) } catch { throw CLIError(error) }
            let head: Int64
            do { head = try fileStore.head().position } catch { throw CLIError(error) }
            if head > 0 {
                throw CLIError.usage(
                    "--store \(path) already holds \(head) events: the demo needs a new or empty store")
            }
            out.write(
                "deploylog demo: the camera-counting deployments, recorded in \(temporary ? "a temporary store" : path)\n\n"
            )
            let scenario = DemoScenario(store: fileStore) { line in
                out.write(line + "\n")
                out.flush()
            }
            do { outcome = try scenario.run() } catch { throw CLIError(error) }
        }

        func section(_ title: String, _ body: () throws(CLIError) -> Void) throws(CLIError) {
            out.write("\n==> \(title)\n")
            out.flush()
            try body()
            out.flush()
        }
        let storeArguments = ["--store", path]
        try section("pipelines") { () throws(CLIError) in out.write(try Self.pipelines(path)) }
        try section("deploylog metrics") { () throws(CLIError) in
            try Self.parse(MetricsCommand.self, storeArguments).run()
        }
        try section("deploylog health") { () throws(CLIError) in
            try Self.parse(HealthCommand.self, storeArguments).run()
        }
        try section("deploylog state") { () throws(CLIError) in try Self.parse(StateCommand.self, storeArguments).run()
        }
        try section("deploylog bluegreen status \(DemoScenario.pairName)") { () throws(CLIError) in
            try Self.parse(BlueGreenStatusCommand.self, storeArguments + [DemoScenario.pairName]).run()
        }
        try section("deploylog verify") { () throws(CLIError) in
            try Self.parse(VerifyCommand.self, storeArguments).run()
        }

        guard outcome.asExpected else {
            throw CLIError(
                .internalError,
                "the demo did not end as it should: staging pipeline \(outcome.stagingPipeline.status.rawValue), blue-green switched \(outcome.blueGreenDeploy.switched), failing release \(outcome.failingPipeline.status.rawValue)\(outcome.failingPipeline.rollbackNote.map { " (\($0))" } ?? "")"
            )
        }
        out.write(
            temporary
                ? "\ndone: the server and the temporary store are removed (give --store DIR to keep the log)\n"
                : "\ndone: the log is kept in \(path) (try `deploylog --store \(path) log`)\n")
    }

    /// Parses one of the report commands as the command line would.
    static func parse<C: ParsableCommand>(_ type: C.Type, _ arguments: [String]) throws(CLIError) -> C {
        do { return try C.parse(arguments) } catch { throw CLIError(.internalError, "demo: \(C.message(for: error))") }
    }

    /// The pipelines and their stages, from the pipelines projector.
    static func pipelines(_ path: String) throws(CLIError) -> String {
        let pipelines: PipelinesProjector
        do {
            let store = try FileStore.open(at: path)
            pipelines = try Projections.fold(PipelinesProjector.self, store)
        } catch {
            throw CLIError(wrapping: error)
        }
        var out = ""
        for p in pipelines.pipelines {
            let duration = p.completedAt.map { " in \(($0.microseconds - p.startedAt.microseconds) / 1000) ms" } ?? ""
            out +=
                "\(p.pipelineName) \(p.pipelineVersion) -> \(p.environment): \(p.status)\(duration) (\(p.pipelineId))\n"
            out += TextTable.render(
                ["ORDER", "STAGE", "TYPE", "STATUS", "MS", "ERROR"],
                pipelines.stages(of: p.pipelineId).map { s in
                    [
                        String(s.stageOrder), s.stageName, s.stageType, s.status, s.durationMs.map(String.init) ?? "",
                        s.errorMessage ?? "",
                    ]
                })
        }
        return out
    }
}
