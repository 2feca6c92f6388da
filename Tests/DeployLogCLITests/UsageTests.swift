import Foundation
import XCTest

/// Exit codes and messages of the command line itself.
final class UsageTests: CLITestCase {
    func testHelpDocumentsTheExitCodes() throws {
        let r = try deploylog(["--help"])
        XCTAssertEqual(r.status, 0)
        for code in ["64", "65", "66", "67", "68", "69", "70"] {
            XCTAssertTrue(r.out.contains("  \(code)  "), "exit \(code) undocumented")
        }
        for sub in ["init", "append", "log", "show", "verify", "checkpoint"] { XCTAssertTrue(r.out.contains(sub)) }
        let sub = try deploylog(["append", "--help"])
        XCTAssertEqual(sub.status, 0)
        XCTAssertTrue(sub.out.contains("stdin"))
    }

    func testAnUnreachablePostgresStoreIsUnavailableAndItsPasswordIsNotEchoed() throws {
        for address in [
            "postgres://deployer:hunter2@127.0.0.1:1/deploylog", "postgresql://deployer:hunter2@127.0.0.1:1/deploylog",
        ] {
            let r = try deploylog(["--store", address, "log"])
            assertFailure(r, 69, "unavailable", "deployer:***@127.0.0.1:1/deploylog")
            XCTAssertFalse(r.stderr.contains("hunter2"))
            let env = try deploylog(["init"], environment: ["DEPLOYLOG_STORE": address])
            assertFailure(env, 69, "unavailable")
            XCTAssertFalse(env.stderr.contains("hunter2"))
        }
        assertFailure(try deploylog(["--store", "http://deployer:hunter2@db/x", "log"]), 64, "postgres://")
    }

    /// A mistyped or malformed address is a usage error (64) in one line, its password never
    /// printed, and nothing created: not a directory named after it, not a connection attempt
    /// whose error quotes part of the password.
    func testMistypedAndMalformedAddressesAreUsageErrorsThatNeverPrintThePassword() throws {
        let secret = "hunter"
        try storeOK("init")
        for (args, fragment) in [
            (["--store", "postgres:/app:\(secret)2@db/x", "log"], "--store"),  // a slash missing
            (["--store", "PostgreSQL:app:\(secret)2@db/x", "init"], "--store"),
            (["--store", "postgres://app:\(secret)/2@127.0.0.1:1/x", "log"], "%2F"),  // libpq: host app, port hunter
            (["--store", "postgresql://app:\(secret)@2@127.0.0.1:1/x", "log"], "%40"),  // libpq: host 2@127.0.0.1
            (["--store", storePath, "project", "status", "--database", "postgress://app:\(secret)2@db/x"], "--database"),
            (["--store", storePath, "project", "status", "--database", " postgres://app:\(secret)2@db/x"], "--database"),
            (["--store", storePath, "project", "status", "--database", "host=db junk password=\(secret)2"], "--database"),
            (["--store", storePath, "project", "status", "--database", "postgres://app:\(secret)/2@db/x"], "%2F"),
            (["log", "postgres://app:\(secret)2@db/x"], "Unexpected argument"),  // --store forgotten
            (["--store", storePath, "env", "set", "staging", "--url", "postgres://app:\(secret)/2@db/x"], "%2F"),
        ] {
            let r = try deploylog(args)
            assertFailure(r, 64, fragment)
            XCTAssertFalse(r.stderr.contains(secret), "\(args): \(r.stderr)")
        }
        let made = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertFalse(made.contains { $0.lowercased().hasPrefix("postgres") }, "\(made)")
    }

    func testAMissingStoreIsNotFound() throws {
        assertFailure(try store("log"), 66, "no deploylog store", storePath)
        assertFailure(try store("append", stdin: "{}".data), 66, "no deploylog store")
        assertFailure(try store("checkpoint"), 66)
        assertFailure(try store("verify"), 66)
        assertFailure(try store("show", "1"), 66)
    }

    func testUnknownOptionsAndSubcommandsAreUsageErrors() throws {
        assertFailure(try deploylog(["frobnicate"]), 64)
        assertFailure(try store("log", "--colour"), 64, "--colour")
        assertFailure(try store("checkpoint", "--position", "-3"), 64, "--position")
    }

    /// `copy --batch` past its bound is a usage error before anything is opened or reserved (a
    /// batch of Int.max used to trap in `reserveCapacity`, 100 million to exhaust memory).
    func testCopyRefusesABatchTooLargeToHold() throws {
        try makeStore(with: "".data)
        let target = directory.appendingPathComponent("copy").path
        for batch in ["9223372036854775807", "100000000", "1000001", "0"] {
            let r = try deploylog(["copy", "--from", storePath, "--to", target, "--batch", batch])
            assertFailure(r, 64, "--batch must be from 1 to 1000000, got \(batch)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "--batch \(batch) created the target")
        }
        assertFailure(
            try deploylog(["copy", "--from", storePath, "--to", target, "--batch", "99999999999999999999"]), 64,
            "--batch")
        XCTAssertTrue(
            try deploylog(["copy", "--from", storePath, "--to", target, "--batch", "1000000"]).out.hasPrefix(
                "copied 0 events"))
    }

    func testAnEmptyStoreAndAnEmptyInput() throws {
        try storeOK("init")
        XCTAssertTrue(try storeOK("append", stdin: "\n\n".data).out.contains("appended 0 events"))
        XCTAssertEqual(try storeOK("log", "--format", "ndjson").out, "")
        XCTAssertEqual(try storeOK("log", "--format", "json").out, "[]\n")
        XCTAssertEqual(try storeOK("log", "--format", "csv").lines.count, 1)
        XCTAssertTrue(try storeOK("verify").out.hasPrefix("ok: 0 events"))
        XCTAssertEqual(try checkpoint().position, 0)
    }

    func testInitRefusesADirectoryThatIsNotAStore() throws {
        let other = directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try "x".data.write(to: other.appendingPathComponent("file.txt"))
        let r = try deploylog(["--store", other.path, "init"])
        assertFailure(r, 64, "not a deploylog store")
    }
}
