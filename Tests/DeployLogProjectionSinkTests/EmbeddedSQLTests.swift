import DeployLogPostgres
import DeployLogProjectionSink
import DeployLogProjections
import Foundation
import XCTest

/// The SQL the binary carries is projections/*.sql, byte for byte, and its tables have exactly
/// the projectors' columns.
final class EmbeddedSQLTests: SinkTestCase {
    static let projectionsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("projections")

    func testEmbeddedTextEqualsEveryProjectionsFileByteForByte() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.projectionsFolder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertEqual(names, ProjectionSQL.files.keys.sorted())
        XCTAssertEqual(Set(ProjectionSQL.order), Set(names))
        for name in names {
            let file = try Data(contentsOf: Self.projectionsFolder.appendingPathComponent(name))
            XCTAssertEqual(Array(try ProjectionSQL.text(of: name).utf8), Array(file), name)
        }
    }

    func testProjectorNamesAndVersionsAreTheProjectors() {
        let known = Dictionary(uniqueKeysWithValues: Projections.projectors.map { ($0.name, $0.version) })
        for p in SinkProjector.allCases { XCTAssertEqual(known[p.name], p.version, p.name) }
    }

    func testTablesHaveExactlyTheProjectorsColumnsInOrder() throws {
        try sink().rebuild()
        let c = try connect()
        for projector in SinkProjector.allCases {
            for table in projector.tables(of: Projections()) {
                XCTAssertEqual(projector.tableNames.contains(table.name), true, table.name)
                let columns = try c.query(
                    """
                    SELECT column_name::text FROM information_schema.columns
                    WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position
                    """, [.text(ProjectionSink.defaultSchema), .text(table.name)]
                ).map { try $0.string(0) }
                XCTAssertEqual(columns, table.columns, table.name)
            }
        }
        // The metrics views, with the seed's columns.
        let metrics = MetricsProjector().tables
        for view in metrics {
            let columns = try c.query(
                """
                SELECT column_name::text FROM information_schema.columns
                WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position
                """, [.text(ProjectionSink.defaultSchema), .text(view.name)]
            ).map { try $0.string(0) }
            XCTAssertEqual(columns, Array(view.columns.prefix(columns.count)), view.name)
            XCTAssertFalse(columns.isEmpty, view.name)
        }
    }
}
