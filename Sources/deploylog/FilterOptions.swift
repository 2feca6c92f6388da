import ArgumentParser
import DeployLogEvents
import DeployLogStore

/// Which events to read: the `log` filters.
struct FilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this stream, e.g. pipeline-7f3c.", valueName: "name"))
    var stream: String?

    @Option(
        name: .customLong("category"),
        help: ArgumentHelp(
            "Only streams of this category (the part of the name before its first '-'), e.g. "
                + "pipeline. Repeat for several.", valueName: "category"))
    var categories: [String] = []

    @Option(
        name: .customLong("type"),
        help: ArgumentHelp("Only events of this type, e.g. StageFailed. Repeat for several.", valueName: "type"))
    var types: [String] = []

    @Option(help: ArgumentHelp("Only events that occurred at or after this ISO 8601 time.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only events that occurred before this ISO 8601 time.", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Start at this global position.", valueName: "n"))
    var fromPosition: Int64 = 1

    @Option(help: ArgumentHelp("Print at most this many events.", valueName: "n"))
    var limit: Int?

    func validate() throws {
        let since = try Self.time(since, option: "--since")
        let until = try Self.time(until, option: "--until")
        if let since, let until, !(since < until) {
            throw ValidationError("--since (\(since)) must be before --until (\(until))")
        }
        if fromPosition < 1 { throw ValidationError("--from-position must be at least 1, got \(fromPosition)") }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative, got \(limit)") }
        if let stream, stream.isEmpty { throw ValidationError("--stream must not be empty") }
    }

    /// The store filter these options describe.
    var filter: EventFilter {
        EventFilter(
            stream: stream,
            categories: categories.isEmpty ? nil : Set(categories),
            types: types.isEmpty ? nil : Set(types),
            since: (try? Self.time(since, option: "--since")) ?? nil,
            until: (try? Self.time(until, option: "--until")) ?? nil)
    }

    /// Parses an RFC 3339 time (`2026-11-20T10:15:02Z`, with optional fraction and offset) or a
    /// date (`2026-11-20`, midnight UTC).
    static func time(_ text: String?, option: String) throws(ValidationError) -> Timestamp? {
        guard let text else { return nil }
        if let t = Timestamp(iso8601: text) { return t }
        if text.utf8.count == 10, let t = Timestamp(iso8601: text + "T00:00:00Z") { return t }
        throw ValidationError(
            "\(option): \"\(text)\" is not an ISO 8601 time such as 2026-11-20T10:15:02Z or 2026-11-20")
    }
}
