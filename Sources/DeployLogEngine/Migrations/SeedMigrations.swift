import DeployLogEvents

extension MigrationSource {
    /// The seed's four camera-counting migrations, embedded in the binary (so the demo runs
    /// from any directory): `1.0.0__create_initial_schema.sql` … `1.3.0__add_performance_indexes.sql`,
    /// the last one a `CREATE INDEX CONCURRENTLY` outside a transaction.
    public static var seed: MigrationSource { .files(seedFiles) }

    /// The seed's migrations as file names and texts.
    public static var seedFiles: [MigrationSourceFile] {
        SampleMigrations.seed.map { m in
            let file = MigrationFile(
                fileName: "\(m.version)__\(m.name).sql", version: m.version, name: m.name,
                type: MigrationType(rawValue: m.type) ?? .schema, dependencies: m.dependencies, upSQL: m.sql,
                downSQL: m.rollbackSql, upTransactional: m.transactional, downTransactional: m.transactional)
            return MigrationSourceFile(name: file.fileName, contents: file.fileText)
        }
    }
}
