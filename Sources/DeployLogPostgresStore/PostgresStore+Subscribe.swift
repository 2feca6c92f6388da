public import DeployLogEvents
public import DeployLogStore
import Foundation
import Logging

extension PostgresStore {
    /// A catch-up subscription by polling: every matching event from `position` (history), then
    /// new ones, by any writer, within `pollInterval` of their commit; in order and once each.
    /// `handler` runs on the subscription's own thread and returns false to stop. Positions are
    /// committed in order, so a poll that read up to the head it saw never has to look back.
    ///
    /// A lost connection does not end it: a server restart or failover, a connection the
    /// server ended (errors `unavailable`) — during history or live — is retried after a pause
    /// that doubles from `RetryBackoff.first` up to `RetryBackoff.cap` (back at the start once
    /// a poll succeeds), from the position after the last event handed to `handler`: none is
    /// delivered twice or skipped. Each retry is logged (debug) through the store's logger; the
    /// first of an outage as a warning, with the error, and its end as a notice.
    /// `cancel` is as prompt during a pause as between polls. Any other error — corruption, an
    /// invalid request, `handler` throwing (whatever it throws) — ends the subscription, and
    /// `wait()` rethrows it.
    public func subscribe(
        from position: Int64, filter: EventFilter = EventFilter(), pollInterval: Double = 0.1,
        handler: @escaping @Sendable (RecordedEvent) throws -> Bool
    ) -> Subscription {
        let sub = Subscription(from: max(position, 1))
        let thread = Thread { [self] in
            // The first position neither handed to `handler` nor examined by a poll that ended.
            var next = max(position, 1)
            var backoff = RetryBackoff()
            var inOutage = false
            /// Waits `seconds`, in short steps so that `cancel` is prompt; by the monotonic
            /// clock, so that a wall clock stepped back does not hold new events back.
            func pause(_ seconds: Double) {
                let until = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
                while !sub.isCancelled {
                    let now = DispatchTime.now().uptimeNanoseconds
                    guard now < until else { break }
                    Thread.sleep(forTimeInterval: min(0.01, Double(until - now) / 1e9))
                }
            }
            do {
                while !sub.isCancelled {
                    let start = next
                    var stop = false
                    var delivered = 0
                    // What `handler` threw: kept apart from the read's errors, so that it ends the
                    // subscription even when it is `unavailable`.
                    var handlerFailure: (any Error)?
                    let examined: Int64
                    do {
                        examined = try readExamining(from: start, filter: filter, limit: 10_000) { e in
                            if sub.isCancelled { stop = true; return false }
                            do {
                                if try !handler(e) { stop = true; return false }
                            } catch {
                                handlerFailure = error
                                return false
                            }
                            next = e.position + 1
                            sub.advance(to: e.position)
                            delivered += 1
                            return true
                        }
                    } catch let error as StoreError where error.code == .unavailable {
                        // The events read before the connection was lost were delivered;
                        // `next` is the one after the last of them.
                        if !inOutage {
                            // Once an outage, and its end below: a wrong password or a dropped
                            // database looks the same from here and is retried too, so whoever
                            // follows the log must be told what it waits for.
                            inOutage = true
                            options.logger?.warning(
                                "lost the connection while following the log; retrying until it is back",
                                metadata: ["position": "\(next)", "error": "\(error.message)"])
                        }
                        let delay = backoff.next()
                        options.logger?.debug(
                            "subscription lost its connection; retrying",
                            metadata: [
                                "address": "\(address)", "position": "\(next)", "delay": "\(delay)",
                                "error": "\(error.message)",
                            ])
                        pause(delay)
                        continue
                    }
                    if let handlerFailure { throw handlerFailure }
                    backoff.reset()
                    if inOutage {
                        inOutage = false
                        options.logger?.notice(
                            "the connection is back; following the log again", metadata: ["position": "\(next)"])
                    }
                    if stop { break }
                    let moved = examined >= start
                    next = max(next, examined + 1)
                    sub.advance(to: examined)
                    if !moved && delivered == 0 {
                        // Nothing new: wait, in short steps so that `cancel` is prompt.
                        pause(pollInterval)
                    }
                }
                sub.finish(nil)
            } catch {
                sub.finish(error)
            }
        }
        thread.name = "deploylog-pg-subscription"
        thread.start()
        return sub
    }
}

/// The pauses of a subscription retrying after a lost connection: `first`, doubling up to
/// `cap`; `reset` once a read succeeds. Quick to come back after a brief loss (a connection
/// ended, a failover), without hammering a server that is down for longer.
package struct RetryBackoff: Sendable {
    package static let first = 0.1
    package static let cap = 5.0
    private var current = RetryBackoff.first

    package init() {}

    /// The pause before the next retry, in seconds.
    package mutating func next() -> Double {
        defer { current = min(current * 2, Self.cap) }
        return current
    }

    package mutating func reset() { current = Self.first }
}
