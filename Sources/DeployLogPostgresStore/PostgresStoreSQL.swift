import DeployLogPostgres

/// Every statement of the PostgreSQL store, as SQL: the schema (idempotent), and the
/// parameterised statements, prepared once per connection. Values are always parameters;
/// the only names in the text are our own, fixed ones.
enum PostgresStoreSQL {
    /// The schema. Run in one transaction under an advisory lock, so two `init`s at once
    /// cannot race; every statement is idempotent. Run only when `setUpState` finds something
    /// missing: `CREATE OR REPLACE` needs the objects' owner, and a trigger's takes a SHARE ROW
    /// EXCLUSIVE lock on its table, which waits for every appender and blocks the next ones.
    ///
    /// - `events.payload` holds the event's canonical bytes packed and LZ4-compressed against the
    ///   dictionary `dictionary_id` (0: none), exactly as the file store's records hold them;
    ///   `packed_length` is what decompression gives back. The other columns repeat envelope
    ///   fields for SQL (filters, reports); `verify` checks they agree with the payload.
    /// - `hash` is the SHA-256 chain: hash(n) = SHA-256(hash(n-1) ‖ canonical bytes of n).
    /// - `metadata` is `json`, not `jsonb`: validated and kept as written, queryable with `->>`,
    ///   and a row costs about a fifth less to store than with `jsonb`'s conversion.
    /// - No foreign keys or row triggers on `events`: nothing but the three indexes is paid per
    ///   inserted row. (Nothing here stops Citus or YugabyteDB from holding the table.)
    /// - Append-only by construction: statement-level triggers reject UPDATE, DELETE and
    ///   TRUNCATE on `events` and `dictionaries`, whoever asks.
    static let schema = """
        SELECT pg_advisory_xact_lock(hashtext('deploylog.schema'));
        CREATE SCHEMA IF NOT EXISTS deploylog;
        CREATE TABLE IF NOT EXISTS deploylog.dictionaries (
            id integer PRIMARY KEY CHECK (id > 0),
            bytes bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS deploylog.events (
            position bigint PRIMARY KEY CHECK (position > 0),
            stream text NOT NULL,
            stream_version bigint NOT NULL CHECK (stream_version >= 0),
            event_id uuid NOT NULL,
            type text NOT NULL,
            schema_version integer NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            metadata json NOT NULL,
            payload bytea NOT NULL,
            packed_length integer NOT NULL CHECK (packed_length >= 0),
            dictionary_id integer NOT NULL CHECK (dictionary_id >= 0),
            hash bytea NOT NULL CHECK (octet_length(hash) = 32),
            CONSTRAINT events_event_id_key UNIQUE (event_id),
            CONSTRAINT events_stream_version_key UNIQUE (stream, stream_version)
        );
        CREATE OR REPLACE FUNCTION deploylog.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'deploylog.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$;
        CREATE OR REPLACE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON deploylog.events
            FOR EACH STATEMENT EXECUTE FUNCTION deploylog.reject_change();
        CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON deploylog.events
            FOR EACH STATEMENT EXECUTE FUNCTION deploylog.reject_change();
        CREATE OR REPLACE TRIGGER dictionaries_append_only BEFORE UPDATE OR DELETE ON deploylog.dictionaries
            FOR EACH STATEMENT EXECUTE FUNCTION deploylog.reject_change();
        CREATE OR REPLACE TRIGGER dictionaries_no_truncate BEFORE TRUNCATE ON deploylog.dictionaries
            FOR EACH STATEMENT EXECUTE FUNCTION deploylog.reject_change();
        """

    /// What `create` looks at before it changes anything (no parameters): whether the events
    /// table exists, and which append-only triggers of `schema` are missing, as `table.trigger`
    /// (all four when nothing exists; none in a complete store). Reads only the catalog, so a
    /// role that may merely use the store can ask.
    static let setUpState = PostgresStatement(
        """
        SELECT to_regclass('deploylog.events') IS NOT NULL,
            ARRAY(SELECT w.t || '.' || w.name FROM (VALUES
                    ('events', 'events_append_only'), ('events', 'events_no_truncate'),
                    ('dictionaries', 'dictionaries_append_only'), ('dictionaries', 'dictionaries_no_truncate')
                ) AS w(t, name)
                WHERE NOT EXISTS (SELECT FROM pg_trigger g
                    WHERE g.tgrelid = to_regclass('deploylog.' || w.t) AND g.tgname = w.name)
                ORDER BY 1)
        """)

    /// $1 id: whether the store holds that dictionary.
    static let hasDictionary = PostgresStatement(
        "SELECT EXISTS (SELECT FROM deploylog.dictionaries WHERE id = $1)", parameterTypes: [.int4])

    /// $1 id, $2 bytes: the dictionary, unless one with that id exists.
    static let insertDictionary = PostgresStatement(
        "INSERT INTO deploylog.dictionaries (id, bytes) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        parameterTypes: [.int4, .bytea])

    /// Every dictionary: id, bytes.
    static let dictionaries = PostgresStatement("SELECT id, bytes FROM deploylog.dictionaries ORDER BY id")

    /// Whether the store's table exists (no parameters): `to_regclass` is NULL when it does not.
    static let exists = PostgresStatement("SELECT to_regclass('deploylog.events') IS NOT NULL")

    /// The unique constraint on `events.event_id` (named in the schema).
    static let eventIdConstraint = "events_event_id_key"

    /// The writers' lock, held until COMMIT (see `PostgresStore+Append.swift` for why): a
    /// transaction advisory lock on the key `$1` names.
    static let lock = PostgresStatement(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", parameterTypes: [.text])
    static let lockKey = "deploylog.events writers"

    /// The head: position and hash of the last event (no row when empty).
    static let head = PostgresStatement("SELECT position, hash FROM deploylog.events ORDER BY position DESC LIMIT 1")

    /// $1 position: its hash.
    static let hashAt = PostgresStatement(
        "SELECT hash FROM deploylog.events WHERE position = $1", parameterTypes: [.int8])

    /// $1 stream: its last version (NULL when it has no event).
    static let streamVersion = PostgresStatement(
        "SELECT max(stream_version) FROM deploylog.events WHERE stream = $1", parameterTypes: [.text])

    /// What a writer reads under the lock, in one statement: `$1` event ids, `$2` streams.
    /// Rows of kind 0: the head (position, hash; none when empty); kind 1: each of the ids
    /// stored (position, event id, stream version); kind 2: each stream (its last version in
    /// the position column, NULL when it has no event, and its name).
    static let lookUp = PostgresStatement(
        """
        SELECT 0, h.position, h.hash, NULL::uuid, NULL::bigint, NULL::text
        FROM (SELECT position, hash FROM deploylog.events ORDER BY position DESC LIMIT 1) AS h
        UNION ALL
        SELECT 1, e.position, NULL, e.event_id, e.stream_version, NULL FROM deploylog.events e WHERE e.event_id = ANY($1)
        UNION ALL
        SELECT 2, (SELECT max(e.stream_version) FROM deploylog.events e WHERE e.stream = s.stream), NULL, NULL, NULL, s.stream
        FROM unnest($2::text[]) AS s(stream)
        """,
        parameterTypes: [PostgresType.uuid.arrayType!, PostgresType.text.arrayType!])

    /// Transaction control, prepared once per connection like the rest. The writers' ordering
    /// needs READ COMMITTED (a snapshot per statement, taken after the lock is granted): named
    /// here too, so that it holds even on a session whose default was changed after it connected.
    static let begin = PostgresStatement("BEGIN ISOLATION LEVEL READ COMMITTED")
    static let commit = PostgresStatement("COMMIT")

    /// The columns rows are written with, in order (COPY and the multi-row INSERT).
    static let columns = [
        "position", "stream", "stream_version", "event_id", "type", "schema_version", "occurred_at", "recorded_at",
        "metadata", "payload", "packed_length", "dictionary_id", "hash",
    ]
    static let columnTypes: [PostgresType] = [
        .int8, .text, .int8, .uuid, .text, .int4, .timestamptz, .timestamptz, .json, .bytea, .int4, .int4, .bytea,
    ]

    /// One event: one row, one parameter per column.
    static let insertRow = PostgresStatement(
        "INSERT INTO deploylog.events (\(columns.joined(separator: ", "))) VALUES ("
            + (1...columns.count).map { "$\($0)" }.joined(separator: ", ") + ")",
        parameterTypes: columnTypes)

    /// Small appends: every row in one statement, one array parameter per column.
    static let insertRows = PostgresStatement(
        """
        INSERT INTO deploylog.events (\(columns.joined(separator: ", ")))
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::integer[],
            $7::timestamptz[], $8::timestamptz[], $9::json[], $10::bytea[], $11::integer[], $12::integer[], $13::bytea[])
        """,
        parameterTypes: columnTypes.map { $0.arrayType! })

    /// Small appends in one round trip (sent after `lock` in the same pipeline, so it runs under
    /// the lock with a snapshot taken after it was granted): the rows of `insertRows` ($1 … $13)
    /// are inserted only if what the writer assumed when it computed them still holds — the head
    /// is position `$16` with hash `$17` (0 and NULL: empty), none of the ids in `$4` is
    /// stored, and each stream of `$14` has the last version at the same index of `$15`
    /// (NULL: no event). The first row (kind 3) holds the number of rows inserted (0 or all);
    /// when it is 0, the rows of `lookUp` follow (kinds 0, 1, 2), read under the lock, for the
    /// writer to decide again.
    static let insertRowsUnlessChanged = PostgresStatement(
        unlessChanged(
            ids: "ANY($4)", streams: "unnest($14::text[], $15::bigint[])",
            rows: """
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::integer[],
                    $7::timestamptz[], $8::timestamptz[], $9::json[], $10::bytea[], $11::integer[], $12::integer[],
                    $13::bytea[])
                """,
            head: "$16", hash: "$17"),
        parameterTypes: columnTypes.map { $0.arrayType! } + [
            PostgresType.text.arrayType!, PostgresType.int8.arrayType!, .int8, .bytea,
        ])

    /// `insertRowsUnlessChanged` for one event, leaner: its row as one parameter per column ($1 …
    /// $13, as `insertRow`), inserted only if the head is position `$15` with hash `$16` (0:
    /// empty) and its stream `$2` is at version `$14` (NULL: no event). The affected-row count
    /// says which: 1, or 0 when anything else was true, and the writer asks under the lock.
    ///
    /// Nothing is read but two index probes, because positions and each stream's versions
    /// are dense (1, 2, … and 0, 1, …: every writer assigns them under the lock) and a row is
    /// never removed: the head is exactly `$15` when position `$15` holds hash `$16` and
    /// position `$15` + 1 (this row's, `$1`) is free, and the stream is exactly at `$14` when
    /// `($2, $14)` exists and `($2, $3)` is free. The free ones — and the id not stored — are
    /// what the three unique indexes check as the row goes in: `ON CONFLICT DO NOTHING` turns a
    /// clash with any of them into 0 rows (found before the row is written, so nothing is left
    /// behind, and no error is logged). The general statement also reads the head, the id and
    /// the stream's `max(version)` and builds the answer; this one took one event per
    /// transaction from 2.7–3.1k to 3.2–3.4k/s in the benchmark. Only for one row: with
    /// several, `ON CONFLICT` could store some rows and skip others.
    static let insertRowIfHeadHolds = PostgresStatement(
        """
        INSERT INTO deploylog.events (\(columns.joined(separator: ", ")))
        SELECT \((1...columns.count).map { "$\($0)" }.joined(separator: ", "))
        WHERE ($15 = 0 OR EXISTS (SELECT FROM deploylog.events h WHERE h.position = $15 AND h.hash = $16))
            AND ($14 IS NULL OR EXISTS (
                SELECT FROM deploylog.events s WHERE s.stream = $2 AND s.stream_version = $14))
        ON CONFLICT DO NOTHING
        """,
        parameterTypes: columnTypes + [.int8, .int8, .bytea])

    /// The text of the statements above: `ids` the event ids (`= …`), `streams` rows of
    /// (stream, assumed version), `rows` a query of the rows, `head` and `hash` the head's parameters.
    private static func unlessChanged(ids: String, streams: String, rows: String, head: String, hash: String)
        -> String
    {
        """
        WITH head AS (
            SELECT position, hash FROM deploylog.events ORDER BY position DESC LIMIT 1
        ), stored AS (
            SELECT e.position, e.event_id, e.stream_version FROM deploylog.events e WHERE e.event_id = \(ids)
        ), streams AS (
            SELECT s.stream, s.assumed,
                (SELECT max(e.stream_version) FROM deploylog.events e WHERE e.stream = s.stream) AS version
            FROM \(streams) AS s(stream, assumed)
        ), unchanged AS (
            SELECT coalesce((SELECT position FROM head), 0) = \(head)
                AND (SELECT hash FROM head) IS NOT DISTINCT FROM \(hash)
                AND NOT EXISTS (SELECT FROM stored)
                AND NOT EXISTS (SELECT FROM streams WHERE version IS DISTINCT FROM assumed) AS ok
        ), written AS (
            INSERT INTO deploylog.events (\(columns.joined(separator: ", ")))
            \(rows)
            WHERE (SELECT ok FROM unchanged)
            RETURNING 1
        )
        SELECT 3, (SELECT count(*) FROM written), NULL::bytea, NULL::uuid, NULL::bigint, NULL::text
        UNION ALL
        SELECT 0, h.position, h.hash, NULL, NULL, NULL FROM head h WHERE NOT (SELECT ok FROM unchanged)
        UNION ALL
        SELECT 1, s.position, NULL, s.event_id, s.stream_version, NULL FROM stored s
        UNION ALL
        SELECT 2, s.version, NULL, NULL, NULL, s.stream FROM streams s WHERE NOT (SELECT ok FROM unchanged)
        """
    }

    /// Large appends: binary COPY.
    static let copyRows =
        "COPY deploylog.events (\(columns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"

    /// What a read selects, in this order.
    static let readColumns = "position, payload, packed_length, dictionary_id, hash"
    /// What `verify` also selects, to check the columns against the payload.
    static let verifyColumns =
        "position, payload, packed_length, dictionary_id, hash, stream, stream_version, event_id, type, schema_version, "
        + "occurred_at, recorded_at, metadata"
}
