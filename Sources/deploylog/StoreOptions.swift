import ArgumentParser
import DeployLogStore
import Foundation

/// `--store`, shared by every subcommand (and accepted before the subcommand name).
struct StoreOptions: ParsableArguments {
    static let environmentVariable = "DEPLOYLOG_STORE"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: a directory (default: $DEPLOYLOG_STORE, else ./.deploylog).",
            valueName: "path"))
    var store: String?

    /// The store address: `--store`, else `$DEPLOYLOG_STORE`, else `./.deploylog`.
    var address: String {
        if let store, !store.isEmpty { return store }
        if let env = ProcessInfo.processInfo.environment[Self.environmentVariable], !env.isEmpty { return env }
        return FileStore.defaultPath
    }

    func validate() throws {
        let lower = address.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            // Never echo the address: it may hold a password.
            throw ValidationError(
                "PostgreSQL stores (postgres://…) are not supported yet: give --store (or \(Self.environmentVariable)) a directory path"
            )
        }
        if address.contains("://") {
            throw ValidationError("--store must be a directory path (or, later, a postgres:// address)")
        }
    }

    /// The directory of the file store.
    var path: String { address }

    /// True when the path holds a store (its marker file exists).
    var storeExists: Bool {
        FileManager.default.fileExists(atPath: path + "/" + FileStore.markerName)
    }

    /// Opens the existing store.
    func open() throws(CLIError) -> FileStore {
        do { return try FileStore.open(at: path) } catch { throw CLIError(error) }
    }
}
