import ArgumentParser
import DeployLogEvents
import DeployLogStore

/// `deploylog show POSITION`: one event.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the event at a position.",
        discussion:
            "json prints it indented; ndjson prints its canonical one-line form. Exit 66 when there is no such position."
    )

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case json, ndjson
    }

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The event's global position (from 1).")
    var position: Int64

    @Option(help: "Output format.")
    var format: Format = .json

    func validate() throws {
        if position < 1 { throw ValidationError("position must be at least 1, got \(position)") }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let event: RecordedEvent
        do {
            let head = try store.head()
            guard position <= head.position else {
                throw CLIError.notFound("no event at position \(position) (the head is \(head.position))")
            }
            event = try store.event(atPosition: position)
        } catch {
            throw CLIError(wrapping: error)
        }
        let object = JSONValue.object(event.envelopeObject(includeHash: true))
        switch format {
        case .json: StandardOutput.shared.write(PrettyJSON.string(object) + "\n")
        case .ndjson: StandardOutput.shared.write(object.canonicalString + "\n")
        }
    }
}
