import ArgumentParser

/// How `log` prints events.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    /// Aligned columns for people.
    case table
    /// One JSON array of event objects.
    case json
    /// One canonical JSON object per line: the export an auditor checks.
    case ndjson
    /// RFC 4180 CSV with a header row.
    case csv
}
