import DeployLogEvents
import Foundation

/// Turns a sequence of events into the bytes of one output format, event by event, so that a
/// long log or a `--follow` never needs to be held in memory.
struct EventPrinter {
    let format: OutputFormat
    private var count = 0
    private var table: EventTable

    /// `streaming`: events arrive over time (`--follow`), so a table cannot wait to size its columns.
    init(format: OutputFormat, streaming: Bool, positionDigits: Int) {
        self.format = format
        table = EventTable(streaming: streaming, positionDigits: positionDigits)
    }

    /// What comes before the first event.
    mutating func begin(into out: inout [UInt8]) {
        switch format {
        case .csv: out.append(contentsOf: Self.csvHeader.utf8)
        case .json, .ndjson, .table: break
        }
    }

    mutating func print(_ e: RecordedEvent, into out: inout [UInt8]) {
        defer { count += 1 }
        switch format {
        case .ndjson:
            Self.appendCanonical(e, to: &out)
            out.append(0x0A)
        case .json:
            out.append(contentsOf: (count == 0 ? "[\n" : ",\n").utf8)
            Self.appendCanonical(e, to: &out)
        case .csv:
            out.append(contentsOf: Self.csvRow(e).utf8)
        case .table:
            table.add(e, into: &out)
        }
    }

    /// What comes after the last event.
    mutating func end(into out: inout [UInt8]) {
        switch format {
        case .json: out.append(contentsOf: (count == 0 ? "[]\n" : "\n]\n").utf8)
        case .table: table.finish(into: &out)
        case .csv, .ndjson: break
        }
    }

    /// Appends the event's export object (EVENTS.md fields plus position, streamVersion,
    /// recordedAt, schemaVersion, hash) as canonical JSON, writing straight into `out`.
    static func appendCanonical(_ e: RecordedEvent, to out: inout [UInt8]) {
        var w = CanonicalJSONWriter(reservingCapacity: 0)
        swap(&w.bytes, &out)
        w.write(e.envelopeObject(includeHash: true))
        swap(&w.bytes, &out)
    }

    // MARK: CSV

    static let csvHeader = "position,stream,streamVersion,type,occurredAt,recordedAt,eventId,actor,hash,data\r\n"

    static func csvRow(_ e: RecordedEvent) -> String {
        let fields = [
            String(e.position), e.stream, String(e.streamVersion), e.type, e.occurredAt.canonicalText,
            e.recordedAt.canonicalText, e.eventId.text, e.metadata["actor"]?.stringValue ?? "", e.hashHex ?? "",
            e.data.canonicalString,
        ]
        return fields.map(csvField).joined(separator: ",") + "\r\n"
    }

    /// RFC 4180: a field holding a comma, quote, CR or LF is quoted, its quotes doubled.
    static func csvField(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The `table` format: aligned columns position, occurredAt, stream, type, actor; long values
/// are cut short with `…`. Column widths fit the first rows (up to `sample`), or fixed
/// maximums when streaming.
struct EventTable {
    static let header = ["position", "occurredAt", "stream", "type", "actor"]
    /// Widest each column may be.
    static let maxWidths = [20, 27, 40, 30, 32]
    static let sample = 1000

    private var widths: [Int]?
    private var pending: [[String]] = []
    private let positionDigits: Int

    init(streaming: Bool, positionDigits: Int) {
        self.positionDigits = max(positionDigits, Self.header[0].count)
        if streaming {
            var w = Self.maxWidths
            w[0] = self.positionDigits
            widths = w
        }
    }

    mutating func add(_ e: RecordedEvent, into out: inout [UInt8]) {
        let row = [
            String(e.position), e.occurredAt.canonicalText, e.stream, e.type, e.metadata["actor"]?.stringValue ?? "",
        ]
        if let widths {
            write(row, widths, into: &out)
            return
        }
        pending.append(row)
        if pending.count >= Self.sample { flushPending(into: &out) }
    }

    mutating func finish(into out: inout [UInt8]) {
        if widths == nil { flushPending(into: &out) }
    }

    /// Sizes the columns to the rows seen so far, prints the header and those rows.
    private mutating func flushPending(into out: inout [UInt8]) {
        var w = Self.header.map(\.count)
        w[0] = positionDigits
        for row in pending {
            for (i, v) in row.enumerated() { w[i] = max(w[i], min(v.count, Self.maxWidths[i])) }
        }
        widths = w
        writeHeader(w, into: &out)
        for row in pending { write(row, w, into: &out) }
        pending = []
    }

    private var headerWritten = false

    private mutating func writeHeader(_ widths: [Int], into out: inout [UInt8]) {
        headerWritten = true
        write(Self.header, widths, into: &out)
    }

    private mutating func write(_ row: [String], _ widths: [Int], into out: inout [UInt8]) {
        if !headerWritten { writeHeader(widths, into: &out) }
        var line = ""
        for (i, value) in row.enumerated() {
            let last = i == row.count - 1
            let cell = Self.fit(value, widths[i])
            if i == 0 {
                line += String(repeating: " ", count: widths[i] - cell.count) + cell
            } else {
                line += cell
                if !last { line += String(repeating: " ", count: widths[i] - cell.count) }
            }
            if !last { line += "  " }
        }
        out.append(contentsOf: line.utf8)
        out.append(0x0A)
    }

    /// `value`, cut to `width` characters with a trailing `…` when longer; control characters
    /// shown as spaces so that a row stays one line.
    static func fit(_ value: String, _ width: Int) -> String {
        var v = value
        if v.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            v = String(
                String.UnicodeScalarView(v.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
        }
        guard v.count > width else { return v }
        return String(v.prefix(max(width - 1, 0))) + "…"
    }
}
