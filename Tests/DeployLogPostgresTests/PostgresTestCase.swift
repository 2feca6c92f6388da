import DeployLogPostgres
import DeployLogTestSupport
import XCTest

/// A test case against the shared test server: each test gets its own fresh database.
class PostgresTestCase: XCTestCase {
    /// The URL of this test's database (created on first use).
    private(set) var databaseURL = ""

    /// A connection to this test's fresh database.
    func connect() throws -> PostgresConnection {
        if databaseURL.isEmpty { databaseURL = try PostgresServer.shared().createDatabase(prefix: "pg") }
        return try PostgresConnection(databaseURL)
    }

    override func tearDownWithError() throws {
        if !databaseURL.isEmpty, let server = try? PostgresServer.shared(), server.isExternal {
            try server.dropDatabase(url: databaseURL)
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
