import DeployLogPostgres

/// What a bulk load into an emptied table sets aside while the rows go in, and puts back,
/// unchanged, in the same transaction before anyone can see the table:
///
/// - its foreign keys: during COPY each one is a trigger run for every row (a query and a lock
///   on the referenced row, about 4 µs a row: `deployment_stages` spent most of its load in
///   them); added back, the constraint checks every row in one join instead, and a row that
///   references nothing fails the transaction just as the trigger would have;
/// - its indexes that no constraint owns (`CREATE INDEX` of `projections/*.sql`): built in
///   one sort afterwards instead of one insertion per row.
///
/// Constraints that own an index (primary keys, UNIQUE), indexes a foreign key relies on,
/// and foreign keys not yet validated (`NOT VALID`: adding them back would not check the rows)
/// stay as they are. The definitions come from the catalog (`pg_get_constraintdef`,
/// `pg_get_indexdef`) and are run again under the same names and with the same `search_path`,
/// so the table ends exactly as it began.
struct DeferredChecks {
    /// Foreign keys: name and definition (`FOREIGN KEY (…) REFERENCES …`).
    var foreignKeys: [(name: String, definition: String)] = []
    /// Indexes: name and `CREATE INDEX` statement.
    var indexes: [(name: String, definition: String)] = []

    /// Finds and drops what `table` (in `schema`, empty) can do without while it is loaded.
    static func setAside(table: String, schema: String, on c: PostgresConnection) throws -> DeferredChecks {
        let qualified = try PostgresIdentifier.quote(schema: schema, table)
        var checks = DeferredChecks()
        for row in try c.query(
            """
            SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = to_regclass($1) AND contype = 'f' AND convalidated ORDER BY oid
            """, [.text(qualified)])
        {
            checks.foreignKeys.append((try row.string(0), try row.string(1)))
        }
        for row in try c.query(
            """
            SELECT x.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
            WHERE i.indrelid = to_regclass($1) AND i.indisvalid
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            ORDER BY i.indexrelid
            """, [.text(qualified)])
        {
            checks.indexes.append((try row.string(0), try row.string(1)))
        }
        for fk in checks.foreignKeys {
            try c.query("ALTER TABLE \(qualified) DROP CONSTRAINT \(try PostgresIdentifier.quote(fk.name))")
        }
        for index in checks.indexes {
            try c.query("DROP INDEX \(try PostgresIdentifier.quote(schema: schema, index.name))")
        }
        return checks
    }

    /// Builds the indexes again and adds the foreign keys back (checking every row).
    func restore(table: String, schema: String, on c: PostgresConnection) throws {
        let qualified = try PostgresIdentifier.quote(schema: schema, table)
        for index in indexes { try c.query(index.definition) }
        for fk in foreignKeys {
            try c.query("ALTER TABLE \(qualified) ADD CONSTRAINT \(try PostgresIdentifier.quote(fk.name)) \(fk.definition)")
        }
    }
}
