/// An error of the deployment engine: what was refused or failed, and where (a file, a
/// migration, a stream, a step), never a password. The CLI maps `code` to an exit status.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A migration file or directory that cannot be used (bad name, bad header, duplicate
        /// name), a missing dependency, a dependency cycle, a rollback target that is not a
        /// consistent point, a plan that cannot be made (no rollback SQL).
        case badInput
        /// An unknown environment, directory, position or pipeline.
        case notFound
        /// The log moved under us (a wrong expected version): another deploy wrote to the stream.
        case conflict
        /// A migration file changed after it was applied (checksums differ).
        case checksumMismatch
        /// The target database cannot be reached, or another deploy holds its lock.
        case unavailable
        /// A migration or rollback step failed on the target (SQLSTATE and message inside).
        case stepFailed
        /// Anything else (the store's I/O, an event the engine wrote that does not decode).
        case internalError
    }

    public var code: Code
    public var message: String
    /// The SQLSTATE of the statement that failed, when a statement failed.
    public var sqlState: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String { message }
}
