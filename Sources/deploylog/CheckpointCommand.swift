import ArgumentParser
import DeployLogEvents
import DeployLogStore

/// `deploylog checkpoint`: a position and its chain hash, for an auditor to keep elsewhere.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print the head's (or a position's) chain hash as JSON.",
        discussion: """
            Prints {"hash":"<hex SHA-256>","position":N} (canonical JSON). Keep it somewhere the \
            log's writers cannot reach; later, `deploylog verify --checkpoint FILE` proves the log \
            still extends it.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("The position to checkpoint (default: the head).", valueName: "n"))
    var position: Int64?

    func validate() throws {
        if let position, position < 0 { throw ValidationError("--position must not be negative, got \(position)") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let checkpoint: Checkpoint
        do {
            let head = try store.head()
            if let position {
                guard position <= head.position else {
                    throw CLIError.notFound("no event at position \(position) (the head is \(head.position))")
                }
                checkpoint = try store.checkpoint(at: position)
            } else {
                checkpoint = head
            }
        } catch {
            throw CLIError(wrapping: error)
        }
        StandardOutput.shared.write(CheckpointFile.json(checkpoint) + "\n")
    }
}
