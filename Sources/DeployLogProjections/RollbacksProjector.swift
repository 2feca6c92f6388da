public import DeployLogEvents

/// `deployment_rollbacks`: one row per RollbackStarted, `running` until RollbackCompleted or
/// RollbackFailed; `rollback_steps` is the JSON array of its RollbackStepExecuted data, in
/// order. `pipeline_id` is the pipeline's serial id (as `deployment_pipelines.id` numbers them,
/// in order of PipelineStarted); the log's own ids are in the extra columns.
public struct RollbacksProjector: Projector {
    public static let name = "rollbacks"
    public static let version = 1

    public struct Rollback: Sendable, Equatable {
        public var id: Int
        public var rollbackId: String
        public var environment: String
        /// The serial id of the pipeline rolled back, when it names one that started.
        public var pipelineSerial: Int?
        public var pipelineId: String?
        public var rollbackReason: String
        public var rollbackType: String
        public var previousVersion: String?
        public var targetVersion: String?
        public var targetPosition: Int64?
        public var rollbackStatus: String
        public var startedAt: Timestamp
        public var completedAt: Timestamp?
        public var rollbackSteps: [JSONValue]
        public var errorMessage: String?
        public var lastPosition: Int64
    }

    public private(set) var rollbacks: [Rollback] = []
    private var index: [String: Int] = [:]
    private var pipelineSerials = SerialIDs()

    public init() {}

    public func rollback(_ rollbackId: String) -> Rollback? { index[rollbackId].map { rollbacks[$0] } }

    public mutating func apply(_ e: ProjectedEvent) {
        let d = e.data
        switch e.kind {
        case .pipelineStarted:
            if let p = d.string("pipelineId") { _ = pipelineSerials.id(for: p) }
        case .rollbackStarted:
            guard let id = d.string("rollbackId") else { return }
            let pipelineId = d.string("pipelineId")
            let row = Rollback(
                id: index[id].map { rollbacks[$0].id } ?? rollbacks.count + 1, rollbackId: id,
                environment: d.string("environment") ?? "", pipelineSerial: pipelineId.flatMap { pipelineSerials[$0] },
                pipelineId: pipelineId, rollbackReason: d.string("reason") ?? "",
                rollbackType: d.string("rollbackType") ?? "", previousVersion: d.string("previousVersion"),
                targetVersion: d.string("targetVersion"), targetPosition: d.int("targetPosition"),
                rollbackStatus: "running", startedAt: e.occurredAt, completedAt: nil, rollbackSteps: [],
                errorMessage: nil, lastPosition: e.position)
            if let i = index[id] {
                rollbacks[i] = row
            } else {
                index[id] = rollbacks.count
                rollbacks.append(row)
            }
        case .rollbackStepExecuted, .rollbackCompleted, .rollbackFailed:
            guard let id = d.string("rollbackId"), let i = index[id] else { return }
            switch e.kind {
            case .rollbackStepExecuted:
                var step = d.object
                step.removeValue(forKey: "rollbackId")
                step["executedAt"] = .string(e.occurredAt.canonicalText)
                rollbacks[i].rollbackSteps.append(.object(step))
            case .rollbackCompleted:
                rollbacks[i].rollbackStatus = "completed"
                rollbacks[i].completedAt = e.occurredAt
            default:
                rollbacks[i].rollbackStatus = "failed"
                rollbacks[i].completedAt = e.occurredAt
                rollbacks[i].errorMessage = d.string("error")
            }
            rollbacks[i].lastPosition = e.position
        default: break
        }
    }

    public static let columns = [
        "id", "pipeline_id", "rollback_reason", "rollback_type", "previous_version", "target_version",
        "rollback_status", "started_at", "completed_at", "rollback_steps", "error_message",
        // Extra columns.
        "rollback_id", "environment", "pipeline_uuid", "target_position", "last_position",
    ]

    public var tables: [Table] {
        [
            Table(
                name: "deployment_rollbacks", columns: Self.columns,
                rows: rollbacks.map { r in
                    [
                        .int(r.id), r.pipelineSerial.map { .int($0) } ?? .null, .string(r.rollbackReason),
                        .string(r.rollbackType), .text(r.previousVersion), .text(r.targetVersion),
                        .string(r.rollbackStatus), .time(r.startedAt), .time(r.completedAt), .array(r.rollbackSteps),
                        .text(r.errorMessage), .string(r.rollbackId), .string(r.environment), .text(r.pipelineId),
                        .int(r.targetPosition), .int(r.lastPosition),
                    ]
                })
        ]
    }
}
