import DeployLogPostgresStore
import Testing

@Suite struct PostgresStoreAddressTests {
    @Test func recognisesPostgresSchemesOnly() {
        #expect(PostgresStoreAddress.isPostgres("postgres://u@h/db"))
        #expect(PostgresStoreAddress.isPostgres("PostgreSQL://u@h:5432/db"))
        #expect(!PostgresStoreAddress.isPostgres("./.deploylog"))
        #expect(!PostgresStoreAddress.isPostgres("/var/lib/postgres://x"))
        #expect(!PostgresStoreAddress.isPostgres("http://example.com"))
    }
}
