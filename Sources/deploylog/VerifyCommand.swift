import ArgumentParser
import DeployLogEvents
import DeployLogPostgresStore
import DeployLogStore

/// `deploylog verify`: checks every byte of the store, and optionally that it extends a checkpoint.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the whole log: framing, checksums, decompression, the hash chain.",
        discussion: """
            Opening the store first cuts back a torn tail left by a writer that was killed \
            (nothing acknowledged is lost). On success prints one "ok:" line; on failure names \
            the first bad position and exits 68. With --checkpoint FILE (as printed by \
            `deploylog checkpoint`), also proves that the log still extends that checkpoint. \
            On a PostgreSQL store every row is checked: gapless positions, decompression, the \
            canonical bytes (and the row's columns against them) and the hash chain.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("A checkpoint the log must extend.", valueName: "file"))
    var checkpoint: String?

    func run() throws(CLIError) {
        let expected = try checkpoint.map { (path) throws(CLIError) in try CheckpointFile.read(path) }
        let progress = ProgressLine(enabled: true, delay: 0)
        let report: VerificationReport
        do {
            report = try Self.verify(storeOptions, checkpoint: expected) { n in
                progress.update("verifying: \(n) events")
            }
        } catch {
            progress.finish()
            throw CLIError(error)
        }
        progress.finish()
        if let problem = report.problem {
            throw CLIError(.verificationFailed, "verification failed at \(problem)")
        }
        var line = "ok: \(report.events) events"
        if !storeOptions.isPostgres { line += ", \(report.segments) segment\(report.segments == 1 ? "" : "s")" }
        line += ", head \(report.head.position) \(report.head.hash)"
        if let expected { line += "; extends checkpoint \(expected.position) \(expected.hash)" }
        StandardOutput.shared.write(line + "\n")
    }

    /// Verifies the store of either backend.
    static func verify(
        _ storeOptions: StoreOptions, checkpoint: Checkpoint?, progress: @escaping (Int64) -> Void
    ) throws(StoreError) -> VerificationReport {
        if storeOptions.isPostgres {
            return try PostgresStore.open(url: storeOptions.address).verify(checkpoint: checkpoint, progress: progress)
        }
        let path = storeOptions.path
        // Opening repairs a torn tail; a store too damaged to open is still verified, to name
        // the first bad position.
        do { _ = try FileStore.open(at: path) } catch  where error.code == .corruption {}
        return try FileStore.verify(at: path, checkpoint: checkpoint, progress: progress)
    }
}
