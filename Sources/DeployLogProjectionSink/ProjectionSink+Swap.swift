import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore

extension ProjectionSink {
    /// Rebuilds every projector without taking the tables away from readers:
    ///
    /// 1. drops what a crashed run left (`<schema>_next`, `<schema>_old`);
    /// 2. folds the log and builds everything into `<schema>_next` (SQL, COPY, checkpoints), in
    ///    one transaction: readers do not see it;
    /// 3. folds what was appended meanwhile and, in one transaction, upserts it into the shadow,
    ///    moves its checkpoints, renames `<schema>` to `<schema>_old` and `<schema>_next` to
    ///    `<schema>`: readers that name the tables through `search_path` see the old tables up
    ///    to the commit and the new ones after it (a schema rename locks no table);
    /// 4. drops `<schema>_old` (waiting for queries still reading it).
    ///
    /// Views and `get_deployment_health()` live in the schema and move with it.
    @discardableResult
    public func rebuildWithoutDowntime() throws -> SinkReport {
        try withLock { notes in
            let next = try PostgresIdentifier.quote(shadowSchema)
            let old = try PostgresIdentifier.quote(retiredSchema)
            try connection.query("DROP SCHEMA IF EXISTS \(next) CASCADE")
            try connection.query("DROP SCHEMA IF EXISTS \(old) CASCADE")

            var (built, projections) = try fold()
            var entries = try connection.transaction { c in
                try createReadModel(in: shadowSchema, on: c)
                var entries: [SinkReport.Entry] = []
                for p in SinkProjector.allCases {
                    let rows = try load(p, projections, schema: shadowSchema, on: c)
                    try ProjectionCheckpoint.write(
                        p, position: built.position, hash: built.hash, schema: shadowSchema, on: c)
                    entries.append(
                        SinkReport.Entry(
                            projector: p, action: .rebuilt(reason: "built in \(shadowSchema) and swapped in"),
                            rows: rows))
                }
                return entries
            }
            try faultHook?("shadow built")

            // Catch the shadow up with the events appended while it was built.
            let head = try store.head()
            if head.position > built.position {
                progress?("catching up \(shadowSchema) from position \(built.position)")
                try store.read(
                    from: built.position + 1, filter: EventFilter(), limit: Int(head.position - built.position)
                ) { e in
                    projections.apply(e)
                    return true
                }
            }
            let current = try PostgresIdentifier.quote(schema)
            try connection.transaction { c in
                if head.position > built.position {
                    try c.query("SELECT set_config('search_path', $1, true)", [.text(next)])
                    for (i, p) in SinkProjector.allCases.enumerated() {
                        for table in p.tables(of: projections) {
                            entries[i].rows += try upsert(table, after: built.position, schema: shadowSchema, on: c)
                        }
                        try ProjectionCheckpoint.write(
                            p, position: head.position, hash: head.hash, schema: shadowSchema, on: c)
                    }
                }
                progress?("swapping \(shadowSchema) in as \(schema)")
                let exists = try c.query(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", [.text(schema)])
                if try exists[0].bool(0) { try c.query("ALTER SCHEMA \(current) RENAME TO \(old)") }
                try c.query("ALTER SCHEMA \(next) RENAME TO \(current)")
                try faultHook?("before swap")
            }
            built = head
            progress?("dropping \(retiredSchema)")
            try connection.query("DROP SCHEMA IF EXISTS \(old) CASCADE")
            return SinkReport(schema: schema, head: built, entries: entries, notes: notes)
        }
    }
}
