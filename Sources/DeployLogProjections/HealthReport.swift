public import DeployLogEvents

/// The document the seed's `get_deployment_health()` means to build, as of an instant, without
/// its bugs: today's (UTC) pipelines by status, those running, the average minutes of pipelines
/// completed in the last 7 days, per environment its last finished deployment (the latest
/// `completed_at`, not an aggregate beside ungrouped columns), and the last ten rollbacks of the
/// last 7 days, newest first. Keys are the seed's.
public enum HealthReport {
    public static func json(_ m: MetricsProjector, asOf: Timestamp) -> JSONValue {
        let day: Int64 = 86_400_000_000
        let us = asOf.microseconds
        let todayStart = us - ((us % day) + day) % day
        let weekStart = us - 7 * day
        var today = (total: 0, completed: 0, failed: 0, rolledBack: 0)
        var running = 0
        var weekDurations: [Int64] = []
        // Per environment: the pipeline with the latest completion, and how many are running.
        var last: [String: (p: MetricsProjector.PipelineFacts, status: String, at: Timestamp)] = [:]
        var inFlight: [String: Int] = [:]
        for p in m.pipelines where p.startedAt <= asOf {
            let (status, completedAt) = p.status(asOf: asOf)
            if p.startedAt.microseconds >= todayStart {
                today.total += 1
                switch status {
                case "completed": today.completed += 1
                case "failed": today.failed += 1
                case "rolled_back": today.rolledBack += 1
                default: break
                }
            }
            guard let completedAt else {
                running += 1
                inFlight[p.environment, default: 0] += 1
                continue
            }
            if status == "completed", completedAt.microseconds > weekStart {
                weekDurations.append(completedAt.microseconds - p.startedAt.microseconds)
            }
            if let l = last[p.environment], (l.at, l.p.serial) >= (completedAt, p.serial) { continue }
            last[p.environment] = (p, status, completedAt)
        }
        let environments = Set(last.keys).union(inFlight.keys).sorted()
        let environmentStatus: [JSONValue] = environments.map { env in
            let l = last[env]
            return .object(
                JSONObject([
                    ("environment", .string(env)), ("last_deployment", .time(l?.at)),
                    ("last_status", .text(l?.status)), ("is_healthy", .bool(l?.status == "completed")),
                    ("pipeline_id", .text(l?.p.pipelineId)), ("pipeline_version", .text(l?.p.pipelineVersion)),
                    ("active_deployments", .int(inFlight[env] ?? 0)),
                ]))
        }
        let recent = m.rollbacks.filter { $0.startedAt <= asOf && $0.startedAt.microseconds > weekStart }
            .sorted { $0.startedAt > $1.startedAt }
            .prefix(10)
        let rollbacks: [JSONValue] = recent.map { r in
            let done = r.endedAt.map { $0 <= asOf } ?? false
            return .object(
                JSONObject([
                    ("pipeline_id", r.pipelineSerial.map { .int($0) } ?? .null), ("pipeline_uuid", .text(r.pipelineId)),
                    ("rollback_id", .string(r.rollbackId)), ("environment", .string(r.environment)),
                    ("rollback_reason", .string(r.reason)), ("rollback_type", .string(r.rollbackType)),
                    ("rollback_status", .string(done ? r.status : "running")), ("started_at", .time(r.startedAt)),
                ]))
        }
        let avgMinutes: JSONValue =
            weekDurations.isEmpty
            ? .null
            : .decimal(Double(weekDurations.reduce(0, +)) / Double(weekDurations.count) / 60e6, places: 2)
        return .object(
            JSONObject([
                ("as_of", .time(asOf)),
                (
                    "deployment_health",
                    .object(
                        JSONObject([
                            ("total_deployments_today", .int(today.total)),
                            ("successful_deployments_today", .int(today.completed)),
                            ("failed_deployments_today", .int(today.failed)),
                            ("rolled_back_deployments_today", .int(today.rolledBack)),
                            ("active_deployments", .int(running)),
                            ("avg_deployment_time_minutes", avgMinutes),
                        ]))
                ),
                ("environment_status", .array(environmentStatus)),
                ("recent_rollbacks", .array(rollbacks)),
            ]))
    }
}
