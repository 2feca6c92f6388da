import ArgumentParser
import DeployLogEvents
import DeployLogStore

/// `deploylog log`: events in order, filtered, in one of four formats; `--follow` keeps going.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print events in log order, filtered.",
        discussion: """
            Formats: table (for people), json (one array), ndjson (one canonical JSON object per \
            line, with position, streamVersion, recordedAt, schemaVersion and hash: the export \
            that events/verify-chain.py checks), csv (RFC 4180, with a header row; data as \
            canonical JSON). --since and --until compare occurredAt. --follow prints new events \
            as they are appended, until interrupted.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filterOptions: FilterOptions

    @Option(help: "Output format.")
    var format: OutputFormat = .table

    @Flag(help: "After the existing events, keep printing new ones until interrupted.")
    var follow = false

    func validate() throws {
        if follow, format == .json {
            throw ValidationError("--follow cannot print a JSON array that never ends: use --format ndjson")
        }
    }

    func run() throws(CLIError) {
        let store = try storeOptions.open()
        let head: Checkpoint
        do { head = try store.head() } catch { throw CLIError(error) }
        let digits = String(max(head.position, 1)).count
        if follow {
            try Self.follow(store, filterOptions, format: format, positionDigits: digits + 1)
        } else {
            try Self.print(store, filterOptions, format: format, positionDigits: digits)
        }
    }

    /// Prints the matching events that exist now.
    static func print(_ store: any EventStore, _ options: FilterOptions, format: OutputFormat, positionDigits: Int)
        throws(CLIError)
    {
        var printer = EventPrinter(format: format, streaming: false, positionDigits: positionDigits)
        var out = [UInt8]()
        out.reserveCapacity(1 << 16)
        printer.begin(into: &out)
        // Progress only when the events go somewhere else than the terminal.
        let progress = ProgressLine(enabled: !StandardIO.stdoutIsTerminal)
        defer { progress.finish() }
        var printed = 0
        if options.limit != 0 {
            do {
                try store.read(from: options.fromPosition, filter: options.filter, limit: options.limit) { e in
                    printer.print(e, into: &out)
                    printed += 1
                    progress.update("reading: \(printed) events, at position \(e.position)")
                    if out.count >= 1 << 16 {
                        StandardOutput.shared.write(out)
                        out.removeAll(keepingCapacity: true)
                    }
                    return true
                }
            } catch let e as StoreError {
                progress.finish()
                StandardOutput.shared.write(out)
                throw CLIError(e)
            } catch {
                throw CLIError(.internalError, "\(error)")
            }
        }
        printer.end(into: &out)
        StandardOutput.shared.write(out)
    }

    /// Prints the matching events, then new ones as they are committed, until interrupted (or
    /// `--limit` events have been printed).
    static func follow(_ store: any EventStore, _ options: FilterOptions, format: OutputFormat, positionDigits: Int)
        throws(CLIError)
    {
        final class State: @unchecked Sendable {
            var printer: EventPrinter
            var printed = 0
            init(_ printer: EventPrinter) { self.printer = printer }
        }
        let state = State(EventPrinter(format: format, streaming: true, positionDigits: positionDigits))
        var out = [UInt8]()
        state.printer.begin(into: &out)
        StandardOutput.shared.write(out)
        StandardOutput.shared.flush()
        let limit = options.limit
        if limit == 0 { return }
        let subscription = store.subscribe(from: options.fromPosition, filter: options.filter, pollInterval: 0.1) { e in
            var out = [UInt8]()
            state.printer.print(e, into: &out)
            StandardOutput.shared.write(out)
            StandardOutput.shared.flush()
            state.printed += 1
            if let limit, state.printed >= limit { return false }
            return true
        }
        do { try subscription.wait() } catch let e as StoreError { throw CLIError(e) } catch {
            throw CLIError(.internalError, "\(error)")
        }
    }
}
