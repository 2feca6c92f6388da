import Logging

/// What a store says without failing (a subscription lost its connection and retries; the
/// connection is back), as `deploylog: warning: …` lines on stderr: notices and above. A
/// message's `error` and `position` metadata are told with it; other metadata is for debugging.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .notice

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }
        var line = "\(event.level >= .warning ? "warning" : "note"): \(event.message)"
        if let position = fields["position"] { line += " (at position \(position))" }
        if let error = fields["error"] { line += ": \(error)" }
        StandardIO.reportError(line)
    }

    /// A logger for the stores the command line opens.
    static let logger = Logger(label: "deploylog") { _ in StderrLogHandler() }
}
