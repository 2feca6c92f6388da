// MARK: - Migrations

package enum SampleMigrations {
    /// The seed's four migrations, as `deployment_migrations` defines them.
    package static let seed: [SampleMigration] = [
        SampleMigration(
            name: "create_initial_schema", version: "1.0.0", type: "schema",
            sql: """
                CREATE TABLE IF NOT EXISTS cameras (
                    id SERIAL PRIMARY KEY,
                    camera_name VARCHAR(100) NOT NULL,
                    location VARCHAR(255),
                    status VARCHAR(20) DEFAULT 'active',
                    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
                );
                """,
            rollbackSql: "DROP TABLE IF EXISTS cameras;", dependencies: [], transactional: true),
        SampleMigration(
            name: "add_camera_metadata", version: "1.1.0", type: "schema",
            sql: "ALTER TABLE cameras ADD COLUMN IF NOT EXISTS metadata JSONB DEFAULT '{}'::jsonb;",
            rollbackSql: "ALTER TABLE cameras DROP COLUMN IF EXISTS metadata;", dependencies: ["create_initial_schema"],
            transactional: true),
        SampleMigration(
            name: "create_counting_results_table", version: "1.2.0", type: "schema",
            sql: """
                CREATE TABLE IF NOT EXISTS counting_results (
                    id SERIAL PRIMARY KEY,
                    camera_id INTEGER REFERENCES cameras(id),
                    count_type VARCHAR(50) NOT NULL,
                    count_value INTEGER NOT NULL,
                    confidence_score DECIMAL(5,4),
                    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
                );
                """,
            rollbackSql: "DROP TABLE IF EXISTS counting_results;", dependencies: ["create_initial_schema"],
            transactional: true),
        SampleMigration(
            name: "add_performance_indexes", version: "1.3.0", type: "index",
            sql:
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_counting_results_camera_time\n  ON counting_results(camera_id, created_at DESC);",
            rollbackSql: "DROP INDEX IF EXISTS idx_counting_results_camera_time;",
            dependencies: ["create_counting_results_table"],
            transactional: false),
    ]

    static let tables = ["cameras", "counting_results", "camera_zones", "camera_health", "count_adjustments"]
    static let columns: [(String, String, String)] = [
        ("firmware_version", "VARCHAR(50)", "'unknown'"), ("last_seen_at", "TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("zone_id", "INTEGER", "0"), ("model_version", "VARCHAR(30)", "'yolo-v8n'"),
        ("frame_rate", "NUMERIC(5,2)", "25.0"),
        ("direction", "VARCHAR(10)", "'in'"), ("site_code", "VARCHAR(20)", "'HCM-01'"),
        ("is_calibrated", "BOOLEAN", "FALSE"),
        ("resolution", "VARCHAR(20)", "'1920x1080'"), ("retention_days", "INTEGER", "90"),
    ]

    /// The next migration of a later release: Django-style numbered names (`0005_…`), each
    /// depending on the one before it.
    static func next(after existing: [SampleMigration], version: String, rng: inout SplitMix64) -> SampleMigration {
        let number = existing.count + 1
        let prefix = String(repeating: "0", count: max(0, 4 - String(number).count)) + String(number)
        let table = rng.pick(tables)
        let (column, type, fallback) = rng.pick(columns)
        let previous = existing.last.map { [$0.name] } ?? []
        switch rng.int(0...9) {
        case 0...4:
            return SampleMigration(
                name: "\(prefix)_add_\(column)_to_\(table)", version: version, type: "schema",
                sql: "ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(column) \(type);",
                rollbackSql: "ALTER TABLE \(table) DROP COLUMN IF EXISTS \(column);", dependencies: previous,
                transactional: true)
        case 5...6:
            let index = "idx_\(table)_\(column)_\(prefix)"
            return SampleMigration(
                name: "\(prefix)_index_\(table)_\(column)", version: version, type: "index",
                sql: "CREATE INDEX CONCURRENTLY IF NOT EXISTS \(index)\n  ON \(table)(\(column), created_at DESC);",
                rollbackSql: "DROP INDEX CONCURRENTLY IF EXISTS \(index);", dependencies: previous, transactional: false
            )
        case 7...8:
            return SampleMigration(
                name: "\(prefix)_backfill_\(table)_\(column)", version: version, type: "data",
                sql: "UPDATE \(table) SET \(column) = \(fallback) WHERE \(column) IS NULL;",
                rollbackSql: nil, dependencies: previous, transactional: true)
        default:
            let function = "\(table)_\(column)_summary"
            return SampleMigration(
                name: "\(prefix)_create_\(function)", version: version, type: "function",
                sql: """
                    CREATE OR REPLACE FUNCTION \(function)(p_since TIMESTAMP)
                    RETURNS TABLE(\(column) TEXT, total BIGINT) AS $$
                        SELECT \(column)::TEXT, COUNT(*) FROM \(table)
                        WHERE created_at >= p_since GROUP BY 1 ORDER BY 2 DESC;
                    $$ LANGUAGE sql STABLE;
                    """,
                rollbackSql: "DROP FUNCTION IF EXISTS \(function)(TIMESTAMP);", dependencies: previous,
                transactional: true)
        }
    }
}

// MARK: - SHA-256 (for migration checksums; this module has no crypto dependency)

/// FIPS 180-4 SHA-256, written plainly: it hashes a few hundred short SQL texts.
enum SampleSHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ]
        var m = message
        let bits = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                var v: UInt32 = 0
                for j in 0..<4 { v = v << 8 | UInt32(m[chunk + 4 * i + j]) }
                w[i] = v
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] &+= v }
        }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for v in h { for s in [24, 16, 8, 0] as [UInt32] { out.append(UInt8(truncatingIfNeeded: v >> s)) } }
        return out
    }
}
