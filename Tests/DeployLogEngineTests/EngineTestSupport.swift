import DeployLogEngine
import DeployLogEvents
import DeployLogPostgres
import DeployLogStore
import DeployLogTestSupport
import Foundation

/// A file store in a fresh directory and a fresh database on the test server.
final class EngineFixture {
    let directory: String
    let store: FileStore
    let databaseURL: String

    init(prefix: String = "engine") throws {
        directory = FileManager.default.temporaryDirectory.path + "/deploylog-engine-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try FileStore.create(at: directory + "/store")
        databaseURL = try PostgresServer.shared().createDatabase(prefix: prefix)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
        if let server = try? PostgresServer.shared(), server.isExternal { try? server.dropDatabase(url: databaseURL) }
    }

    func migrator(_ environment: String = "staging") -> Migrator {
        Migrator(store: store, environment: environment, actor: "tester")
    }

    /// A directory holding `files` (name → text).
    func directory(_ name: String, _ files: [String: String]) throws -> String {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (file, text) in files { try text.write(toFile: path + "/" + file, atomically: true, encoding: .utf8) }
        return path
    }

    func events(type: String? = nil) throws -> [RecordedEvent] {
        try store.readAll(filter: EventFilter(types: type.map { [$0] }))
    }

    func head() throws -> Int64 { try store.head().position }

    /// `pg_dump --schema-only` of the test database, without the lines that differ per run.
    func schemaDump() throws -> String {
        let server = try PostgresServer.shared()
        let tool = server.binDirectory.isEmpty ? "pg_dump" : server.binDirectory + "/pg_dump"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : "/usr/bin/env")
        process.arguments = (tool.hasPrefix("/") ? [] : [tool]) + ["--schema-only", "--no-owner", "-d", databaseURL]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EngineError(.internalError, "pg_dump failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
    }

    func query(_ sql: String) throws -> PostgresResult {
        try PostgresConnection(databaseURL).query(sql)
    }
}

/// A migration file's text.
func migrationText(
    up: String, down: String?, type: String = "schema", depends: [String] = [], upTransaction: Bool = true,
    downTransaction: Bool = true
) -> String {
    var s = "-- deploylog:type \(type)\n"
    if !depends.isEmpty { s += "-- deploylog:depends \(depends.joined(separator: ", "))\n" }
    s += upTransaction ? "-- deploylog:up\n" : "-- deploylog:up transaction=false\n"
    s += up + "\n"
    if let down {
        s += downTransaction ? "-- deploylog:down\n" : "-- deploylog:down transaction=false\n"
        s += down + "\n"
    }
    return s
}
