public import DeployLogEvents
public import DeployLogStore

/// What the log says about one environment's migrations: a pure fold of its
/// `migrations-<environment>` stream. Every decision of `Migrator` and of the rollback planner
/// about migrations comes from here, never from the target database.
public struct MigrationLedger: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var version: String
        public var migrationType: String
        public var sql: String
        public var rollbackSql: String?
        public var dependencies: [String]
        public var checksum: String
        public var transactional: Bool
        /// Whether the rollback SQL runs in a transaction (absent in the event: as `transactional`).
        public var rollbackTransactional: Bool
        public var registeredAt: Timestamp
        public var isApplied = false
        /// Started and not yet Applied or Failed (a run in progress, or one that died).
        public var isRunning = false
        public var appliedAt: Timestamp?
        public var appliedBy: String?
        /// The position of the MigrationApplied that applied it (while applied).
        public var appliedPosition: Int64?
        public var deploymentId: String?
        public var lastError: String?
    }

    public let environment: String
    public private(set) var entries: [String: Entry] = [:]
    /// The stream's last version (nil: no stream yet): the expected version of the next append.
    public private(set) var streamVersion: Int64?
    /// The global position of the stream's last event.
    public private(set) var lastPosition: Int64 = 0

    public init(environment: String) { self.environment = environment }

    public static func stream(_ environment: String) -> String { "migrations-\(environment)" }

    /// Reads and folds the environment's stream from `store` (up to `throughPosition` when given).
    public static func load(
        environment: String, from store: any EventStore, throughPosition: Int64? = nil
    ) throws(EngineError) -> MigrationLedger {
        var ledger = MigrationLedger(environment: environment)
        do {
            try store.read(
                from: 1, filter: EventFilter(stream: stream(environment), throughPosition: throughPosition), limit: nil
            ) { e in
                ledger.apply(e)
                return true
            }
        } catch let e as StoreError {
            throw EngineError(e)
        } catch {
            throw EngineError(.internalError, "reading \(stream(environment)): \(error)")
        }
        return ledger
    }

    public mutating func apply(_ e: RecordedEvent) {
        streamVersion = e.streamVersion
        lastPosition = e.position
        guard case .object(let d) = e.data, let name = d["name"]?.stringValue else { return }
        switch e.type {
        case MigrationRegistered.eventType:
            let transactional = d["transactional"]?.boolValue ?? true
            var entry =
                entries[name]
                ?? Entry(
                    name: name, version: "", migrationType: "", sql: "", rollbackSql: nil, dependencies: [],
                    checksum: "",
                    transactional: true, rollbackTransactional: true, registeredAt: e.occurredAt)
            entry.version = d["version"]?.stringValue ?? ""
            entry.migrationType = d["migrationType"]?.stringValue ?? ""
            entry.sql = d["sql"]?.stringValue ?? ""
            entry.rollbackSql = d["rollbackSql"]?.stringValue
            entry.dependencies = d["dependencies"]?.arrayValue?.compactMap(\.stringValue) ?? []
            entry.checksum = d["checksum"]?.stringValue ?? ""
            entry.transactional = transactional
            entry.rollbackTransactional = d["rollbackTransactional"]?.boolValue ?? transactional
            entry.registeredAt = e.occurredAt
            entries[name] = entry
        case MigrationStarted.eventType:
            entries[name]?.isRunning = true
            entries[name]?.deploymentId = d["deploymentId"]?.stringValue
        case MigrationApplied.eventType:
            entries[name]?.isRunning = false
            entries[name]?.isApplied = true
            entries[name]?.appliedAt = e.occurredAt
            entries[name]?.appliedBy = d["appliedBy"]?.stringValue
            entries[name]?.appliedPosition = e.position
            entries[name]?.deploymentId = d["deploymentId"]?.stringValue
            entries[name]?.lastError = nil
        case MigrationFailed.eventType:
            entries[name]?.isRunning = false
            entries[name]?.lastError = d["error"]?.stringValue
        case MigrationRolledBack.eventType:
            entries[name]?.isRunning = false
            entries[name]?.isApplied = false
            entries[name]?.appliedAt = nil
            entries[name]?.appliedPosition = nil
        default:
            break
        }
    }

    /// Applied migrations, in the order they were applied.
    public var applied: [Entry] {
        entries.values.filter(\.isApplied).sorted { ($0.appliedPosition ?? 0) < ($1.appliedPosition ?? 0) }
    }

    public var appliedNames: Set<String> { Set(entries.values.filter(\.isApplied).map(\.name)) }

    /// Started and never finished: a run that died between MigrationStarted and its outcome.
    public var running: [Entry] { entries.values.filter(\.isRunning).sorted { $0.name < $1.name } }
}

extension EngineError {
    /// A store error, keeping what kind it was.
    public init(_ e: StoreError) {
        switch e.code {
        case .conflict:
            self.init(.conflict, "\(e.message): another deploy wrote to the stream first; nothing more was done")
        case .notFound: self.init(.notFound, e.message)
        case .locked, .unavailable: self.init(.unavailable, e.message)
        case .invalidRequest: self.init(.badInput, e.message)
        case .corruption, .io: self.init(.internalError, e.message)
        }
    }
}
