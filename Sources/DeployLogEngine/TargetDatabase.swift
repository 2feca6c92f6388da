public import DeployLogPostgres
import Foundation
public import Logging

/// A deployment target (an environment's database): one connection holding the engine's
/// advisory lock while it works, so that two deploys to one database never run at once, and a
/// fresh connection for each piece of SQL it runs (`run`).
///
/// The lock's connection runs nothing but the lock: SQL on it could drop the lock (`DISCARD
/// ALL`, `pg_advisory_unlock_all()`) while `isLocked` stays true, and a waiting run would then
/// take the lock, find the migration "running", record it interrupted and run it again beside
/// this one. A new connection per migration also gives each one the session the URL describes,
/// whatever the one before it did with `SET search_path`, `SET ROLE` or
/// `session_replication_role`: a reset after each could miss state (`DISCARD ALL` cannot run
/// in a transaction, and `RESET ALL` leaves the role), and the connection costs a few ms next to
/// a migration.
///
/// Blocking, like `PostgresConnection`: use it from one thread, not from Swift's shared pool.
public final class TargetDatabase {
    /// The advisory lock key every deploylog run takes on a target: "deploylog" in the key space
    /// of `pg_advisory_lock(bigint)`.
    public static let lockKey: Int64 = 0x6465_706C_6F79_6C67

    /// The connection that takes and holds the lock; it runs nothing else.
    public let connection: PostgresConnection
    /// The URL as given (with its password, if any): each `run` connects with it. Never shown.
    private let url: String
    private let logger: Logger?
    /// The database role the connections log in as (`current_user` when the lock was taken; every
    /// `run` logs in with the same URL): who applied a migration.
    public private(set) var role = ""
    public private(set) var isLocked = false

    /// libpq parameters of every connection the engine makes to a target (migrations, rollbacks,
    /// health checks) unless the URL sets its own: the store's (`PostgresConnection.timeouts`).
    /// A server that vanished mid-migration then fails the run within about a minute instead
    /// of hanging it while it holds the lock; a long `CREATE INDEX CONCURRENTLY` still runs.
    public static let connectionDefaults = PostgresConnection.timeouts

    /// Connects (with `connectionDefaults`). The URL's password, if any, is used and never
    /// shown; without one libpq reads `PGPASSWORD` or `~/.pgpass`.
    public init(url: String, logger: Logger? = nil) throws(EngineError) {
        self.url = url
        self.logger = logger
        do {
            connection = try PostgresConnection(url, defaults: Self.connectionDefaults, logger: logger)
        } catch let e as PostgresError {
            throw EngineError(.unavailable, "target database: \(e.message)")
        } catch {
            throw EngineError(.unavailable, "target database \(PostgresURL.redacted(url)): \(error)")
        }
    }

    deinit { unlock() }

    /// The redacted address, for messages.
    public var address: String { connection.address }

    /// Takes the lock, waiting up to `timeout` seconds for another run to release it. Polls
    /// with `pg_try_advisory_lock` instead of blocking in `pg_advisory_lock`: a waiter that sat
    /// in one long statement would hold a snapshot that the holder's `CREATE INDEX
    /// CONCURRENTLY` must wait for, and the two would wait on each other.
    public func lock(timeout: Double = 300, environment: String) throws(EngineError) {
        let deadline = Date().addingTimeInterval(timeout)
        var pause = 0.02
        while true {
            do {
                let rows = try connection.query(
                    "SELECT pg_try_advisory_lock($1), current_user::text", [.int8(Self.lockKey)])
                if try rows[0].bool(0) {
                    role = try rows[0].string(1)
                    isLocked = true
                    return
                }
            } catch let e as PostgresError {
                throw EngineError(.unavailable, "target database \(address): \(e.message)", sqlState: e.sqlState)
            } catch {
                throw EngineError(.unavailable, "target database \(address): \(error)")
            }
            if Date() >= deadline {
                throw EngineError(
                    .unavailable,
                    "another deploy holds the deploylog lock on \(address) (environment \(environment)); gave up after \(Int(timeout)) s"
                )
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.25)
        }
    }

    /// Releases the lock (closing the connection releases it too).
    public func unlock() {
        guard isLocked else { return }
        isLocked = false
        _ = try? connection.query("SELECT pg_advisory_unlock($1)", [.int8(Self.lockKey)])
    }

    /// Runs migration SQL as written, on a connection of its own that is closed afterwards (see
    /// the type's comment): the lock's connection never runs it, and nothing it sets reaches
    /// the next call. `transactional`: the whole text in one transaction.
    /// Otherwise each statement on its own (split as psql splits them), outside any
    /// transaction, as `CREATE INDEX CONCURRENTLY` requires; a failure leaves the statements
    /// before it done.
    ///
    /// Migrations with transaction control are refused before they run
    /// (`MigrationFile.refuseTransactionControl`); SQL recorded before that was checked, or
    /// a `CALL` that commits, is caught here: a transactional migration must leave the
    /// transaction open for the engine's COMMIT, and any other must leave none open (closing
    /// the connection would roll it back after its work was recorded as applied). Either
    /// mistake is an error, so the migration is recorded as failed, not applied.
    public func run(sql: String, transactional: Bool) throws(PostgresError) {
        do {
            let connection = try PostgresConnection(url, defaults: Self.connectionDefaults, logger: logger)
            defer { connection.close() }
            if transactional {
                // BEGIN and the SQL in one simple query. After an error the server skips the
                // rest and the transaction is left aborted: roll it back.
                do {
                    _ = try connection.execute(script: "BEGIN;\n" + sql)
                } catch {
                    if connection.isInTransaction { _ = try? connection.execute(script: "ROLLBACK") }
                    throw error
                }
                guard connection.isInTransaction else {
                    throw PostgresError(
                        .client,
                        "the SQL ended the transaction deploylog opened for it (a COMMIT or ROLLBACK): what it did before may be committed or undone",
                        statement: "COMMIT")
                }
                _ = try connection.execute(script: "COMMIT")
            } else {
                for statement in SQLScript.statements(in: sql) { _ = try connection.execute(script: statement) }
                guard !connection.isInTransaction else {
                    _ = try? connection.execute(script: "ROLLBACK")
                    throw PostgresError(
                        .client,
                        "the SQL left a transaction open (a BEGIN without COMMIT): it was rolled back, undoing the statements after the BEGIN",
                        statement: "ROLLBACK")
                }
            }
        } catch let e as PostgresError {
            throw e
        } catch {
            throw PostgresError(.client, "\(error)")
        }
    }
}
