import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections
import DeployLogStore

extension ProjectionSink {
    /// Rebuilds every projector without taking the tables away from readers:
    ///
    /// 1. drops what a crashed run left (`<schema>_next`, `<schema>_old`), refusing
    ///    (`.conflict`, naming it) before anything changes while either name is taken by a
    ///    schema that is not the sink's (`readModelMarker`);
    /// 2. folds the log and builds everything into `<schema>_next` (SQL, COPY, checkpoints), in
    ///    one transaction: readers do not see it;
    /// 3. folds what was appended meanwhile and, in one transaction, upserts it into the shadow,
    ///    moves its checkpoints, renames `<schema>` to `<schema>_old` and `<schema>_next` to
    ///    `<schema>`: readers that name the tables through `search_path` see the old tables up
    ///    to the commit and the new ones after it (a schema rename locks no table);
    /// 4. drops `<schema>_old`, waiting up to 5 s for queries still reading it (else the next
    ///    operation of any kind drops it).
    ///
    /// Views and `get_deployment_health()` live in the schema and move with it. The privileges
    /// granted on the schema and on its tables, views, sequences and functions are granted
    /// again on their namesakes in the shadow before the swap. An object of another schema that
    /// depends on the schema's tables (a view, a foreign key) would be dropped with the old
    /// tables: the rebuild refuses (`.conflict`, naming it) before building anything, and
    /// again at the swap if one appeared meanwhile. So it does, at the swap, for an object of
    /// someone's own inside the schema (a view, an index on a projected table), which would
    /// go with the old schema.
    @discardableResult
    public func rebuildWithoutDowntime() throws -> SinkReport {
        try withLock { notes in
            let next = try PostgresIdentifier.quote(shadowSchema)
            let old = try PostgresIdentifier.quote(retiredSchema)
            try refuseSchemasOfOthers([shadowSchema, retiredSchema], on: connection)
            try refuseOutsideDependents(on: connection)
            // What is left of the two is the sink's (checked just above): leftovers a reader
            // held when `withLock` tried them.
            try connection.query("DROP SCHEMA IF EXISTS \(next) CASCADE")
            try connection.query("DROP SCHEMA IF EXISTS \(old) CASCADE")

            var (built, projections) = try fold()
            var entries = try connection.transaction(isolation: .readCommitted) { c in
                try createShadow(on: c)
                try createReadModel(in: shadowSchema, always: true, on: c)
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
            do {
                try connection.transaction(isolation: .readCommitted) { c in
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
                    if try exists[0].bool(0) {
                        try refuseSchemasOfOthers([retiredSchema], on: c)
                        try refuseOutsideDependents(on: c)
                        try refuseObjectsOfTheirOwn(on: c)
                        try copyPrivileges(on: c)
                        try c.query("ALTER SCHEMA \(current) RENAME TO \(old)")
                        // The old tables are dropped as the sink's leftover, now or by a later
                        // operation: a live schema made before schemas were marked must be too.
                        if try existingSchemas([retiredSchema], on: c).first?.ours != true {
                            try mark(retiredSchema, on: c)
                        }
                    }
                    try c.query("ALTER SCHEMA \(next) RENAME TO \(current)")
                    try pinFunctions(to: schema, on: c)
                    try faultHook?("before swap")
                }
            } catch let error as ProjectionSinkError where error.code == .conflict {
                // Refused: the shadow is of no use (a later run would drop it anyway).
                _ = try? connection.query("DROP SCHEMA IF EXISTS \(next) CASCADE")
                throw error
            }
            built = head
            // Readers still in the old tables hold them: wait a little, else a later run drops them.
            progress?("dropping \(retiredSchema)")
            try dropLeftovers(waiting: "5s")
            return SinkReport(schema: schema, head: built, entries: entries, notes: notes)
        }
    }

    /// Creates the empty shadow schema and marks it as the sink's in the transaction that
    /// creates it, so that whatever becomes of the rebuild the shadow is never taken for
    /// someone else's, nor someone else's for it: a schema of that name made since
    /// `refuseSchemasOfOthers` looked is refused (`.conflict`), not built into.
    func createShadow(on c: PostgresConnection) throws {
        do {
            try c.query("CREATE SCHEMA \(try PostgresIdentifier.quote(shadowSchema))")
        } catch let error as PostgresError where error.sqlState == "42P06" {  // duplicate_schema
            throw takenByOthers(shadowSchema)
        }
        try mark(shadowSchema, on: c)
    }

    /// Throws `.conflict` when one of `names` (`<schema>_next`, `<schema>_old`) exists and is
    /// not the sink's: the swap needs the names, and must not drop someone's schema to get
    /// them.
    func refuseSchemasOfOthers(_ names: [String], on c: PostgresConnection) throws {
        if let taken = try existingSchemas(names, on: c).first(where: { !$0.ours }) {
            throw takenByOthers(taken.name)
        }
    }

    /// The refusal of `refuseSchemasOfOthers`, naming `name`.
    func takenByOthers(_ name: String) -> ProjectionSinkError {
        let role = name == shadowSchema ? "to build the new tables in" : "to move the old tables to"
        return ProjectionSinkError(
            .conflict,
            "schema \(name) exists and was not made by the projection sink (its comment is not \"\(Self.readModelMarker)…\"): "
                + "a zero-downtime rebuild of \(schema) needs that name \(role); rename or drop it, "
                + "or rebuild without --zero-downtime")
    }

    /// Throws `.conflict` when an object outside the schema depends on one of its tables or
    /// views: a view (through its rewrite rule) or a foreign key of another schema's table.
    /// The swap moves the old tables away and drops them with `CASCADE`, which would drop it.
    func refuseOutsideDependents(on c: PostgresConnection) throws {
        let rows = try c.query(
            """
            SELECT DISTINCT format('%s %I.%I', CASE o.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                    ELSE 'table' END, on_.nspname, o.relname), format('%I.%I', n.nspname, t.relname)
            FROM pg_class t
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN (
                SELECT d.refobjid AS target, r.ev_class AS dependent FROM pg_depend d
                JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
                WHERE d.refclassid = 'pg_class'::regclass
                UNION
                SELECT k.confrelid, k.conrelid FROM pg_constraint k WHERE k.contype = 'f'
            ) dep ON dep.target = t.oid
            JOIN pg_class o ON o.oid = dep.dependent
            JOIN pg_namespace on_ ON on_.oid = o.relnamespace
            WHERE n.nspname = $1 AND on_.nspname <> $1
            ORDER BY 1, 2
            """, [.text(schema)])
        guard let first = rows.first else { return }
        let names = try rows.map { "\(try $0.string(0)) (on \(try $0.string(1)))" }
        throw ProjectionSinkError(
            .conflict,
            "\(names.joined(separator: ", ")) depend\(rows.count == 1 ? "s" : "") on the read model: a zero-downtime rebuild "
                + "would drop \(rows.count == 1 ? "it" : "them") with the old tables; drop or move "
                + "\(rows.count == 1 ? "it" : "them") first, or rebuild without --zero-downtime (\(try first.string(1)) keeps its name then)")
    }

    /// Throws `.conflict` when the live schema holds a relation (table, view, index,
    /// sequence) or a function that the shadow, built from `projections/*.sql`, has no
    /// namesake of: someone's own object, which the swap would drop with the old schema. Run
    /// in the swap's transaction, when both schemas exist; the caller drops the shadow.
    func refuseObjectsOfTheirOwn(on c: PostgresConnection) throws {
        let rows = try c.query(
            """
            SELECT format('%s %I.%I', CASE k.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                    WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' ELSE 'table' END, n.nspname, k.relname)
            FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
            WHERE n.nspname = $1 AND k.relkind IN ('r', 'p', 'v', 'm', 'i', 'S', 'f')
                AND NOT EXISTS (SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
                    WHERE sn.nspname = $2 AND s.relname = k.relname AND s.relkind = k.relkind)
            UNION ALL
            SELECT format('function %I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = $1
                AND NOT EXISTS (SELECT 1 FROM pg_proc s JOIN pg_namespace sn ON sn.oid = s.pronamespace
                    WHERE sn.nspname = $2 AND s.proname = p.proname)
            ORDER BY 1
            """, [.text(schema), .text(shadowSchema)])
        guard !rows.isEmpty else { return }
        let names = try rows.map { try $0.string(0) }
        throw ProjectionSinkError(
            .conflict,
            "\(names.joined(separator: ", ")) \(names.count == 1 ? "is" : "are") not part of the read model: a zero-downtime "
                + "rebuild would drop \(names.count == 1 ? "it" : "them") with the old schema; move \(names.count == 1 ? "it" : "them") "
                + "to a schema of your own, or rebuild without --zero-downtime")
    }

    /// Grants on the shadow schema and on its objects what is granted on the live schema and
    /// on their namesakes in it (to roles other than the owner: the owner's come with
    /// ownership). The statements are made on the server (`format` with `%I`), from
    /// `aclexplode` of the catalog's ACLs.
    func copyPrivileges(on c: PostgresConnection) throws {
        let statements = try c.query(
            """
            WITH grantee AS (SELECT oid, quote_ident(rolname) AS name FROM pg_roles UNION ALL SELECT 0, 'PUBLIC')
            SELECT format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type, $2::text, g.name,
                    CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
            FROM pg_namespace n, aclexplode(n.nspacl) a JOIN grantee g ON g.oid = a.grantee
            WHERE n.nspname = $1 AND a.grantee <> n.nspowner
            UNION ALL
            SELECT format('GRANT %s ON %s %I.%I TO %s%s', a.privilege_type,
                    CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, $2::text, c.relname, g.name,
                    CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
                JOIN grantee g ON g.oid = a.grantee
            WHERE n.nspname = $1 AND a.grantee <> c.relowner
                AND EXISTS (SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
                    WHERE sn.nspname = $2 AND s.relname = c.relname AND s.relkind = c.relkind)
            UNION ALL
            SELECT format('GRANT %s ON FUNCTION %I.%I(%s) TO %s%s', a.privilege_type, $2::text, p.proname,
                    pg_get_function_identity_arguments(p.oid), g.name,
                    CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a
                JOIN grantee g ON g.oid = a.grantee
            WHERE n.nspname = $1 AND a.grantee <> p.proowner
                AND EXISTS (SELECT 1 FROM pg_proc s JOIN pg_namespace sn ON sn.oid = s.pronamespace
                    WHERE sn.nspname = $2 AND s.proname = p.proname
                        AND pg_get_function_identity_arguments(s.oid) = pg_get_function_identity_arguments(p.oid))
            """, [.text(schema), .text(shadowSchema)])
        for row in statements { try c.execute(script: try row.string(0)) }
    }
}
