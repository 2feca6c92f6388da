public import DeployLogEvents
public import DeployLogStore
import Foundation

extension PostgresStore {
    /// A catch-up subscription by polling: every matching event from `position` (history), then
    /// new ones, by any writer, within `pollInterval` of their commit; in order and once each.
    /// `handler` runs on the subscription's own thread and returns false to stop. Positions are
    /// committed in order, so a poll that read up to the head it saw never has to look back.
    public func subscribe(
        from position: Int64, filter: EventFilter = EventFilter(), pollInterval: Double = 0.1,
        handler: @escaping @Sendable (RecordedEvent) throws -> Bool
    ) -> Subscription {
        let sub = Subscription(from: max(position, 1))
        let thread = Thread { [self] in
            var next = max(position, 1)
            do {
                while !sub.isCancelled {
                    var stop = false
                    var delivered = 0
                    let examined = try readExamining(from: next, filter: filter, limit: 10_000) { e in
                        if sub.isCancelled { stop = true; return false }
                        if try !handler(e) { stop = true; return false }
                        sub.advance(to: e.position)
                        delivered += 1
                        return true
                    }
                    if stop { break }
                    let moved = examined >= next
                    next = max(next, examined + 1)
                    sub.advance(to: examined)
                    if !moved && delivered == 0 {
                        // Nothing new: wait, in short steps so that `cancel` is prompt.
                        let until = Date(timeIntervalSinceNow: pollInterval)
                        while !sub.isCancelled, Date() < until {
                            Thread.sleep(forTimeInterval: min(0.01, max(0, until.timeIntervalSinceNow)))
                        }
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
