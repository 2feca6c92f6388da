import DeployLogPostgres
import XCTest

final class PostgresURLTests: XCTestCase {
    func testRedactsURLPasswords() {
        XCTAssertEqual(
            PostgresURL.redacted("postgres://deploy:s3cr%40t@db.example.com:5432/prod?sslmode=require"),
            "postgres://deploy:***@db.example.com:5432/prod?sslmode=require")
        XCTAssertEqual(
            PostgresURL.redacted("postgresql://u:p@[::1]:5432,other:5433/db"),
            "postgresql://u:***@[::1]:5432,other:5433/db")
        XCTAssertEqual(
            PostgresURL.redacted("postgresql://host/db?user=u&password=hunter2&sslmode=verify-full"),
            "postgresql://host/db?user=u&password=***&sslmode=verify-full")
        XCTAssertEqual(PostgresURL.redacted("postgresql://u:@host/db"), "postgresql://u:@host/db")  // empty password
        // A query right after the host, with no `/` or `@` before it.
        XCTAssertEqual(
            PostgresURL.redacted("postgresql://db.example.com:5432?user=deploy&password=hunter2"),
            "postgresql://db.example.com:5432?user=deploy&password=***")
        // A `/` or `@` left unencoded in the password.
        XCTAssertEqual(PostgresURL.redacted("postgres://u:pa/ss@h/db"), "postgres://u:***@h/db")
        XCTAssertEqual(PostgresURL.redacted("postgresql://u:p@ss@h/db?sslmode=require"), "postgresql://u:***@h/db?sslmode=require")
    }

    func testKeepsURLsWithoutPasswords() {
        for url in [
            "postgresql://postgres@127.0.0.1:5432/postgres", "postgres://host/db", "postgresql://",
            "postgresql:///db?host=/tmp",
            "postgresql://host:5432/db?application_name=a:b@c",
        ] {
            XCTAssertEqual(PostgresURL.redacted(url), url)
        }
    }

    func testRedactsConninfoPasswords() {
        XCTAssertEqual(
            PostgresURL.redacted("host=db port=5432 password=hunter2 user=deploy"),
            "host=db port=5432 password=*** user=deploy")
        XCTAssertEqual(
            PostgresURL.redacted("host=db password = 'it\\'s a secret' sslmode=require"),
            "host=db password = '***' sslmode=require")
        XCTAssertEqual(PostgresURL.redacted("dbname=x"), "dbname=x")
    }

    func testIsURL() {
        XCTAssertTrue(PostgresURL.isURL("postgres://h/d"))
        XCTAssertTrue(PostgresURL.isURL("postgresql://h/d"))
        XCTAssertFalse(PostgresURL.isURL("host=h"))
        XCTAssertFalse(PostgresURL.isURL("./.deploylog"))
        // A scheme is case-insensitive: an upper-case one is still a URL, its password still found.
        XCTAssertTrue(PostgresURL.isURL("POSTGRES://h/d"))
        XCTAssertTrue(PostgresURL.isURL("PostgreSQL://h/d"))
        XCTAssertEqual(PostgresURL.redacted("POSTGRES://app:s3cret@db/log"), "POSTGRES://app:***@db/log")
        XCTAssertEqual(PostgresURL.normalized("PostgreSQL://App:S3cret@DB/Log"), "postgresql://App:S3cret@DB/Log")
        XCTAssertEqual(PostgresURL.normalized("host=H password=P"), "host=H password=P")
    }
}
