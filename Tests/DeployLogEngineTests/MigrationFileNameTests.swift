import DeployLogEngine
import Testing

@Suite struct MigrationFileNameTests {
    @Test func parsesVersionAndName() throws {
        let file = try #require(MigrationFileName("0003__create_counting_results_table.sql"))
        #expect(file.version == "0003")
        #expect(file.name == "create_counting_results_table")
        #expect(file.versionGroups == [3])
        #expect(MigrationFileName("2.10__x.sql")?.versionGroups == [2, 10])
    }

    @Test func rejectsOtherNames() {
        for bad in ["README.md", "0001_create.sql", "__create.sql", "v1__create.sql", "0001__.sql", "0001__x.txt"] {
            #expect(MigrationFileName(bad) == nil, "\(bad)")
        }
    }
}
