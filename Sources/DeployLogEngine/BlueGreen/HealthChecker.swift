public import DeployLogEvents
public import DeployLogPostgres
import Foundation
public import Logging

/// The health checks of a database, as the seed's `perform_health_checks` means them (with its
/// errata fixed): connectivity; a real query; slow statements from `pg_stat_statements`
/// (`mean_exec_time`, PostgreSQL 13+) where the extension is installed, a WARNING where it is
/// not. A check that cannot pass is FAIL; WARNING never makes the database unhealthy.
///
/// Blocking (libpq): call it off Swift's shared pool.
public enum HealthChecker {
    /// Runs the checks against `url` in order; without a connection only the connectivity
    /// check is reported.
    public static func run(url: String, options: HealthCheckOptions, logger: Logger? = nil) -> [HealthCheck] {
        let clock = ContinuousClock()
        var checks: [HealthCheck] = []
        var started = clock.now

        let connection: PostgresConnection
        do {
            connection = try connect(url, logger: logger)
            try connection.query("SELECT 1")
        } catch {
            checks.append(
                HealthCheck(
                    name: "database_connectivity", status: .fail,
                    detail: "cannot connect to \(PostgresURL.redacted(url)): \(message(error))",
                    durationMs: ms(clock.now - started)))
            return checks
        }
        defer { connection.close() }
        checks.append(
            HealthCheck(
                name: "database_connectivity", status: .pass,
                detail: "connected to \(PostgresURL.redacted(url)) (server \(connection.serverVersion / 10000))",
                durationMs: ms(clock.now - started)))

        // The query runs read-only, with a time limit: a health check never changes the database.
        started = clock.now
        do {
            try connection.query("SET statement_timeout = 10000")
            try connection.query("SET default_transaction_read_only = on")
            let rows = try connection.query(options.query)
            checks.append(
                HealthCheck(
                    name: "application_query", status: .pass,
                    detail: "\(oneLine(options.query)): \(rows.count) row\(rows.count == 1 ? "" : "s")",
                    durationMs: ms(clock.now - started)))
        } catch {
            checks.append(
                HealthCheck(
                    name: "application_query", status: .fail, detail: "\(oneLine(options.query)): \(message(error))",
                    durationMs: ms(clock.now - started)))
        }

        started = clock.now
        do {
            let installed = try connection.query(
                "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1", [.text("pg_stat_statements")])
            if installed.isEmpty {
                checks.append(
                    HealthCheck(
                        name: "slow_statements", status: .warning,
                        detail: "pg_stat_statements is not installed: slow statements not checked",
                        durationMs: ms(clock.now - started)))
            } else {
                let rows = try connection.query(
                    "SELECT count(*)::int8, coalesce(max(mean_exec_time), 0)::float8 FROM pg_stat_statements WHERE mean_exec_time > $1",
                    [.float8(options.slowStatementMs)])
                let count = try rows[0].int64(0)
                let slowest = try rows[0].double(1)
                let limit = Int(options.slowStatementMs)
                checks.append(
                    HealthCheck(
                        name: "slow_statements", status: count > 0 ? .warning : .pass,
                        detail: count > 0
                            ? "\(count) statement\(count == 1 ? "" : "s") with mean_exec_time above \(limit) ms (slowest \(Int(slowest)) ms)"
                            : "no statement with mean_exec_time above \(limit) ms",
                        durationMs: ms(clock.now - started)))
            }
        } catch {
            checks.append(
                HealthCheck(
                    name: "slow_statements", status: .warning,
                    detail: "pg_stat_statements unreadable: \(message(error))",
                    durationMs: ms(clock.now - started)))
        }
        return checks
    }

    /// The checks' connection, bounded like the engine's other target connections
    /// (`TargetDatabase.connectionDefaults`, unless the URL says otherwise): a check of a host
    /// that does not answer fails in seconds instead of waiting for the operating system.
    package static func connect(_ url: String, logger: Logger? = nil) throws -> PostgresConnection {
        try PostgresConnection(url, defaults: TargetDatabase.connectionDefaults, logger: logger)
    }

    /// Healthy when no check failed.
    public static func isHealthy(_ checks: [HealthCheck]) -> Bool { !checks.contains { $0.status == .fail } }

    /// `name STATUS detail` lines, for a stage's output.
    public static func summary(_ checks: [HealthCheck]) -> String {
        checks.map { "\($0.name) \($0.status.rawValue)\($0.detail.map { ": " + $0 } ?? "")" }.joined(separator: "\n")
    }

    /// The first failed check, as one line.
    public static func problem(_ checks: [HealthCheck]) -> String? {
        checks.first { $0.status == .fail }.map { "\($0.name): \($0.detail ?? "failed")" }
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? PostgresError { return (e.sqlState.map { "SQLSTATE \($0): " } ?? "") + e.message }
        return "\(error)"
    }

    static func oneLine(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(
            separator: " ")
        return flat.count > 100 ? String(flat.prefix(97)) + "..." : flat
    }

    static func ms(_ d: Duration) -> Int64 {
        let (s, attos) = d.components
        return s * 1000 + attos / 1_000_000_000_000_000
    }
}
