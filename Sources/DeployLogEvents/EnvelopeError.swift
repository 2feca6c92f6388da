/// A problem with an event envelope given to `append`: one line naming what was wrong.
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case notAnObject
        case missingField
        case wrongType
        case invalidValue
        case reservedField
        case invalidData
    }

    public var code: Code
    /// The offending field, e.g. `stream` or `data.stageOrder`.
    public var field: String?
    public var message: String

    public init(_ code: Code, field: String?, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
