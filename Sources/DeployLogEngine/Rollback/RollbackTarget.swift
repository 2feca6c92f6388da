public import DeployLogProjections
import Foundation

/// Where a rollback returns to: a point of the log (`position:N`, `time:ISO`, `pipeline:ID`) or
/// `version:V` — right after the last MigrationApplied in the environment of a migration
/// registered with version V.
public enum RollbackTarget: Sendable, Equatable, CustomStringConvertible {
    case point(StatePoint)
    case version(String)

    /// Parses `position:N`, `time:ISO-8601`, `pipeline:ID` or `version:V`.
    public init(parsing text: String) throws(EngineError) {
        if text.hasPrefix("version:") {
            let v = String(text.dropFirst("version:".count))
            guard !v.isEmpty else { throw EngineError(.badInput, "bad rollback target '\(text)': version is empty") }
            self = .version(v)
            return
        }
        guard text != "head" else {
            throw EngineError(
                .badInput, "bad rollback target 'head': expected position:N, time:ISO-8601, pipeline:ID or version:V")
        }
        do { self = .point(try StatePoint(parsing: text)) } catch {
            throw EngineError(
                .badInput, error.message.replacingOccurrences(of: "or head", with: "or version:V"))
        }
    }

    public var description: String {
        switch self {
        case .point(let p): p.description
        case .version(let v): "version:\(v)"
        }
    }
}
