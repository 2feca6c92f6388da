import ArgumentParser
import DeployLogEvents
import DeployLogPostgres
import DeployLogPostgresStore
import DeployLogStore
import Foundation

/// `--store`, shared by every subcommand (and accepted before the subcommand name).
struct StoreOptions: ParsableArguments {
    static let environmentVariable = "DEPLOYLOG_STORE"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: a directory, or a postgres:// (postgresql://) URL (default: $DEPLOYLOG_STORE, else ./.deploylog).",
            valueName: "path|url"))
    var store: String?

    /// The store address: `--store`, else `$DEPLOYLOG_STORE`, else `./.deploylog`.
    var address: String {
        if let store, !store.isEmpty { return store }
        if let env = ProcessInfo.processInfo.environment[Self.environmentVariable], !env.isEmpty { return env }
        return FileStore.defaultPath
    }

    func validate() throws {
        try Self.check(address, option: "--store")
    }

    /// Refuses addresses that are neither a directory path nor a PostgreSQL URL: anything with
    /// `://` or starting `postgres:`/`postgresql:` (a slash missing) that is not a URL, rather
    /// than taking it for a directory and creating one named after the password; and a URL
    /// whose password libpq would read differently (`PostgresURL.credentialProblem`).
    static func check(_ address: String, option: String) throws {
        if PostgresURL.isMistypedURL(address) {
            // Never echo the address: it may hold a password.
            throw ValidationError("\(option) must be a directory path or a postgres:// (postgresql://) URL")
        }
        if let problem = PostgresURL.credentialProblem(address) {
            throw ValidationError("\(option): \(problem)")
        }
    }

    /// Whether the store is a PostgreSQL database.
    var isPostgres: Bool { PostgresStoreAddress.isPostgres(address) }

    /// The address as it may be shown: a URL's password replaced by `***`.
    var displayAddress: String { Self.display(address) }

    static func display(_ address: String) -> String {
        PostgresStoreAddress.isPostgres(address) ? PostgresURL.redacted(address) : address
    }

    /// The directory of the file store.
    var path: String { address }

    /// True when the path holds a file store (its marker file exists).
    var storeExists: Bool {
        FileManager.default.fileExists(atPath: path + "/" + FileStore.markerName)
    }

    /// Opens the existing store, of either backend.
    func open() throws(CLIError) -> any EventImporting {
        try Self.open(address)
    }

    static func open(_ address: String) throws(CLIError) -> any EventImporting {
        do {
            if PostgresStoreAddress.isPostgres(address) {
                return try PostgresStore.open(url: address, options: postgresOptions)
            }
            return try FileStore.open(at: address)
        } catch {
            throw CLIError(error)
        }
    }

    /// Creates the store if it is missing (idempotent) and opens it.
    static func create(_ address: String) throws(CLIError) -> any EventImporting {
        do {
            if PostgresStoreAddress.isPostgres(address) {
                return try PostgresStore.create(url: address, options: postgresOptions)
            }
            return try FileStore.create(at: address)
        } catch {
            throw CLIError(error)
        }
    }

    /// A PostgreSQL store's options: what it says without failing goes to stderr.
    static var postgresOptions: PostgresStore.Options {
        var options = PostgresStore.Options()
        options.logger = StderrLogHandler.logger
        return options
    }
}

extension EventStore {
    /// The event at `position`, or `notFound` naming the head.
    func event(atPosition position: Int64) throws -> RecordedEvent {
        var found: RecordedEvent?
        try read(from: position, filter: EventFilter(throughPosition: position), limit: 1) {
            found = $0; return false
        }
        guard let found, found.position == position else {
            throw CLIError.notFound("no event at position \(position) (the head is \(try head().position))")
        }
        return found
    }
}
