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
