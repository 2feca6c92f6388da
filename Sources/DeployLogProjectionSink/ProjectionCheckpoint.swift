public import DeployLogPostgres

/// One row of `deploylog_projection_checkpoints`: how far a projector's tables are written.
/// It lives in the read schema beside the tables, is written in the transaction that writes
/// their rows, and moves with them when a shadow schema is swapped in.
public struct ProjectionCheckpoint: Sendable, Equatable {
    public var projector: String
    /// The projector's version that wrote the rows.
    public var version: Int
    /// The log position the rows reflect (every event up to it is in them).
    public var position: Int64
    /// The log's chain hash at `position`: tells this log from another one.
    public var hash: String
    /// When the checkpoint moved, microseconds since the Unix epoch.
    public var updatedAt: Int64

    public init(projector: String, version: Int, position: Int64, hash: String, updatedAt: Int64) {
        self.projector = projector
        self.version = version
        self.position = position
        self.hash = hash
        self.updatedAt = updatedAt
    }
}

extension ProjectionCheckpoint {
    static let table = "deploylog_projection_checkpoints"

    /// The table, created in the schema on the search path.
    static let createTable = """
        CREATE TABLE IF NOT EXISTS deploylog_projection_checkpoints (
            projector TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            position BIGINT NOT NULL,
            hash TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )
        """

    /// Writes the checkpoint of `projector` in `schema` ($1 projector, $2 version, $3 position,
    /// $4 hash; `updated_at` is the transaction's time).
    static func write(
        _ projector: SinkProjector, position: Int64, hash: String, schema: String, on connection: PostgresConnection
    ) throws {
        let table = try PostgresIdentifier.quote(schema: schema, Self.table)
        try connection.query(
            """
            INSERT INTO \(table) (projector, version, position, hash, updated_at)
            VALUES ($1, $2, $3, $4, now())
            ON CONFLICT (projector) DO UPDATE SET
                version = EXCLUDED.version, position = EXCLUDED.position, hash = EXCLUDED.hash,
                updated_at = EXCLUDED.updated_at
            """, [.text(projector.name), .int4(Int32(projector.version)), .int8(position), .text(hash)])
    }

    /// Every checkpoint in `schema`, by projector name; empty when the schema or table is missing.
    static func readAll(schema: String, on connection: PostgresConnection) throws -> [String: ProjectionCheckpoint] {
        let qualified = try PostgresIdentifier.quote(schema: schema, Self.table)
        let exists = try connection.query("SELECT to_regclass($1) IS NOT NULL", [.text(qualified)])
        guard try exists[0].bool(0) else { return [:] }
        var result: [String: ProjectionCheckpoint] = [:]
        for row in try connection.query("SELECT projector, version, position, hash, updated_at FROM \(qualified)") {
            let c = ProjectionCheckpoint(
                projector: try row.string(0), version: try row.int(1), position: try row.int64(2),
                hash: try row.string(3), updatedAt: try row.timestamp(4))
            result[c.projector] = c
        }
        return result
    }
}

/// What `ProjectionSink.status()` reports for one projector.
public struct ProjectorStatus: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Its checkpoint is at the log's head.
        case upToDate
        /// Its checkpoint is behind the head: `catchUp` writes the rest.
        case behind
        /// No checkpoint: never built in this schema.
        case notBuilt
        /// Built by another version of the projector, or from another log: a catch-up rebuilds it.
        case rebuildNeeded(String)
    }

    public var projector: SinkProjector
    public var codeVersion: Int
    public var checkpoint: ProjectionCheckpoint?
    /// The log's head.
    public var head: Int64
    /// The events a catch-up would fold for it: those between the checkpoint and the head,
    /// the whole log when there is no checkpoint or it must be rebuilt (a checkpoint of another
    /// version or another log: its position says nothing about this log).
    public var behind: Int64
    public var state: State

    public init(
        projector: SinkProjector, codeVersion: Int, checkpoint: ProjectionCheckpoint?, head: Int64, behind: Int64,
        state: State
    ) {
        self.projector = projector
        self.codeVersion = codeVersion
        self.checkpoint = checkpoint
        self.head = head
        self.behind = behind
        self.state = state
    }
}
