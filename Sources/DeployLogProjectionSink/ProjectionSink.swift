public import DeployLogEvents
public import DeployLogPostgres
public import DeployLogProjections
public import DeployLogStore
public import Logging

/// Writes the projectors' rows to PostgreSQL: the tables of `projections/*.sql` in one schema
/// (default `deploylog_read`), with one checkpoint per projector in
/// `deploylog_projection_checkpoints` beside them.
///
/// - `rebuild(only:)`: folds the log, then in **one transaction** creates what is missing (runs
///   the SQL), empties the projectors' tables, bulk-loads them with binary COPY and writes their
///   checkpoints (head position and chain hash). All projectors share that transaction, so the
///   tables always reflect one position of the log; a failure leaves the previous rows and
///   checkpoints as they were.
/// - `catchUp()`: folds the log, then in one transaction upserts only the rows changed after
///   each projector's checkpoint and moves the checkpoints to the head. A projector without a
///   checkpoint, with one of another version, or with one from another log (its hash differs)
///   is rebuilt in that transaction instead.
/// - `rebuildWithoutDowntime()`: builds every table into a shadow schema (`<schema>_next`),
///   catches it up with what was appended meanwhile, and swaps it in with two schema renames in
///   one transaction; readers, who find the tables through `search_path`, see the old tables or
///   the new ones, never none.
/// - `status()`: per projector its code version, checkpoint and how far behind the log it is.
///
/// Operations on one schema take a PostgreSQL advisory lock: a second sink fails at once with
/// `.busy`. The session's TimeZone is UTC (the seed's `TIMESTAMP` columns hold UTC, and its
/// views compare them with `NOW()`), and the sink sets it as the database's default too.
///
/// Every call blocks on libpq: call from a thread of your own, not Swift's shared task pool.
public final class ProjectionSink {
    /// The schema of the read model unless told otherwise.
    public static let defaultSchema = "deploylog_read"

    public let connection: PostgresConnection
    public let store: any EventStore
    /// Where the tables live; readers put it on their `search_path`.
    public let schema: String
    let logger: Logger?
    /// Told what the sink is doing, for a progress line.
    public var progress: ((String) -> Void)?
    /// Tests: called at named steps (`loaded <table>`, `before commit`, `before swap`); what it
    /// throws aborts the operation there.
    var faultHook: ((String) throws -> Void)?

    /// - Throws: `.invalidRequest` for a schema name that is empty or too long for the
    ///   `_next` / `_old` suffixes (PostgreSQL names have at most 63 bytes).
    public init(
        connection: PostgresConnection, store: any EventStore, schema: String = defaultSchema, logger: Logger? = nil
    ) throws(ProjectionSinkError) {
        guard !schema.isEmpty, schema.utf8.count <= 58, !schema.utf8.contains(0) else {
            throw ProjectionSinkError(
                .invalidRequest, "schema name \"\(schema)\" must have 1 to 58 bytes (no NUL)")
        }
        self.connection = connection
        self.store = store
        self.schema = schema
        self.logger = logger
    }

    /// The schema a zero-downtime rebuild builds into.
    public var shadowSchema: String { schema + "_next" }
    /// The schema the replaced tables are moved to, then dropped.
    var retiredSchema: String { schema + "_old" }

    /// How the comment of every schema the sink makes begins (`readModelComment`). The sink
    /// drops a `<schema>_next` or `<schema>_old` only when its comment begins so: those names
    /// are ordinary ones, and a schema of someone's own that happens to bear one must not go
    /// with a `DROP SCHEMA … CASCADE`. (A prefix, not the whole comment: a leftover of a build
    /// whose SQL differed is the sink's too.)
    static let readModelMarker = "deploylog read model "
    /// The comment of a schema the sink made: the marker and which SQL made it.
    static var readModelComment: String { readModelMarker + ProjectionSQL.version }

    // MARK: Operations

    /// Rebuilds `only` those projectors (nil: all), and the projectors whose tables reference
    /// theirs (`rollbacks` with `pipelines`), from the whole log, in one transaction. A
    /// projector whose tables theirs reference (`pipelines` for `rollbacks`) is rebuilt with
    /// them unless it is already at the log's head: the new rows may name rows it lacks.
    @discardableResult
    public func rebuild(only: Set<SinkProjector>? = nil) throws -> SinkReport {
        try withLock { notes in
            let (head, projections) = try fold()
            let entries = try connection.transaction(isolation: .readCommitted) { c in
                try createReadModel(in: schema, always: true, on: c)
                var targets = SinkProjector.closure(only ?? Set(SinkProjector.allCases))
                let checkpoints = try ProjectionCheckpoint.readAll(schema: schema, on: c)
                var referenced: Set<SinkProjector> = []
                for p in SinkProjector.allCases where targets.contains(p) {
                    for d in p.dependencies where !targets.contains(d) {
                        if try plan(d, checkpoints[d.name], head: head) != .upToDate { referenced.insert(d) }
                    }
                }
                targets.formUnion(SinkProjector.closure(referenced))
                try truncate(targets, schema: schema, on: c)
                var entries: [SinkReport.Entry] = []
                for p in SinkProjector.allCases where targets.contains(p) {
                    let rows = try load(p, projections, schema: schema, on: c)
                    try ProjectionCheckpoint.write(p, position: head.position, hash: head.hash, schema: schema, on: c)
                    let reason =
                        if only == nil || only!.contains(p) {
                            "full rebuild"
                        } else if referenced.contains(p) {
                            "rebuilt with \(p.dependents.map(\.name).joined(separator: ", ")): their rows reference its, and it was behind the log"
                        } else {
                            "rebuilt with \(SinkProjector.pipelines.name): its rows reference them"
                        }
                    entries.append(SinkReport.Entry(projector: p, action: .rebuilt(reason: reason), rows: rows))
                }
                try faultHook?("before commit")
                return entries
            }
            return SinkReport(schema: schema, head: head, entries: entries, notes: notes)
        }
    }

    /// Brings every projector's tables to the log's head: upserts the rows changed after its
    /// checkpoint (rebuilding it when it has to be, see the type's notes), in one transaction.
    @discardableResult
    public func catchUp() throws -> SinkReport {
        try withLock { notes in
            let (head, projections) = try fold()
            let entries = try connection.transaction(isolation: .readCommitted) { c in
                try createReadModel(in: schema, always: false, on: c)
                let entries = try catchUp(projections, head: head, schema: schema, on: c)
                try faultHook?("before commit")
                return entries
            }
            return SinkReport(schema: schema, head: head, entries: entries, notes: notes)
        }
    }

    /// Per projector (in `SinkProjector.allCases` order): versions, checkpoint, distance to the
    /// log's head, and whether a catch-up would rebuild it. Takes no lock and writes nothing.
    public func status() throws -> [ProjectorStatus] {
        let head = try store.head()
        let checkpoints = try ProjectionCheckpoint.readAll(schema: schema, on: connection)
        return try SinkProjector.allCases.map { p in
            let checkpoint = checkpoints[p.name]
            let (state, behind): (ProjectorStatus.State, Int64) =
                switch try plan(p, checkpoint, head: head) {
                case .upToDate: (.upToDate, 0)
                case .incremental(let from): (.behind, head.position - from)
                case .rebuild(let reason): (checkpoint == nil ? .notBuilt : .rebuildNeeded(reason), head.position)
                }
            return ProjectorStatus(
                projector: p, codeVersion: p.version, checkpoint: checkpoint, head: head.position, behind: behind,
                state: state)
        }
    }

    // MARK: Steps shared by the operations

    /// What a catch-up does for one projector.
    enum Plan: Equatable {
        case upToDate
        case incremental(from: Int64)
        case rebuild(String)
    }

    func plan(_ p: SinkProjector, _ checkpoint: ProjectionCheckpoint?, head: Checkpoint) throws -> Plan {
        guard let checkpoint else { return .rebuild("no checkpoint: never built here") }
        if checkpoint.version != p.version {
            return .rebuild("built by version \(checkpoint.version), the code's is \(p.version)")
        }
        if checkpoint.position > head.position {
            return .rebuild(
                "its checkpoint (position \(checkpoint.position)) is past the log's head (\(head.position))")
        }
        let hash = checkpoint.position == head.position ? head.hash : try store.checkpoint(at: checkpoint.position).hash
        if hash != checkpoint.hash {
            return .rebuild(
                "the log's hash at position \(checkpoint.position) differs from its checkpoint's (another log)")
        }
        return checkpoint.position == head.position ? .upToDate : .incremental(from: checkpoint.position)
    }

    /// The catch-up of every projector in `schema`, inside the caller's transaction.
    func catchUp(
        _ projections: Projections, head: Checkpoint, schema: String, on c: PostgresConnection
    ) throws -> [SinkReport.Entry] {
        let checkpoints = try ProjectionCheckpoint.readAll(schema: schema, on: c)
        var plans: [SinkProjector: Plan] = [:]
        for p in SinkProjector.allCases { plans[p] = try plan(p, checkpoints[p.name], head: head) }
        let stale = Set(plans.compactMap { p, plan in if case .rebuild = plan { p } else { nil } })
        let rebuild = SinkProjector.closure(stale)
        try truncate(rebuild, schema: schema, on: c)
        var entries: [SinkReport.Entry] = []
        for p in SinkProjector.allCases {
            switch plans[p]! {
            case _ where rebuild.contains(p):
                progress?("rebuilding \(p.name)")
                let rows = try load(p, projections, schema: schema, on: c)
                let reason: String
                if case .rebuild(let why) = plans[p]! {
                    reason = why
                } else {
                    reason = "rebuilt with \(SinkProjector.pipelines.name): its rows reference them"
                }
                entries.append(SinkReport.Entry(projector: p, action: .rebuilt(reason: reason), rows: rows))
            case .incremental(let from):
                progress?("catching up \(p.name) from position \(from)")
                var rows = 0
                for table in p.tables(of: projections) {
                    rows += try upsert(table, after: from, schema: schema, on: c)
                }
                entries.append(SinkReport.Entry(projector: p, action: .caughtUp(from: from), rows: rows))
            default:
                entries.append(SinkReport.Entry(projector: p, action: .upToDate, rows: 0))
                continue
            }
            try ProjectionCheckpoint.write(p, position: head.position, hash: head.hash, schema: schema, on: c)
        }
        return entries
    }

    /// The head, and every projector folded up to it.
    func fold() throws -> (Checkpoint, Projections) {
        let head = try store.head()
        progress?("folding the log to position \(head.position)")
        logger?.debug("folding", metadata: ["head": "\(head.position)"])
        return (head, try Projections.fold(store, upTo: head.position))
    }

    /// Creates `schema` and everything of `projections/*.sql` in it (idempotent), and the
    /// checkpoint table; leaves `search_path` at `schema` for the rest of the transaction.
    ///
    /// The schema's comment records which SQL made it (`ProjectionSQL.version`). Unless
    /// `always`, a schema made by the same SQL is left alone: `CREATE OR REPLACE VIEW` takes an
    /// ACCESS EXCLUSIVE lock on each view until the transaction ends, so running the files at
    /// every catch-up would queue every reader of the views behind it (and behind any long
    /// report the catch-up itself waits for).
    func createReadModel(in schema: String, always: Bool, on c: PostgresConnection) throws {
        let quoted = try PostgresIdentifier.quote(schema)
        let comment = Self.readModelComment
        if !always {
            let current = try c.query(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1", [.text(schema)])
            if let row = current.first, try !row.isNull(0), try row.string(0) == comment {
                try c.query("SELECT set_config('search_path', $1, true)", [.text(quoted)])
                return
            }
        }
        try c.query("CREATE SCHEMA IF NOT EXISTS \(quoted)")
        try c.query("SELECT set_config('search_path', $1, true)", [.text(quoted)])
        for file in ProjectionSQL.order {
            logger?.debug("running projections/\(file)", metadata: ["schema": "\(schema)"])
            try c.execute(script: try ProjectionSQL.text(of: file))
        }
        try c.execute(script: ProjectionCheckpoint.createTable)
        try pinFunctions(to: schema, on: c)
        try mark(schema, on: c)
    }

    /// Sets the comment of `schema` to `readModelComment`: which SQL made it, and that it is the
    /// sink's (see `readModelMarker`).
    func mark(_ schema: String, on c: PostgresConnection) throws {
        // COMMENT takes no parameters: the server quotes the name and the text.
        let statement = try c.query("SELECT format('COMMENT ON SCHEMA %I IS %L', $1::text, $2::text)", [
            .text(schema), .text(Self.readModelComment),
        ])
        try c.execute(script: try statement[0].string(0))
    }

    /// Which of `names` exist, in name order, and whether each is the sink's: its comment
    /// begins with `readModelMarker`.
    func existingSchemas(_ names: [String], on c: PostgresConnection) throws -> [(name: String, ours: Bool)] {
        let rows = try c.query(
            """
            SELECT nspname::text, coalesce(left(obj_description(oid, 'pg_namespace'), length($2)) = $2, false)
            FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1
            """, [.array(names.map { .text($0) }, of: .text), .text(Self.readModelMarker)])
        return try rows.map { (try $0.string(0), try $0.bool(1)) }
    }

    /// Makes the read model's functions (`get_deployment_health()`) find their tables in
    /// `schema` whatever the caller's `search_path` (a caller's `public.deployment_pipelines`,
    /// the seed's own, must not answer instead). Run again when a shadow schema is renamed.
    func pinFunctions(to schema: String, on c: PostgresConnection) throws {
        let quoted = try PostgresIdentifier.quote(schema)
        for function in ProjectionSQL.functions {
            try c.query(
                "ALTER FUNCTION \(try PostgresIdentifier.quote(schema: schema, function))() SET search_path = \(quoted), pg_temp")
        }
    }

    /// Empties the tables of `projectors` (one TRUNCATE: their foreign keys point among them).
    func truncate(_ projectors: Set<SinkProjector>, schema: String, on c: PostgresConnection) throws {
        let tables = SinkProjector.allCases.filter(projectors.contains).flatMap(\.tableNames)
        guard !tables.isEmpty else { return }
        let list = try tables.map { try PostgresIdentifier.quote(schema: schema, $0) }.joined(separator: ", ")
        try c.query("TRUNCATE \(list)")
    }

    /// The session's TimeZone (UTC) and, when allowed, the database's default; returns notes
    /// for the user when the latter was refused.
    func prepareSession() throws -> [String] {
        try connection.query("SELECT set_config('TimeZone', $1, false)", [.text("UTC")])
        do {
            // ALTER DATABASE takes no parameters: the server quotes the name and the value.
            let statement = try connection.query(
                "SELECT format('ALTER DATABASE %I SET timezone TO %L', current_database(), $1::text)", [.text("UTC")])
            try connection.execute(script: try statement[0].string(0))
            return []
        } catch let error as PostgresError where error.kind == .server {
            return [
                "could not make UTC the database's TimeZone (\(error.message)); readers of the views must SET TimeZone = 'UTC'"
            ]
        }
    }

    /// Runs `body` holding the schema's advisory lock (session level), after `prepareSession`.
    func withLock<T>(_ body: (_ notes: [String]) throws -> T) throws -> T {
        let key: PostgresValue = .text("deploylog projection sink " + schema)
        let locked = try connection.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", [key])
        guard try locked[0].bool(0) else {
            throw ProjectionSinkError(
                .busy, "another projection sink is writing schema \(schema) of \(connection.address)")
        }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [key]) }
        let notes = try prepareSession()
        try dropLeftovers()
        return try body(notes)
    }

    /// Drops `<schema>_next` and `<schema>_old` that a zero-downtime rebuild which crashed left
    /// behind (under the lock, no other sink can be using them), or whose old tables a reader
    /// was still reading when it ended. A reader still reading them holds them: then they are
    /// left for a later run rather than waited for longer than `wait` ('100ms', '5s').
    ///
    /// Only the sink's own (`readModelMarker`): a schema of someone's that bears one of those
    /// names is left alone (a zero-downtime rebuild refuses while it is there).
    func dropLeftovers(waiting wait: String = "100ms") throws {
        for (name, ours) in try existingSchemas([shadowSchema, retiredSchema], on: connection) {
            guard ours else {
                logger?.debug(
                    "a schema named like a leftover is not the sink's; left alone", metadata: ["schema": "\(name)"])
                continue
            }
            do {
                try connection.transaction(isolation: .readCommitted) { c in
                    try c.query("SELECT set_config('lock_timeout', $1, true)", [.text(wait)])
                    try c.query("DROP SCHEMA \(try PostgresIdentifier.quote(name)) CASCADE")
                }
                logger?.debug("dropped a leftover schema", metadata: ["schema": "\(name)"])
            } catch let error as PostgresError where error.sqlState == "55P03" {
                logger?.debug("a leftover schema is in use; left for later", metadata: ["schema": "\(name)"])
            }
        }
    }
}

/// What an operation did.
public struct SinkReport: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Emptied and loaded in full, and why.
        case rebuilt(reason: String)
        /// Rows changed after `from` upserted.
        case caughtUp(from: Int64)
        /// Its checkpoint was already at the head.
        case upToDate
    }

    public struct Entry: Sendable, Equatable {
        public var projector: SinkProjector
        public var action: Action
        /// Rows written.
        public var rows: Int
    }

    /// The schema written (after a zero-downtime rebuild: the one swapped in).
    public var schema: String
    /// The log position (and hash) every checkpoint written now holds.
    public var head: Checkpoint
    public var entries: [Entry]
    /// Warnings for the user (a setting the database refused).
    public var notes: [String]
}
