import Dispatch
public import Logging

/// A `PostgresConnection` for async code: the connection lives on its own serial dispatch
/// queue, and `run` hops there, so libpq's blocking calls never hold a thread of Swift's shared
/// task pool. Calls from many tasks run one after another, in the order they arrive.
///
///     let worker = try await PostgresWorker.connect(url)
///     let count = try await worker.run { try $0.query("SELECT count(*) FROM t")[0].int64(0) }
public final class PostgresWorker: Sendable {
    /// The connection string with any password replaced by `***`.
    public let address: String
    private let queue: DispatchQueue
    private let box: Box

    /// Holds the connection; only touched on `queue`, which is what makes sharing it safe.
    private final class Box: @unchecked Sendable {
        var connection: PostgresConnection?
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    private init(connection: PostgresConnection, queue: DispatchQueue) {
        address = connection.address
        self.queue = queue
        box = Box(connection)
    }

    /// Connects on a new queue (the connection is made there, not on the caller's thread).
    public static func connect(_ connectionString: String, logger: Logger? = nil) async throws -> PostgresWorker {
        let queue = DispatchQueue(label: "deploylog.postgres")
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result {
                        PostgresWorker(
                            connection: try PostgresConnection(connectionString, logger: logger), queue: queue)
                    })
            }
        }
    }

    /// Runs `body` with the connection on the worker's queue and returns what it returns.
    /// `body` runs alone on the connection; keep long work in one call (a transaction, a COPY).
    ///
    /// - Throws: what `body` throws, or a `.connection` error once the worker is closed.
    @discardableResult
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let box = box
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                guard let connection = box.connection else {
                    continuation.resume(throwing: PostgresError(.connection, "the worker's connection is closed"))
                    return
                }
                continuation.resume(with: Result { try body(connection) })
            }
        }
    }

    /// Closes the connection after the calls already queued.
    public func close() async {
        let box = box
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                box.connection?.close()
                box.connection = nil
                continuation.resume()
            }
        }
    }
}
