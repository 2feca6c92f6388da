public import DeployLogEvents

/// What a rollback will do, step by step: the difference between the environment's folded
/// state now and at the target position.
public struct RollbackPlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public enum Action: Sendable, Equatable {
            /// Run a migration's recorded rollback SQL (MigrationRolledBack follows).
            case revertMigration(name: String, sql: String, transactional: Bool, deploymentId: String)
            /// Run a migration's recorded SQL again: it was applied at the target and rolled
            /// back since (MigrationStarted/MigrationApplied follow).
            case reapplyMigration(name: String, sql: String, transactional: Bool)
            /// Switch a blue-green pair's traffic back (TrafficSwitchStarted/TrafficSwitched follow).
            case switchTraffic(deploymentName: String, fromColor: String, toColor: String, version: String)
            /// Append the environment's configuration as it was at the target.
            case restoreConfiguration(JSONObject)
            /// The environment was deactivated at the target.
            case deactivateEnvironment
        }

        /// From 1.
        public var order: Int
        public var action: Action

        /// The catalog's `action` name.
        public var actionName: String {
            switch action {
            case .revertMigration: "run_rollback_sql"
            case .reapplyMigration: "reapply_migration"
            case .switchTraffic: "switch_traffic"
            case .restoreConfiguration: "restore_configuration"
            case .deactivateEnvironment: "deactivate_environment"
            }
        }

        /// What it acts on.
        public var target: String {
            switch action {
            case .revertMigration(let name, _, _, _), .reapplyMigration(let name, _, _): name
            case .switchTraffic(let name, _, _, _): name
            case .restoreConfiguration, .deactivateEnvironment: "environment"
            }
        }

        /// One line for the printed plan.
        public var summary: String {
            switch action {
            case .revertMigration(let name, let sql, let transactional, _):
                "revert migration \(name)\(transactional ? "" : " (outside a transaction)"): \(Self.oneLine(sql))"
            case .reapplyMigration(let name, let sql, _):
                "re-apply migration \(name) (rolled back since the target): \(Self.oneLine(sql))"
            case .switchTraffic(let name, let from, let to, let version):
                "switch blue-green \(name) from \(from) back to \(to) (version \(version))"
            case .restoreConfiguration(let config):
                "restore the configuration: \(config.canonicalBytesText)"
            case .deactivateEnvironment:
                "deactivate the environment (it was inactive at the target)"
            }
        }

        static func oneLine(_ sql: String) -> String {
            let flat = sql.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { $0.trimmingSpaces() }.joined(
                separator: " ")
            return flat.count > 120 ? String(flat.prefix(117)) + "..." : flat
        }
    }

    public var environment: String
    /// The state restored: right after the event at this position.
    public var targetPosition: Int64
    /// The head of the log when the plan was made.
    public var headPosition: Int64
    public var steps: [Step]
    /// The version of the last applied migration now, and at the target.
    public var previousVersion: String?
    public var targetVersion: String?
    /// Things the plan cannot restore, said aloud (nothing is hidden).
    public var notes: [String]
    /// The last failed rollback of this environment to the same position, which this one resumes.
    public var resumes: String?

    public var isEmpty: Bool { steps.isEmpty }

    /// Whether the steps touch the target database.
    public var needsDatabase: Bool {
        steps.contains {
            switch $0.action {
            case .revertMigration, .reapplyMigration: true
            default: false
            }
        }
    }

    /// The printed plan.
    public var text: String {
        var out = "rollback plan for \(environment): back to position \(targetPosition) (head \(headPosition))"
        if let previousVersion { out += ", version \(previousVersion) -> \(targetVersion ?? "none")" }
        out += "\n"
        if let resumes { out += "  resumes failed rollback \(resumes)\n" }
        if steps.isEmpty { out += "  nothing to do: the environment is already in the target state\n" }
        for s in steps { out += "  \(s.order). \(s.summary)\n" }
        for n in notes { out += "  note: \(n)\n" }
        return out
    }
}

extension JSONObject {
    var canonicalBytesText: String { String(decoding: canonicalBytes(), as: UTF8.self) }
}
