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
        var result: Result<AppendResult, StoreError>?
        /// Signalled when `result` is set, or when this request's thread is to lead.
        let wake = DispatchSemaphore(value: 0)
        init(_ events: [ProposedEvent]) { self.events = events }
    }

    private let lock = NSCondition()
    private var queue: [Request] = []
    private var leaderActive = false
    /// Requests in the last group, and whether the leader is waiting for that many.
    private var lastGroupSize = 0
    private var gathering = false

    func submit(_ request: Request, maxEvents: Int, process: ([Request]) -> Void) -> Result<AppendResult, StoreError> {
        lock.lock()
        queue.append(request)
        if gathering && queue.count >= lastGroupSize { lock.signal() }
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
        // The threads of the last group need a moment to come back with their next request:
        // when it had company, wait briefly (at most 400 µs, like PostgreSQL's commit_delay)
        // for as many, so that one sync serves them all.
        if lastGroupSize > 1 && queue.count < lastGroupSize {
            gathering = true
            let deadline = Date(timeIntervalSinceNow: 0.000_4)
            while queue.count < lastGroupSize, lock.wait(until: deadline) {}
            gathering = false
        }
        // Lead: take what is queued (this request is among it), write it, wake those served.
        var batch = [Request]()
        var count = 0
        while !queue.isEmpty, batch.isEmpty || count + queue[0].events.count <= maxEvents {
            let r = queue.removeFirst()
            count += r.events.count
            batch.append(r)
        }
        lastGroupSize = batch.count
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
