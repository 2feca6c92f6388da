/// Why the sink refused or failed (database and store errors come through as
/// `PostgresError` and `StoreError`).
public struct ProjectionSinkError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Another sink holds this schema's lock.
        case busy
        /// A bad argument: a schema name, a combination of options.
        case invalidRequest
        /// The database's tables do not match the projectors' columns (an older read model).
        case schemaMismatch
        /// The operation would destroy something of the user's (a view of another schema on
        /// the read model's tables, which a zero-downtime swap would drop), or needs a name the
        /// user's schema holds (`<schema>_next`, `<schema>_old`).
        case conflict
        /// The log holds a string longer than its read-model column (`VARCHAR(n)`): an event
        /// appended before the catalog bounded the field.
        case valueTooLong
        /// Something that cannot happen in a correct build.
        case `internal`
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
