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

    /// libpq ends the credentials at the first `@` before any `/`, so `?` and `#` may be in a
    /// password; a mistyped scheme is still redacted; conninfo with a word that is not a pair.
    func testRedactsPasswordsLibpqAcceptsAndMistypedURLs() {
        XCTAssertEqual(PostgresURL.redacted("postgres://app:pa?ss@db/x"), "postgres://app:***@db/x")
        XCTAssertEqual(PostgresURL.redacted("postgres://app:pa#ss@db/x?sslmode=require"), "postgres://app:***@db/x?sslmode=require")
        XCTAssertEqual(PostgresURL.redacted("postgress://app:s3cret@db/x"), "postgress://app:***@db/x")
        XCTAssertEqual(PostgresURL.redacted(" postgres://app:s3cret@db/x"), " postgres://app:***@db/x")
        XCTAssertEqual(PostgresURL.redacted("host=db junk password=s3cret"), "host=db junk password=***")
    }

    /// A URL whose credentials libpq would cut short (an unencoded `@` or `/`) is named, so that
    /// it is refused before libpq quotes part of the password as a host or port.
    func testCredentialProblemsAreFound() {
        XCTAssertNotNil(PostgresURL.credentialProblem("postgres://u:pa/ss@h/db"))
        XCTAssertNotNil(PostgresURL.credentialProblem("postgresql://u:p@ss@h/db"))
        for fine in [
            "postgres://u:pa?ss@h/db", "postgres://u:p%40ss@h/db", "postgres://h/db?application_name=a@b",
            "postgresql:///db?host=/tmp", "postgres://u@h", "host=db password=a@b/c",
        ] {
            XCTAssertNil(PostgresURL.credentialProblem(fine), fine)
        }
    }

    /// Refused before connecting, and the error holds no part of the password.
    func testMalformedAddressesAreRefusedWithoutAnyPartOfThePassword() {
        for (address, part) in [
            ("postgres://u:hunter/2@127.0.0.1:1/db", "hunter"), ("postgresql://u:p@ss@127.0.0.1:1/db", "ss@"),
            ("postgress://app:s3cret@db/x", "s3cret"), ("host=db junk password=s3cret", "s3cret"),
            ("host=db password s3cret", "s3cret"),
        ] {
            XCTAssertThrowsError(try PostgresConnection(address)) { error in
                let message = (error as? PostgresError)?.message ?? "\(error)"
                XCTAssertTrue(message.hasPrefix("invalid connection string"), message)
                XCTAssertFalse(message.contains(part), message)
            }
        }
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
