import DeployLogPostgres
import DeployLogTestSupport
import XCTest

/// A test case against the shared test server: each test gets its own fresh database.
class PostgresTestCase: XCTestCase {
    /// The URL of this test's database (created on first use).
    private(set) var databaseURL = ""

    private var extraDatabases: [String] = []

    /// A connection to this test's fresh database.
    func connect() throws -> PostgresConnection {
        if databaseURL.isEmpty { databaseURL = try PostgresServer.shared().createDatabase(prefix: "pg") }
        return try PostgresConnection(databaseURL)
    }

    /// Another fresh database for this test (dropped with the test's own).
    func makeDatabase(prefix: String) throws -> String {
        let url = try PostgresServer.shared().createDatabase(prefix: prefix)
        extraDatabases.append(url)
        return url
    }

    /// On an external server (`DEPLOYLOG_TEST_DATABASE_URL`), drops the test's databases; a
    /// throwaway cluster is deleted whole at exit.
    override func tearDownWithError() throws {
        if let server = try? PostgresServer.shared(), server.isExternal {
            for url in extraDatabases + (databaseURL.isEmpty ? [] : [databaseURL]) {
                try server.dropDatabase(url: url)
            }
        }
        try super.tearDownWithError()
    }

    /// Asserts that `body` throws a `PostgresError` and returns it.
    func expectError<T>(
        _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line
    ) -> PostgresError? {
        do {
            _ = try body()
            XCTFail("expected a PostgresError", file: file, line: line)
        } catch let error as PostgresError {
            return error
        } catch {
            XCTFail("expected a PostgresError, got \(error)", file: file, line: line)
        }
        return nil
    }
}
