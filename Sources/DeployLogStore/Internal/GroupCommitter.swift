import DeployLogEvents
import Foundation

/// Leader/follower group commit: every appending thread queues its request; whichever thread
/// finds no leader becomes it, takes everything queued, writes it with one write and one sync,
/// then wakes exactly the threads it served, and hands leadership to the first thread still
/// waiting, if any. (Waking only those, not every waiter, matters on few cores.) Requests that
/// arrive while a leader is syncing form the next group.
final class GroupCommitter: @unchecked Sendable {
    final class Request {
        let events: [ProposedEvent]
        /// Events recorded elsewhere, to store as they are (`importRecorded`), instead of `events`.
        let imported: [RecordedEvent]?
        var result: Result<AppendResult, StoreError>?
        /// Signalled when `result` is set, or when this request's thread is to lead.
        let wake = DispatchSemaphore(value: 0)
        init(_ events: [ProposedEvent]) {
            self.events = events
            imported = nil
        }
        init(imported: [RecordedEvent]) {
            events = []
            self.imported = imported
        }
        var count: Int { imported?.count ?? events.count }
    }

    private let lock = NSCondition()
    private var queue: [Request] = []
    private var leaderActive = false
    /// How many requests a leader waits for, whether it is waiting, and groups written.
    private var target = 1
    private var gathering = false
    private var groups: UInt64 = 0

    func submit(_ request: Request, maxEvents: Int, process: ([Request]) -> Void) -> Result<AppendResult, StoreError> {
        lock.lock()
        queue.append(request)
        if gathering && queue.count >= target { lock.signal() }
        if leaderActive {
            lock.unlock()
            request.wake.wait()
            lock.lock()
            // Either served by a leader, or handed the lead (result still nil).
            if let result = request.result {
                lock.unlock()
                return result
            }
        } else {
            leaderActive = true
        }
        // The appenders of the last group need a moment to come back with their next request:
        // when appends overlap, wait briefly (at most 400 µs, like PostgreSQL's commit_delay)
        // until as many are queued as the group size that worked, so one sync serves them all.
        // The size adapts: it drops to what came when the wait times out, and now and then
        // tries one more.
        if target > 1 && queue.count < target {
            gathering = true
            let deadline = Date(timeIntervalSinceNow: 0.000_4)
            while queue.count < target, lock.wait(until: deadline) {}
            gathering = false
            if queue.count < target { target = max(1, queue.count) }
        }
        groups &+= 1
        if queue.count > target {
            target = queue.count
        } else if groups % 16 == 0 && queue.count > 1 {
            target = queue.count + 1  // a lone appender never waits
        }
        // Lead: take what is queued (this request is among it), write it, wake those served.
        var batch = [Request]()
        var count = 0
        while !queue.isEmpty, batch.isEmpty || count + queue[0].count <= maxEvents {
            let r = queue.removeFirst()
            count += r.count
            batch.append(r)
        }
        lock.unlock()
        process(batch)
        lock.lock()
        if let next = queue.first {
            next.wake.signal()  // it leads next; `leaderActive` stays true
        } else {
            leaderActive = false
        }
        lock.unlock()
        for r in batch where r !== request { r.wake.signal() }
        // `process` set every result of the batch, this request's among them.
        return request.result!
    }
}
