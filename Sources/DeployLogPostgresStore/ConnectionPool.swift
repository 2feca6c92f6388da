import DeployLogPostgres
import Foundation
import Logging

/// The store's connections: one is taken for each operation and given back after it, so that
/// concurrent appends and reads of one store (threads, a subscription, a read whose handler
/// calls the store again) never share a connection. A connection that broke, or was left in a
/// transaction, is closed instead of kept.
final class ConnectionPool: @unchecked Sendable {
    private let url: String
    private let logger: Logger?
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    /// Idle connections kept at most.
    static let keep = 8

    init(url: String, logger: Logger?, first: PostgresConnection? = nil) {
        self.url = url
        self.logger = logger
        if let first { idle.append(first) }
    }

    /// Runs `body` with a connection of its own.
    func with<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try take()
        do {
            let result = try body(connection)
            give(connection)
            return result
        } catch {
            if connection.isInTransaction { _ = try? connection.execute(script: "ROLLBACK") }
            give(connection)
            throw error
        }
    }

    /// An idle connection that is still alive, else a new one. After a server restart or a
    /// failover every idle connection is dead: each is found so here (one non-blocking read,
    /// `isAlive`) and closed, rather than failing the operation that took it.
    private func take() throws -> PostgresConnection {
        while true {
            lock.lock()
            let connection = idle.popLast()
            lock.unlock()
            guard let connection else { break }
            if connection.isAlive() { return connection }
            logger?.debug("dropping a pooled connection the server closed")
            connection.close()
        }
        return try Self.connect(url, logger: logger)
    }

    /// A new connection, set up for the store.
    ///
    /// Prepared statements always run their generic plan. Every statement the store prepares
    /// is a look-up by a unique index or a range of positions, whose generic plan is the right
    /// one; left to choose, PostgreSQL plans some again on every execution (an array parameter
    /// makes each custom plan look cheaper), which costs more than running them. (Filtered
    /// reads are not prepared: they are planned for their values.)
    ///
    /// Every transaction is READ COMMITTED, whatever the database, the role or the URL
    /// (`options=-c default_transaction_isolation=…`) made the default: the writers' ordering
    /// needs each statement's snapshot taken after the lock is granted (see
    /// `PostgresStore+Append.swift`). Under REPEATABLE READ or SERIALIZABLE the snapshot is
    /// taken before the wait, so concurrent writers clash on positions, fail to serialise, and
    /// report a concurrent retry of an id as a conflict. Set for the session, so that it also
    /// covers the implicit transaction of a one-round-trip append, which has no BEGIN. No read
    /// needs more: each page is one statement, and rows at or below the head never change.
    ///
    /// Both are made again if the session is reset behind the store's back (`DISCARD ALL`,
    /// see `PostgresConnection.setUpSession`).
    ///
    /// A server that vanishes without closing the connection is noticed within about a minute
    /// (`PostgresConnection.timeouts`, unless the URL sets them).
    static func connect(_ url: String, logger: Logger?) throws -> PostgresConnection {
        let connection = try PostgresConnection(url, defaults: PostgresConnection.timeouts, logger: logger)
        try connection.setUpSession(
            "SET plan_cache_mode = force_generic_plan; SET default_transaction_isolation = 'read committed'")
        return connection
    }

    private func give(_ connection: PostgresConnection) {
        guard connection.isOpen, !connection.isInTransaction else {
            connection.close()
            return
        }
        lock.lock()
        defer { lock.unlock() }
        if idle.count < Self.keep { idle.append(connection) } else { connection.close() }
    }

    /// Closes every idle connection (the store is going away).
    func closeAll() {
        lock.lock()
        let all = idle
        idle = []
        lock.unlock()
        for c in all { c.close() }
    }
}
