import DeployLogEvents
import Foundation
import Yams

extension PipelineDefinition {
    /// Reads a pipeline file. Strict: an unknown key, a missing field, a value of the wrong kind
    /// or a stage with no step (or two) is an error naming the file, the line and the field.
    ///
    /// - Parameters:
    ///   - yaml: the file's text.
    ///   - file: how messages name the file.
    ///   - baseDirectory: where a `migrate` directory that is not absolute is found (the file's folder).
    /// - Throws: `EngineError` `.badInput`, one line: `FILE:LINE: FIELD: what is wrong`.
    public static func parse(yaml: String, file: String, baseDirectory: String) throws(EngineError)
        -> PipelineDefinition
    {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw EngineError(.badInput, "\(file):\(describe(yamlError: error))")
        }
        let reader = Reader(file: file)
        guard let root else {
            throw EngineError(.badInput, "\(file):1: the file is empty (expected a pipeline mapping)")
        }
        let top = try reader.mapping(
            root, "pipeline", keys: ["name", "version", "environment", "triggeredBy", "git", "stages"])
        let name = try reader.string(top, "name", in: root)
        let version = try reader.string(top, "version", in: root)
        let environment = try reader.string(top, "environment", in: root)
        try reader.checkName(environment, field: "environment", node: top["environment"]!)
        let triggeredBy = try reader.optionalString(top, "triggeredBy")
        var gitCommit: String?
        var gitBranch: String?
        var gitCommittedAt: Timestamp?
        if let git = top["git"] {
            let g = try reader.mapping(git, "git", keys: ["commit", "branch", "committedAt"])
            gitCommit = try reader.optionalString(g, "commit", path: "git.commit")
            gitBranch = try reader.optionalString(g, "branch", path: "git.branch")
            if let text = try reader.optionalString(g, "committedAt", path: "git.committedAt") {
                guard let t = Timestamp(iso8601: text) else {
                    throw reader.error(
                        g["committedAt"]!, "git.committedAt",
                        "expected an RFC 3339 time such as 2026-11-20T09:12:00Z, found '\(text)'")
                }
                gitCommittedAt = t
            }
        }
        guard let stagesNode = top["stages"] else { throw reader.error(root, "stages", "missing required field") }
        guard let list = stagesNode.sequence, !list.isEmpty else {
            throw reader.error(stagesNode, "stages", "expected a non-empty list of stages")
        }
        var stages: [Stage] = []
        var names: Set<String> = []
        for (i, node) in list.enumerated() {
            let path = "stages[\(i)]"
            let m = try reader.mapping(
                node, path, keys: ["name", "type", "run", "timeout", "migrate", "healthCheck", "switch"])
            let stageName = try reader.string(m, "name", in: node, path: "\(path).name")
            guard names.insert(stageName).inserted else {
                throw reader.error(
                    m["name"]!, "\(path).name", "a stage named '\(stageName)' comes earlier; stage names must be unique"
                )
            }
            let typeText = try reader.string(m, "type", in: node, path: "\(path).type")
            guard let type = StageType(rawValue: typeText), type != .rollback else {
                throw reader.error(
                    m["type"]!, "\(path).type", "expected build, test, deploy or validate, found '\(typeText)'")
            }
            let steps = ["run", "migrate", "healthCheck", "switch"].filter { m[$0] != nil }
            guard steps.count == 1 else {
                throw reader.error(
                    node, path,
                    steps.isEmpty
                        ? "a stage needs one step: run, migrate, healthCheck or switch"
                        : "a stage has exactly one step, found \(steps.joined(separator: " and "))")
            }
            if m["timeout"] != nil, steps[0] != "run" {
                throw reader.error(m["timeout"]!, "\(path).timeout", "timeout applies to a run step only")
            }
            let step: Step
            switch steps[0] {
            case "run":
                let command = try reader.string(m, "run", in: node, path: "\(path).run")
                var timeout = defaultTimeoutSeconds
                if let t = m["timeout"] {
                    guard let seconds = t.float ?? t.int.map(Double.init), seconds > 0, seconds <= 86_400 else {
                        throw reader.error(
                            t, "\(path).timeout",
                            "expected a number of seconds between 0 and 86400, found '\(t.string ?? "?")'")
                    }
                    timeout = seconds
                }
                step = .run(command: command, timeoutSeconds: timeout)
            case "migrate":
                let dir = try reader.string(m, "migrate", in: node, path: "\(path).migrate")
                let full = dir.hasPrefix("/") ? dir : (baseDirectory as NSString).appendingPathComponent(dir)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue
                else {
                    throw reader.error(m["migrate"]!, "\(path).migrate", "no migration directory at \(full)")
                }
                step = .migrate(.directory((full as NSString).standardizingPath))
            case "healthCheck":
                let h = m["healthCheck"]!
                if h.scalar != nil {
                    guard h.bool == true || ["", "~", "null"].contains(h.string ?? "") else {
                        throw reader.error(
                            h, "\(path).healthCheck", "expected true or a mapping with query and slowStatementMs")
                    }
                    step = .healthCheck(HealthCheckOptions())
                    break
                }
                let hm = try reader.mapping(h, "\(path).healthCheck", keys: ["query", "slowStatementMs"])
                let query = try reader.optionalString(hm, "query", path: "\(path).healthCheck.query")
                var slow: Double?
                if let s = hm["slowStatementMs"] {
                    guard let v = s.float ?? s.int.map(Double.init), v > 0 else {
                        throw reader.error(
                            s, "\(path).healthCheck.slowStatementMs", "expected a positive number of milliseconds")
                    }
                    slow = v
                }
                step = .healthCheck(HealthCheckOptions(query: query, slowStatementMs: slow))
            default:
                let pair = try reader.string(m, "switch", in: node, path: "\(path).switch")
                step = .switchTraffic(pair: pair)
            }
            stages.append(Stage(name: stageName, type: type, step: step))
        }
        return PipelineDefinition(
            name: name, version: version, environment: environment, triggeredBy: triggeredBy, gitCommit: gitCommit,
            gitBranch: gitBranch, gitCommittedAt: gitCommittedAt, stages: stages)
    }

    /// Reads and parses `path`.
    public static func load(path: String) throws(EngineError) -> PipelineDefinition {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError(.notFound, "no pipeline file at \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EngineError(.badInput, "\(path): not UTF-8 text")
        }
        let base = (path as NSString).deletingLastPathComponent
        return try parse(yaml: text, file: path, baseDirectory: base.isEmpty ? "." : base)
    }

    /// `LINE:COLUMN: problem` for a Yams error.
    static func describe(yamlError error: any Error) -> String {
        guard let e = error as? YamlError else { return "1: cannot read YAML: \(error)" }
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "\(mark.line):\(mark.column): YAML syntax error: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "\(context.mark.line): duplicate key \(duplicates.joined(separator: ", "))"
        case .reader(let problem, _, _, _):
            return "1: cannot read YAML: \(problem)"
        default:
            return "1: cannot read YAML: \(e)"
        }
    }

    /// Typed access to YAML nodes with errors that name the file, line and field.
    struct Reader {
        let file: String

        func error(_ node: Node, _ field: String, _ problem: String) -> EngineError {
            let line = node.mark.map { "\($0.line)" } ?? "1"
            return EngineError(.badInput, "\(file):\(line): \(field): \(problem)")
        }

        func kind(_ node: Node) -> String {
            switch node {
            case .scalar: "a scalar '\(node.string ?? "")'"
            case .mapping: "a mapping"
            case .sequence: "a list"
            case .alias: "an alias"
            }
        }

        /// A mapping whose keys are all among `keys`, as a dictionary of key → value.
        func mapping(_ node: Node, _ field: String, keys: [String]) throws(EngineError) -> [String: Node] {
            guard let m = node.mapping else { throw error(node, field, "expected a mapping, found \(kind(node))") }
            var out: [String: Node] = [:]
            for (k, v) in m {
                guard let key = k.string else { throw error(k, field, "keys must be strings") }
                guard keys.contains(key) else {
                    throw error(
                        k, field == "pipeline" ? key : "\(field).\(key)",
                        "unknown field (expected one of \(keys.joined(separator: ", ")))")
                }
                out[key] = v
            }
            return out
        }

        func string(_ m: [String: Node], _ key: String, in parent: Node, path: String? = nil) throws(EngineError)
            -> String
        {
            guard let v = m[key] else { throw error(parent, path ?? key, "missing required field") }
            guard v.scalar != nil, let s = v.string, !s.isEmpty else {
                throw error(
                    v, path ?? key, "expected a non-empty string, found \(v.scalar == nil ? kind(v) : "nothing")")
            }
            return s
        }

        func optionalString(_ m: [String: Node], _ key: String, path: String? = nil) throws(EngineError) -> String? {
            guard let v = m[key] else { return nil }
            guard v.scalar != nil, let s = v.string else {
                throw error(v, path ?? key, "expected a string, found \(kind(v))")
            }
            return s.isEmpty ? nil : s
        }

        func checkName(_ s: String, field: String, node: Node) throws(EngineError) {
            if s.contains(where: { $0 == " " || $0 == "/" || $0.isNewline }) {
                throw error(node, field, "'\(s)' is not a valid environment name (no spaces, slashes or newlines)")
            }
        }
    }
}
