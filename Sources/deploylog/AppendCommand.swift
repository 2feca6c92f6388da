import ArgumentParser
import DeployLogEvents
import DeployLogStore

/// `deploylog append`: events from stdin, validated as a whole, then appended in batches.
struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append events read from stdin (one JSON object, or NDJSON).",
        discussion: """
            Each event is an envelope as EVENTS.md describes: "stream", "type" and "data" \
            required; "eventId", "occurredAt", "expectedVersion", "metadata" and "schemaVersion" \
            optional. Blank lines are ignored; a single object may be pretty-printed.

            The whole input is checked before anything is written: the first malformed line is \
            reported with its number and nothing is appended (exit 65). Passwords in URLs are \
            removed before events are stored.

            Events are then appended in order, in atomic and durable batches of \(batchSize): if the \
            command is interrupted, the store holds an exact prefix of the input, and running it \
            again completes it. An event whose eventId is already stored is skipped (counted as \
            already present); an event without an eventId gets one derived from its content, so \
            re-running the same input never duplicates it. To append two identical events on \
            purpose, give each its own eventId.
            """)

    /// Events per atomic, durable `append` call.
    static let batchSize = 1000
    /// Inputs at least this large show progress on a terminal.
    static let progressThreshold = 20_000

    @OptionGroup var storeOptions: StoreOptions

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        if StandardIO.stdinIsTerminal {
            StandardIO.writeError("deploylog: reading events from stdin (end with Ctrl-D)\n")
        }
        let input: AppendInput
        let checking = ProgressLine(enabled: true)
        do {
            input = try AppendInput(parsing: try StandardIO.readAllInput()) { n in
                checking.update("checking: \(n) lines")
            }
        } catch let e as AppendInput.Problem {
            checking.finish()
            throw .badInput(e.description)
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError(.internalError, "\(error)")
        }
        checking.finish()

        let summary = try Self.append(input, to: store)
        let head: Checkpoint
        do { head = try store.head() } catch { throw CLIError(error) }
        let events = summary.appended == 1 ? "event" : "events"
        StandardOutput.shared.write(
            "appended \(summary.appended) \(events), \(summary.alreadyPresent) already present; head \(head.position) \(head.hash)\n"
        )
    }

    struct Summary {
        var appended = 0
        var alreadyPresent = 0
    }

    /// Appends `input` in batches, in order; a conflict stops at its batch (earlier batches stay).
    static func append(_ input: AppendInput, to store: any EventStore) throws(CLIError) -> Summary {
        var summary = Summary()
        let total = input.events.count
        let progress = ProgressLine(enabled: total >= progressThreshold)
        defer { progress.finish() }
        var start = 0
        while start < total {
            let end = min(start + batchSize, total)
            let result: AppendResult
            do {
                result = try store.append(Array(input.events[start..<end]))
            } catch {
                progress.finish()
                var e = CLIError(error)
                if error.code == .conflict {
                    let lines = "lines \(input.lines[start])–\(input.lines[end - 1])"
                    e.message +=
                        start == 0
                        ? "; nothing appended"
                        : "; events before line \(input.lines[start]) were appended, none of \(lines) or after"
                }
                throw e
            }
            summary.appended += result.appendedCount
            summary.alreadyPresent += (end - start) - result.appendedCount
            start = end
            progress.update("appending: \(start)/\(total) events")
        }
        return summary
    }
}
