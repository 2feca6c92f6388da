import DeployLogEvents
import DeployLogPostgres
import DeployLogProjections

extension ProjectionSink {
    /// Loads every table of `projector` from `projections` with binary COPY (the tables are
    /// made or emptied in the caller's transaction, as COPY FREEZE requires); returns the rows written. Each
    /// table's foreign keys and plain indexes are set aside while it fills and put back after
    /// (`DeferredChecks`).
    func load(
        _ projector: SinkProjector, _ projections: Projections, schema: String, on c: PostgresConnection
    ) throws -> Int {
        var rows = 0
        for table in projector.tables(of: projections) {
            progress?("loading \(table.name): \(table.rows.count) rows")
            let types = try columnTypes(of: table, schema: schema, on: c)
            try checkWidths(of: table, table.rows, schema: schema, on: c)
            let deferred = try DeferredChecks.setAside(table: table.name, schema: schema, on: c)
            // FREEZE: the table was made or emptied in this transaction, so its rows may be
            // written frozen. A reader whose snapshot is older than this transaction (REPEATABLE
            // READ, or a cursor) then finds the new rows rather than an empty table (TRUNCATE
            // and a swapped-in table are not MVCC-safe), and no vacuum rewrites the pages later.
            let name = try PostgresIdentifier.quote(schema: schema, table.name)
            let columns = try table.columns.map(PostgresIdentifier.quote).joined(separator: ", ")
            rows += try c.copyIn("COPY \(name) (\(columns)) FROM STDIN (FORMAT binary, FREEZE)", columnTypes: types) {
                w in try Self.write(table.rows, of: table, types: types, to: w)
            }
            try deferred.restore(table: table.name, schema: schema, on: c)
            try resetSequence(of: table.name, schema: schema, on: c)
            try faultHook?("loaded \(table.name)")
        }
        return rows
    }

    /// Upserts the rows of `table` changed after `position` (their `last_position`, or
    /// `position` for execution logs, is greater): COPY into a temporary table, then one
    /// `INSERT … SELECT … ON CONFLICT (id) DO UPDATE`. Returns the rows written.
    func upsert(_ table: Table, after position: Int64, schema: String, on c: PostgresConnection) throws -> Int {
        let column = SinkProjector.positionColumn(of: table.name)
        guard let at = table.columns.firstIndex(of: column) else {
            throw ProjectionSinkError(.internal, "\(table.name) has no \(column) column")
        }
        let changed = table.rows.filter { ($0[at].numberValue?.int64Value ?? .max) > position }
        guard !changed.isEmpty else { return 0 }
        let types = try columnTypes(of: table, schema: schema, on: c)
        try checkWidths(of: table, changed, schema: schema, on: c)
        let target = try PostgresIdentifier.quote(schema: schema, table.name)
        let stagingName = "deploylog_upsert_" + table.name
        let staging = try PostgresIdentifier.quote(schema: "pg_temp", stagingName)
        try c.query(
            "CREATE TEMPORARY TABLE \(try PostgresIdentifier.quote(stagingName)) (LIKE \(target)) ON COMMIT DROP")
        try c.copyIn(schema: "pg_temp", table: stagingName, columns: table.columns, columnTypes: types) { w in
            try Self.write(changed, of: table, types: types, to: w)
        }
        let columns = try table.columns.map(PostgresIdentifier.quote)
        let updates = columns.filter { $0 != "\"id\"" }.map { "\($0) = EXCLUDED.\($0)" }
        let list = columns.joined(separator: ", ")
        try c.query(
            """
            INSERT INTO \(target) (\(list)) SELECT \(list) FROM \(staging)
            ON CONFLICT (id) DO UPDATE SET \(updates.joined(separator: ", "))
            """)
        try c.query("DROP TABLE \(staging)")
        try resetSequence(of: table.name, schema: schema, on: c)
        return changed.count
    }

    /// The database types of `table`'s columns, in the projector's column order.
    ///
    /// - Throws: `.schemaMismatch` when the table or one of the columns is missing (tables made
    ///   by an older `projections/*.sql`: `CREATE TABLE IF NOT EXISTS` does not change them).
    func columnTypes(of table: Table, schema: String, on c: PostgresConnection) throws -> [PostgresType] {
        let qualified = try PostgresIdentifier.quote(schema: schema, table.name)
        let result = try c.query(
            """
            SELECT a.attname::text, a.atttypid::int8 FROM pg_attribute a
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
            """, [.text(qualified)])
        var types: [String: PostgresType] = [:]
        for row in result { types[try row.string(0)] = PostgresType(oid: UInt32(try row.int64(1))) }
        guard !types.isEmpty else {
            throw ProjectionSinkError(.schemaMismatch, "table \(schema).\(table.name) does not exist")
        }
        return try table.columns.map { name in
            guard let type = types[name] else {
                throw ProjectionSinkError(
                    .schemaMismatch,
                    "table \(schema).\(table.name) has no column \(name) (made by an older projections/*.sql?): "
                        + "rebuild with --zero-downtime to recreate the tables")
            }
            return type
        }
    }

    /// Throws `.valueTooLong` for the first string of `rows` longer than its `VARCHAR(n)`
    /// column, naming the column, the row and the event that wrote it, instead of the
    /// server's bare "value too long" halfway through a COPY. (The catalog refuses such
    /// strings when appended; a log written before it did may still hold one.)
    func checkWidths(of table: Table, _ rows: [[JSONValue]], schema: String, on c: PostgresConnection) throws {
        let widths = try c.query(
            """
            SELECT attname::text, atttypmod - 4 FROM pg_attribute
            WHERE attrelid = to_regclass($1) AND atttypid = 'varchar'::regtype AND atttypmod > 4
                AND attnum > 0 AND NOT attisdropped
            """, [.text(try PostgresIdentifier.quote(schema: schema, table.name))])
        var bounded: [(index: Int, name: String, width: Int)] = []
        for row in widths {
            let name = try row.string(0)
            if let index = table.columns.firstIndex(of: name) { bounded.append((index, name, Int(try row.int32(1)))) }
        }
        guard !bounded.isEmpty else { return }
        let positionAt = table.columns.firstIndex(of: SinkProjector.positionColumn(of: table.name))
        let idAt = table.columns.firstIndex(of: "id")
        for row in rows {
            for column in bounded {
                guard case .string(let s) = row[column.index], s.unicodeScalars.count > column.width else { continue }
                let id = idAt.flatMap { row[$0].numberValue?.int64Value }.map { " (id \($0))" } ?? ""
                let event = positionAt.flatMap { row[$0].numberValue?.int64Value }.map { ", last written by the event at position \($0)" } ?? ""
                throw ProjectionSinkError(
                    .valueTooLong,
                    "\(table.name).\(column.name) is VARCHAR(\(column.width)), but a row\(id)\(event) holds \(s.unicodeScalars.count) characters: "
                        + "\"\(s.prefix(60))\(s.count > 60 ? "…" : "")\" (appended before deploylog refused such values; "
                        + "nothing was written)")
            }
        }
    }

    /// Points the table's `id` sequence past its largest id (ids are written explicitly), so
    /// that a row inserted by hand gets a fresh one.
    func resetSequence(of table: String, schema: String, on c: PostgresConnection) throws {
        let qualified = try PostgresIdentifier.quote(schema: schema, table)
        try c.query(
            """
            SELECT setval(s, COALESCE((SELECT max(id) FROM \(qualified)), 0) + 1, false)
            FROM pg_get_serial_sequence($1, 'id') AS s WHERE s IS NOT NULL
            """, [.text(qualified)])
    }

    static func write(_ rows: [[JSONValue]], of table: Table, types: [PostgresType], to w: PostgresCopyWriter) throws {
        var encoder = CopyRowEncoder(types: types)
        var values: [PostgresValue] = []
        values.reserveCapacity(types.count)
        for row in rows {
            do {
                try w.writeEncodedRow { try encoder.encode(row, to: &$0) }
                continue
            } catch is CopyRowEncoder.SlowPath {}
            values.removeAll(keepingCapacity: true)
            for (index, type) in types.enumerated() {
                values.append(try value(row[index], as: type, column: table.columns[index], table: table.name))
            }
            try w.writeRow(values)
        }
    }

    /// A cell of a projector's table as the value its column's type takes: integers, booleans,
    /// RFC 3339 text as timestamps, objects and arrays as jsonb, arrays of strings as text[].
    static func value(_ v: JSONValue, as type: PostgresType, column: String, table: String) throws -> PostgresValue {
        func refuse() -> ProjectionSinkError {
            ProjectionSinkError(.internal, "\(table).\(column): cannot store a JSON \(v.typeName) as \(type)")
        }
        if v.isNull { return .null }
        switch type {
        case .int2, .int4, .int8:
            guard let n = v.numberValue?.int64Value else { throw refuse() }
            return .int8(n)
        case .bool:
            guard let b = v.boolValue else { throw refuse() }
            return .bool(b)
        case .timestamp, .timestamptz:
            guard let s = v.stringValue, let t = Timestamp(iso8601: s) else { throw refuse() }
            return .timestamptz(t.microseconds)
        case .jsonb, .json:
            return .jsonb(v.canonicalString)
        case .numeric:
            guard let n = v.numberValue else { throw refuse() }
            return .numeric(n.text)
        case .float4, .float8:
            guard let d = v.numberValue?.doubleValue else { throw refuse() }
            return .float8(d)
        case .text, .varchar, .bpchar:
            switch v {
            case .string(let s): return .text(s)
            case .number(let n): return .text(n.text)
            case .bool(let b): return .text(b ? "true" : "false")
            default: return .text(v.canonicalString)
            }
        default:
            if let element = type.elementType, element == .text || element == .varchar, let items = v.arrayValue {
                return .array(
                    try items.map { item in
                        if item.isNull { return .null }
                        guard let s = item.stringValue else { throw refuse() }
                        return .text(s)
                    }, of: element)
            }
            throw refuse()
        }
    }
}
