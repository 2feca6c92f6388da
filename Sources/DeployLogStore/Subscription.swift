public import DeployLogEvents
import Foundation

/// A catch-up subscription: delivers every matching event from a position (history), then
/// each new one as it is committed (live), by this process or any other writer, in order and
/// exactly once, on its own thread. Resume after a restart by subscribing from the last
/// position handled + 1.
public final class Subscription: @unchecked Sendable {
    private let cond = NSCondition()
    private var cancelled = false
    private var finished = false
    private var failure: (any Error)?
    private var delivered: Int64

    package init(from position: Int64) { delivered = position - 1 }

    /// Asks the subscription to stop; returns at once.
    public func cancel() {
        cond.lock()
        cancelled = true
        cond.broadcast()
        cond.unlock()
    }

    /// Waits until the subscription has stopped (cancelled, handler returned false, or an
    /// error); rethrows the error.
    public func wait() throws {
        cond.lock()
        while !finished { cond.wait() }
        let f = failure
        cond.unlock()
        if let f { throw f }
    }

    /// The last position examined (delivered or filtered out).
    public var position: Int64 {
        cond.lock()
        defer { cond.unlock() }
        return delivered
    }

    package var isCancelled: Bool {
        cond.lock()
        defer { cond.unlock() }
        return cancelled
    }

    package func finish(_ error: (any Error)?) {
        cond.lock()
        finished = true
        failure = error
        cond.broadcast()
        cond.unlock()
    }

    package func advance(to p: Int64) {
        cond.lock()
        delivered = max(delivered, p)
        cond.unlock()
    }
}

extension FileStore {
    /// Subscribes from `position`; `handler` runs on the subscription's thread and returns
    /// false to stop. New commits of this process wake it at once; other processes' commits
    /// are seen within `pollInterval`.
    public func subscribe(
        from position: Int64, filter: EventFilter = EventFilter(), pollInterval: Double = 0.1,
        handler: @escaping @Sendable (RecordedEvent) throws -> Bool
    ) -> Subscription {
        let sub = Subscription(from: max(position, 1))
        let thread = Thread { [self] in
            var next = max(position, 1)
            do {
                while !sub.isCancelled {
                    stateLock.lock()
                    let seen = state.generation
                    stateLock.unlock()
                    var stop = false
                    let examined = try readExamining(from: next, filter: filter, limit: 10_000) { e in
                        if sub.isCancelled { stop = true; return false }
                        if try !handler(e) { stop = true; return false }
                        sub.advance(to: e.position)
                        return true
                    }
                    if stop { break }
                    next = examined + 1
                    sub.advance(to: examined)
                    stateLock.lock()
                    if state.generation == seen && !sub.isCancelled {
                        _ = stateLock.wait(until: Date(timeIntervalSinceNow: pollInterval))
                    }
                    stateLock.unlock()
                }
                sub.finish(nil)
            } catch {
                sub.finish(error)
            }
        }
        thread.name = "deploylog-subscription"
        thread.start()
        return sub
    }

    /// The same subscription as an async sequence, for in-process consumers.
    public func events(from position: Int64, filter: EventFilter = EventFilter()) -> AsyncThrowingStream<RecordedEvent, any Error> {
        AsyncThrowingStream { continuation in
            let sub = subscribe(from: position, filter: filter) { e in
                if case .terminated = continuation.yield(e) { return false }
                return true
            }
            continuation.onTermination = { _ in sub.cancel() }
            Thread.detachNewThread {
                do {
                    try sub.wait()
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
    }
}
