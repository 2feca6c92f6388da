/// The read model's SQL: `projections/*.sql`, embedded in the binary at build time by the
/// `EmbedProjectionSQL` plugin (the files stay the one source; a test checks the embedded text
/// equals them byte for byte).
public enum ProjectionSQL {
    /// Every embedded file's text by name (`pipelines.sql` …).
    public static let files: [String: String] = Dictionary(
        EmbeddedProjectionSQL.files.map { ($0.name, $0.text) }, uniquingKeysWith: { a, _ in a })

    /// The files in the order they run (foreign keys point at `deployment_pipelines` and
    /// `deployment_migrations`; the views read pipelines and rollbacks).
    public static let order = SinkProjector.allCases.map(\.sqlFile)

    /// The functions the files create (no arguments), pinned to the read schema's
    /// `search_path` (see `ProjectionSink.pinFunctions`).
    public static let functions = ["get_deployment_health"]

    /// Which SQL this is: the 64-bit FNV-1a hash of every file in order, the checkpoint
    /// table's and the pinned functions' names, in hex. Recorded in
    /// the read schema's comment, so that a catch-up runs the files only when they changed.
    public static let version: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let texts = order.map { $0 + "\u{0}" + (files[$0] ?? "") } + [ProjectionCheckpoint.createTable] + functions
        for text in texts {
            for byte in (text + "\u{0}").utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }()

    /// The text of `file`.
    ///
    /// - Throws: `ProjectionSinkError` when the build embedded no such file.
    public static func text(of file: String) throws(ProjectionSinkError) -> String {
        guard let text = files[file] else {
            throw ProjectionSinkError(.internal, "projections/\(file) was not embedded in this build")
        }
        return text
    }
}
