import ArgumentParser
import DeployLogEvents
import DeployLogStore

/// `deploylog copy --from STORE --to STORE`: a whole log moved between backends, unchanged.
struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a log to another store (directory or postgres:// URL), unchanged.",
        discussion: """
            Every event keeps its position, stream version, recorded time and hash: `log --format \
            ndjson` of both stores is identical and `verify` passes on both. The target is created \
            when missing. Events go in atomic batches, so an interrupted copy leaves the target \
            holding an exact prefix of the source; running the same command again resumes from \
            the target's head, once the target's head hash is found equal to the source's hash \
            at that position. A target that diverges from the source, or is ahead of it, is \
            refused (exit 67) and left as it is. Events appended to the source during the copy \
            are left for the next run. A progress line is shown on a terminal.
            """)

    @Option(help: ArgumentHelp("The store to copy from.", valueName: "path|url"))
    var from: String

    @Option(help: ArgumentHelp("The store to copy to (created when missing).", valueName: "path|url"))
    var to: String

    @Option(help: ArgumentHelp("Events per atomic batch (1 to 1000000).", valueName: "n"))
    var batch: Int = 10_000

    /// The largest `--batch`. A batch is held in memory and written in one transaction: a
    /// million events already holds hundreds of megabytes and gains nothing over 10,000 (the
    /// per-batch cost is one round trip); past it a typo would only exhaust memory, or trap
    /// when reserving it, instead of being refused.
    static let maximumBatch = 1_000_000
    /// The most events reserved for up front: a large `--batch` grows the buffer as events
    /// arrive instead of allocating it all before the first read (a log smaller than the batch
    /// never needs it).
    static let reservedBatch = 10_000

    func validate() throws {
        try StoreOptions.check(from, option: "--from")
        try StoreOptions.check(to, option: "--to")
        if batch < 1 || batch > Self.maximumBatch {
            throw ValidationError("--batch must be from 1 to \(Self.maximumBatch), got \(batch)")
        }
        if from == to { throw ValidationError("--from and --to name the same store") }
    }

    func run() throws(CLIError) {
        let source = try StoreOptions.open(from)
        let target = try StoreOptions.create(to)
        let fromName = StoreOptions.display(from)
        let toName = StoreOptions.display(to)
        let progress = ProgressLine(enabled: true)
        defer { progress.finish() }
        let copied: Int64
        let head: Checkpoint
        do {
            let sourceHead = try source.head()
            let start = try target.head()
            if start.position > sourceHead.position {
                throw CLIError(
                    .conflict,
                    "the target \(toName) is ahead of the source: its head is position \(start.position), the source's \(sourceHead.position); nothing copied"
                )
            }
            if start.position > 0 {
                let there = try source.checkpoint(at: start.position)
                guard there.hash == start.hash else {
                    throw CLIError(
                        .conflict,
                        "the target \(toName) diverges from the source at or before position \(start.position): hash \(start.hash) there, the source has \(there.hash); nothing copied"
                    )
                }
            }
            var pending = [RecordedEvent]()
            pending.reserveCapacity(min(batch, Self.reservedBatch))
            var done = start.position
            let total = sourceHead.position
            let batchSize = batch
            func flush() throws {
                try target.importRecorded(pending)
                done = pending.last?.position ?? done
                pending.removeAll(keepingCapacity: true)
                progress.update("copying: \(done)/\(total) events")
            }
            if start.position < total {
                try source.read(from: start.position + 1, filter: EventFilter(throughPosition: total), limit: nil) {
                    e in
                    pending.append(e)
                    if pending.count >= batchSize { try flush() }
                    return true
                }
                try flush()
            }
            copied = done - start.position
            head = try target.head()
            let expected = try source.checkpoint(at: head.position)
            guard head == expected else {
                throw CLIError(
                    .verificationFailed,
                    "after the copy the target's head \(head.position) \(head.hash) differs from the source's \(expected.hash)"
                )
            }
        } catch {
            progress.finish()
            throw CLIError(wrapping: error)
        }
        StandardOutput.shared.write(
            "copied \(copied) event\(copied == 1 ? "" : "s") from \(fromName) to \(toName); head \(head.position) \(head.hash)\n"
        )
    }
}
