import DeployLogEvents
import DeployLogStore

/// The events of one `append` input, validated as a whole before anything is written.
///
/// The input is NDJSON (one envelope per line; blank lines ignored) or a single JSON object,
/// which may be pretty-printed over several lines. Each envelope is parsed strictly, read as
/// EVENTS.md "The envelope" says (passwords in URLs removed), and its `data` checked against
/// the catalog. The first problem is reported with its line number.
///
/// An envelope without `eventId` gets one derived from its content: a name-based UUID from the
/// SHA-256 of its canonical JSON and the number of identical envelopes before it in the input.
/// Re-running the same input therefore appends nothing twice.
struct AppendInput {
    /// The events, in input order.
    var events: [ProposedEvent] = []
    /// The (1-based) line each event starts on.
    var lines: [Int] = []

    /// A problem with the input: the line it is on and what is wrong.
    struct Problem: Error, Equatable, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    /// One line of the input: its number and byte range (without the line break).
    private struct Line {
        var number: Int
        var start: Int
        var end: Int
    }

    /// `progress` is told the number of lines checked, every few thousand.
    init(parsing bytes: [UInt8], progress: ((Int) -> Void)? = nil) throws(Problem) {
        let result = bytes.withUnsafeBytes { buf in
            Result { () throws(Problem) -> AppendInput in try AppendInput(buf, progress: progress) }
        }
        self = try result.get()
    }

    private init(_ input: UnsafeRawBufferPointer, progress: ((Int) -> Void)?) throws(Problem) {
        // A UTF-8 byte order mark, as some editors write, is not part of the first line.
        var buf = input
        if buf.count >= 3, buf[0] == 0xEF, buf[1] == 0xBB, buf[2] == 0xBF {
            buf = UnsafeRawBufferPointer(rebasing: buf[3...])
        }
        let lines = Self.nonBlankLines(buf)
        guard let first = lines.first else { return }
        var derived = DerivedIDs()

        // A single object spread over several lines: the first line alone is an unfinished value.
        if lines.count > 1, case .failure(let e) = Self.parse(buf, first.start, first.end),
            e.offset >= first.end - first.start
        {
            switch Self.parse(buf, first.start, buf.count) {
            case .success(let value):
                try add(value, line: first.number, derived: &derived)
                return
            case .failure(let whole):
                // Report the document's error where it is, unless that line is itself a
                // complete object: then this is NDJSON with an unfinished first line.
                let offset = first.start + whole.offset
                let at = lines.last(where: { $0.start <= offset }) ?? first
                if at.number != first.number, case .success(.object) = Self.parse(buf, at.start, at.end) {
                    throw Problem(line: first.number, message: "invalid JSON at byte \(e.offset): \(e.message)")
                }
                let lineStart = at.number == first.number ? first.start : at.start
                throw Problem(line: at.number, message: "invalid JSON at byte \(offset - lineStart): \(whole.message)")
            }
        }

        events.reserveCapacity(lines.count)
        self.lines.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            if let progress, i > 0, i % 4096 == 0 { progress(i) }
            switch Self.parse(buf, line.start, line.end) {
            case .success(let value):
                try add(value, line: line.number, derived: &derived)
            case .failure(let e):
                throw Problem(line: line.number, message: "invalid JSON at byte \(e.offset): \(e.message)")
            }
        }
        try checkEventIds()
    }

    /// Reads one envelope and checks its data.
    private mutating func add(_ value: JSONValue, line: Int, derived: inout DerivedIDs) throws(Problem) {
        let event: ProposedEvent
        do {
            event = try ProposedEvent(envelope: value, defaultEventId: derived.next(for: value))
        } catch {
            throw Problem(line: line, message: error.message)
        }
        do {
            try EventCatalog.validate(type: event.type, schemaVersion: event.schemaVersion, data: event.data)
        } catch {
            throw Problem(line: line, message: "invalid data: \(error.description)")
        }
        events.append(event)
        lines.append(line)
    }

    /// Two different events may not share an `eventId` (the second would silently be taken
    /// for a retry of the first); the same event twice is a harmless repeat.
    private func checkEventIds() throws(Problem) {
        var seen = [String: Int](minimumCapacity: events.count)
        for (i, e) in events.enumerated() {
            if let j = seen[e.eventId.text] {
                if events[j] != e {
                    throw Problem(
                        line: lines[i],
                        message: "eventId \(e.eventId.text) is already used by a different event on line \(lines[j])")
                }
            } else {
                seen[e.eventId.text] = i
            }
        }
    }

    private typealias Parsed = Result<JSONValue, JSONParseError>

    private static func parse(_ buf: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Parsed {
        Parsed { () throws(JSONParseError) -> JSONValue in
            try JSONParser.parse(UnsafeRawBufferPointer(rebasing: buf[start..<end]))
        }
    }

    /// The lines holding more than whitespace, numbered from 1, without `\n` or a final `\r`.
    private static func nonBlankLines(_ buf: UnsafeRawBufferPointer) -> [Line] {
        var out = [Line]()
        var number = 0
        var start = 0
        let n = buf.count
        while start < n {
            number += 1
            var end = start
            var blank = true
            while end < n, buf[end] != 0x0A {
                let c = buf[end]
                if c != 0x20 && c != 0x09 && c != 0x0D { blank = false }
                end += 1
            }
            var contentEnd = end
            if contentEnd > start, buf[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if !blank { out.append(Line(number: number, start: start, end: contentEnd)) }
            start = end + 1
        }
        return out
    }
}

/// Event ids for envelopes without one: deterministic, so a re-run finds them stored.
private struct DerivedIDs {
    /// How many times each canonical envelope has been seen so far.
    private var seen = [[UInt8]: Int]()

    mutating func next(for value: JSONValue) -> EventID {
        var bytes = value.canonicalBytes()
        let occurrence = seen[bytes, default: 0]
        seen[bytes] = occurrence + 1
        bytes.append(0x0A)
        bytes.append(contentsOf: String(occurrence).utf8)
        return derivedEventID(from: bytes)
    }
}
