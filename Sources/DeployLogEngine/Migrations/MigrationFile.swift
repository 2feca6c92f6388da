import Crypto
public import DeployLogEvents

/// One migration as its file defines it: `<version>__<name>.sql` with `-- deploylog:` headers.
///
/// ```sql
/// -- deploylog:type index                      (schema|data|index|function; default schema)
/// -- deploylog:depends create_counting_results_table, add_camera_metadata
/// -- deploylog:up transaction=false            (default: one transaction per migration)
/// CREATE INDEX CONCURRENTLY idx ON counting_results(camera_id, created_at DESC);
/// -- deploylog:down transaction=false
/// DROP INDEX CONCURRENTLY idx;
/// ```
///
/// Lines before `-- deploylog:up` other than headers must be comments or blank. Without an
/// `up` marker the whole file after the headers is the up SQL. Without a `down` marker the
/// migration has no rollback SQL (a rollback past it is refused).
public struct MigrationFile: Sendable, Hashable {
    /// The file name (`0003__create_counting_results_table.sql`), for messages.
    public var fileName: String
    public var version: String
    public var name: String
    public var type: MigrationType
    public var dependencies: [String]
    public var upSQL: String
    public var downSQL: String?
    public var upTransactional: Bool
    public var downTransactional: Bool

    public init(
        fileName: String, version: String, name: String, type: MigrationType = .schema, dependencies: [String] = [],
        upSQL: String, downSQL: String? = nil, upTransactional: Bool = true, downTransactional: Bool = true
    ) {
        self.fileName = fileName
        self.version = version
        self.name = name
        self.type = type
        self.dependencies = dependencies
        self.upSQL = upSQL
        self.downSQL = downSQL
        self.upTransactional = upTransactional
        self.downTransactional = downTransactional
    }

    /// Lowercase hex SHA-256 of the canonical JSON of everything that decides what the
    /// migration does: `{"dependencies", "down", "downTransactional", "type", "up", "upTransactional"}`
    /// (`down` null when absent). A change to any of them after the migration was applied is refused.
    public var checksum: String {
        Self.checksum(
            up: upSQL, down: downSQL, type: type.rawValue, dependencies: dependencies,
            upTransactional: upTransactional, downTransactional: downTransactional)
    }

    public static func checksum(
        up: String, down: String?, type: String, dependencies: [String], upTransactional: Bool,
        downTransactional: Bool
    ) -> String {
        let doc: JSONValue = .object(
            JSONObject([
                ("dependencies", .array(dependencies.map { .string($0) })),
                ("down", down.map { .string($0) } ?? .null), ("downTransactional", .bool(downTransactional)),
                ("type", .string(type)), ("up", .string(up)), ("upTransactional", .bool(upTransactional)),
            ]))
        let digest = SHA256.hash(data: doc.canonicalBytes())
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Parses a file's text; errors name the file and line.
    public static func parse(fileName: String, contents: String) throws(EngineError) -> MigrationFile {
        guard let parsedName = MigrationFileName(fileName) else {
            throw EngineError(
                .badInput,
                "\(fileName): a migration file must be named <version>__<name>.sql (e.g. 0001__create_cameras.sql)")
        }
        var type = MigrationType.schema
        var dependencies: [String] = []
        var up: [Substring] = []
        var down: [Substring] = []
        var upTransactional = true
        var downTransactional = true
        var sawDown = false
        var sawUpMarker = false
        var sawType = false
        var sawDepends = false
        enum Section { case header, up, down }
        var section = Section.header
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, rawLine) in lines.enumerated() {
            let lineNumber = i + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("--"), let directive = Self.directive(trimmed) else {
                switch section {
                case .header:
                    let isBlank = trimmed.allSatisfy { $0 == " " || $0 == "\t" }
                    if isBlank || trimmed.hasPrefix("--") {
                        // Comments and blank lines before the SQL; kept when there is no `up` marker.
                        up.append(line)
                    } else {
                        // SQL without an `up` marker: the rest of the file is the up SQL.
                        section = .up
                        up.append(line)
                    }
                case .up: up.append(line)
                case .down: down.append(line)
                }
                continue
            }
            let (keyword, argument) = directive
            func fail(_ what: String) -> EngineError {
                EngineError(.badInput, "\(fileName):\(lineNumber): \(what)")
            }
            switch keyword {
            case "type":
                guard section == .header else { throw fail("-- deploylog:type must come before the SQL") }
                guard !sawType else { throw fail("-- deploylog:type given twice") }
                guard let t = MigrationType(rawValue: argument) else {
                    throw fail("unknown migration type '\(argument)' (expected schema, data, index or function)")
                }
                type = t
                sawType = true
            case "depends":
                guard section == .header else { throw fail("-- deploylog:depends must come before the SQL") }
                guard !sawDepends else { throw fail("-- deploylog:depends given twice") }
                dependencies = argument.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
                if let bad = dependencies.first(where: { $0.contains(where: { $0 == " " || $0 == "\t" }) }) {
                    throw fail("dependency '\(bad)' is not a migration name (separate names with commas)")
                }
                sawDepends = true
            case "up", "down":
                let transactional: Bool
                switch argument {
                case "", "transaction=true": transactional = true
                case "transaction=false": transactional = false
                default:
                    throw fail(
                        "expected '-- deploylog:\(keyword)' or '-- deploylog:\(keyword) transaction=false', found '\(argument)'"
                    )
                }
                if keyword == "up" {
                    guard section == .header else {
                        throw fail(
                            sawDown
                                ? "-- deploylog:up must come before -- deploylog:down"
                                : sawUpMarker
                                    ? "-- deploylog:up given twice" : "-- deploylog:up must come before the SQL")
                    }
                    sawUpMarker = true
                    up = []
                    upTransactional = transactional
                    section = .up
                } else {
                    guard !sawDown else { throw fail("-- deploylog:down given twice") }
                    sawDown = true
                    downTransactional = transactional
                    section = .down
                }
            default:
                throw fail("unknown header '-- deploylog:\(keyword)' (expected type, depends, up or down)")
            }
        }
        let upSQL = Self.trimmedSQL(up)
        guard !Self.isOnlyComments(upSQL) else {
            throw EngineError(.badInput, "\(fileName): no up SQL")
        }
        var downSQL: String? = nil
        if sawDown {
            let text = Self.trimmedSQL(down)
            guard !Self.isOnlyComments(text) else {
                throw EngineError(.badInput, "\(fileName): -- deploylog:down is followed by no SQL")
            }
            downSQL = text
        }
        if dependencies.contains(parsedName.name) {
            throw EngineError(.badInput, "\(fileName): migration '\(parsedName.name)' depends on itself")
        }
        return MigrationFile(
            fileName: fileName, version: parsedName.version, name: parsedName.name, type: type,
            dependencies: dependencies, upSQL: upSQL, downSQL: downSQL, upTransactional: upTransactional,
            downTransactional: sawDown ? downTransactional : true)
    }

    /// Refuses up or down SQL holding a transaction-control statement (`COMMIT`, `ROLLBACK`,
    /// `BEGIN` …, see `SQLScript.transactionControl`), before anything is registered or run:
    /// the engine runs each migration in its own transaction (or, with `transaction=false`,
    /// statement by statement) and records its outcome as one, which such a statement would
    /// make untrue.
    public func refuseTransactionControl() throws(EngineError) {
        for (section, sql) in [("up", upSQL), ("down", downSQL)] {
            guard let sql, let statement = SQLScript.transactionControl(in: sql) else { continue }
            throw EngineError(
                .badInput,
                "\(fileName): migration '\(name)' has \(statement) in its \(section) SQL; deploylog runs each migration "
                    + "in a transaction of its own (or statement by statement with transaction=false): remove it, or "
                    + "split the migration in two")
        }
    }

    /// Refuses up or down SQL holding a password (a connection URL or conninfo string, as in
    /// `dblink_connect('postgres://u:secret@h/db')`), before anything is registered or run:
    /// every string of an event loses its passwords before it is appended
    /// (`CredentialRedaction`), so the log would hold other SQL than the file's, and a rollback
    /// or re-apply would run that altered text. The message names the migration, never the
    /// password.
    public func refuseCredentials() throws(EngineError) {
        for (section, sql) in [("up", upSQL), ("down", downSQL)] {
            guard let sql, CredentialRedaction.redact(string: sql) != sql else { continue }
            throw EngineError(
                .badInput,
                "\(fileName): migration '\(name)' has a password in its \(section) SQL, which the log would store "
                    + "altered; keep secrets out of migrations (a .pgpass file, or a server-side USER MAPPING)")
        }
    }

    /// `("type", "index")` for `-- deploylog:type index`; nil for any other comment.
    private static func directive(_ line: Substring) -> (String, String)? {
        var rest = line.dropFirst(2).drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("deploylog:") else { return nil }
        rest = rest.dropFirst("deploylog:".count)
        let keyword = rest.prefix { $0 != " " && $0 != "\t" }
        let argument = rest.dropFirst(keyword.count).trimmingSpaces()
        return (String(keyword), argument)
    }

    private static func trimmedSQL(_ lines: [Substring]) -> String {
        var lines = lines
        while let first = lines.first, first.trimmingSpaces().isEmpty { lines.removeFirst() }
        while let last = lines.last, last.trimmingSpaces().isEmpty { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    private static func isOnlyComments(_ sql: String) -> Bool {
        SQLScript.statements(in: sql).isEmpty
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
