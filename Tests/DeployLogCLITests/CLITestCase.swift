import DeployLogEvents
import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one run of the `deploylog` binary did.
struct CLIResult {
    var status: Int32
    var stdout: Data
    var stderr: String

    var out: String { String(decoding: stdout, as: UTF8.self) }
    /// stdout split into its non-empty lines.
    var lines: [String] { out.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// Runs the built `deploylog` binary end to end, each test in its own temporary directory
/// holding the store (`store/`) and the runs' stdin/stdout/stderr files (`io/`).
class CLITestCase: XCTestCase {
    /// The test's directory; removed afterwards.
    var directory: URL!
    /// `directory/store`.
    var storePath: String { directory.appendingPathComponent("store").path }
    private var runs = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("deploylog-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("io"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        try super.tearDownWithError()
    }

    // MARK: Finding the binary

    /// The package's root directory (this file is `Tests/DeployLogCLITests/CLITestCase.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `deploylog` executable built with the tests: in the products directory that holds
    /// the test bundle, whatever `--scratch-path` was used; `DEPLOYLOG_BINARY` overrides.
    static let binary: URL? = {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["DEPLOYLOG_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var directories = [URL]()
        // macOS: …/debug/deploylogPackageTests.xctest (a bundle directory); Linux: the
        // …/debug/deploylogPackageTests.xctest executable itself.
        let bundle = Bundle(for: CLITestCase.self).bundleURL
        directories.append(bundle.deletingLastPathComponent())
        directories.append(bundle)
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        directories.append(
            URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        // Last resort: the default build directory of the package.
        directories.append(packageRoot.appendingPathComponent(".build/debug"))
        for directory in directories {
            // Walk up a little: a macOS bundle's executable sits in Contents/MacOS.
            var d = directory
            for _ in 0..<4 {
                let candidate = d.appendingPathComponent("deploylog")
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    fm.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                d = d.deletingLastPathComponent()
            }
        }
        return nil
    }()

    func binaryURL() throws -> URL {
        guard let url = Self.binary else {
            throw XCTSkip("the deploylog binary was not found next to the test bundle; set DEPLOYLOG_BINARY")
        }
        return url
    }

    // MARK: Running it

    /// Runs `deploylog args…` with `stdin`, in the test directory, with `DEPLOYLOG_STORE` unset
    /// unless `environment` sets it.
    @discardableResult
    func deploylog(_ args: [String], stdin: Data = Data(), environment: [String: String] = [:]) throws -> CLIResult {
        runs += 1
        let io = directory.appendingPathComponent("io")
        let inURL = io.appendingPathComponent("stdin-\(runs)")
        let outURL = io.appendingPathComponent("stdout-\(runs)")
        let errURL = io.appendingPathComponent("stderr-\(runs)")
        try stdin.write(to: inURL)
        try Data().write(to: outURL)
        try Data().write(to: errURL)

        let process = Process()
        process.executableURL = try binaryURL()
        process.arguments = args
        process.environment = Self.environment(environment)
        process.currentDirectoryURL = directory
        let input = try FileHandle(forReadingFrom: inURL)
        let output = try FileHandle(forWritingTo: outURL)
        let error = try FileHandle(forWritingTo: errURL)
        defer {
            try? input.close()
            try? output.close()
            try? error.close()
        }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        process.waitUntilExit()
        let status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CLIResult(
            status: status, stdout: try Data(contentsOf: outURL),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// `deploylog --store <the test's store> args…`.
    @discardableResult
    func store(_ args: String..., stdin: Data = Data()) throws -> CLIResult {
        try deploylog(["--store", storePath] + args, stdin: stdin)
    }

    /// Like `store`, but fails the test unless the run exits 0 with an empty stderr.
    @discardableResult
    func storeOK(_ args: String..., stdin: Data = Data(), file: StaticString = #filePath, line: UInt = #line) throws
        -> CLIResult
    {
        let r = try deploylog(["--store", storePath] + args, stdin: stdin)
        XCTAssertEqual(r.status, 0, "deploylog \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        return r
    }

    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DEPLOYLOG_STORE")
        for (k, v) in extra { env[k] = v }
        return env
    }

    // MARK: Store helpers

    /// A fresh store holding `history`.
    func makeStore(with history: Data) throws {
        try storeOK("init")
        try storeOK("append", stdin: history)
    }

    /// The head checkpoint, as printed by `checkpoint`.
    func checkpoint(file: StaticString = #filePath, line: UInt = #line) throws -> (
        position: Int64, hash: String, text: String
    ) {
        let r = try storeOK("checkpoint", file: file, line: line)
        let o = try XCTUnwrap(try JSONParser.parse(Array(r.stdout)).objectValue, file: file, line: line)
        return (
            try XCTUnwrap(o["position"]?.numberValue?.int64Value, file: file, line: line),
            try XCTUnwrap(o["hash"]?.stringValue, file: file, line: line), r.out
        )
    }

    /// The export: every event as a JSON object, in log order.
    func export(_ filters: String..., file: StaticString = #filePath, line: UInt = #line) throws -> [JSONObject] {
        let r = try deploylog(["--store", storePath, "log", "--format", "ndjson"] + filters)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return try r.lines.map { try XCTUnwrap(try JSONParser.parse($0).objectValue, file: file, line: line) }
    }

    /// Total bytes of the files under `path`.
    func totalBytes(under path: String) throws -> Int {
        var total = 0
        let fm = FileManager.default
        let e = try XCTUnwrap(fm.enumerator(atPath: path))
        for case let name as String in e {
            let attrs = try fm.attributesOfItem(atPath: path + "/" + name)
            if attrs[.type] as? FileAttributeType == .typeRegular { total += (attrs[.size] as? Int) ?? 0 }
        }
        return total
    }

    /// Every regular file under `path`, concatenated.
    func allBytes(under path: String) throws -> Data {
        var out = Data()
        let fm = FileManager.default
        let e = try XCTUnwrap(fm.enumerator(atPath: path))
        for case let name as String in e {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                out.append(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
            }
        }
        return out
    }

    /// Asserts a run failed with `status`, one `deploylog: ` line on stderr holding every one of
    /// `fragments`, and nothing on stdout.
    func assertFailure(
        _ r: CLIResult, _ status: Int32, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(r.status, status, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("deploylog: "), "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(
            r.stderr.filter { $0 == "\n" }.count, 1, "one line expected: \(r.stderr)", file: file, line: line)
        for f in fragments {
            XCTAssertTrue(
                r.stderr.contains(f), "stderr \(r.stderr.debugDescription) lacks \(f.debugDescription)", file: file,
                line: line)
        }
        XCTAssertEqual(r.out, "", "stdout should be empty", file: file, line: line)
    }
}

extension String {
    var data: Data { Data(utf8) }
}

extension Array where Element == JSONValue {
    /// NDJSON: one compact (canonical) JSON object per line.
    var ndjson: Data { Data(map { $0.canonicalString + "\n" }.joined().utf8) }
}
