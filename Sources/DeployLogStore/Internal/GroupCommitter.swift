import DeployLogEvents
import Foundation

/// Leader/follower group commit: every appending thread queues its request; whichever thread
/// finds no leader becomes it, takes everything queued, writes it with one write and one sync,
/// and wakes the others with their results. Requests that arrive while a leader is syncing form
/// the next group.
final class GroupCommitter: @unchecked Sendable {
    final class Request {
        let events: [ProposedEvent]
        var result: Result<AppendResult, StoreError>?
        init(_ events: [ProposedEvent]) { self.events = events }
    }

    private let cond = NSCondition()
    private var queue: [Request] = []
    private var leaderActive = false

    func submit(_ request: Request, maxEvents: Int, process: ([Request]) -> Void) -> Result<AppendResult, StoreError> {
        cond.lock()
        queue.append(request)
        while request.result == nil {
            if !leaderActive {
                leaderActive = true
                var batch = [Request]()
                var count = 0
                while !queue.isEmpty, batch.isEmpty || count + queue[0].events.count <= maxEvents {
                    let r = queue.removeFirst()
                    count += r.events.count
                    batch.append(r)
                }
                cond.unlock()
                process(batch)
                cond.lock()
                leaderActive = false
                cond.broadcast()
            } else {
                cond.wait()
            }
        }
        cond.unlock()
        return request.result!
    }
}
