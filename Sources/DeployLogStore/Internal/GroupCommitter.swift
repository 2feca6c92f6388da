import DeployLogEvents
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Leader/follower group commit: every appending thread queues its request; whichever thread
/// finds no leader becomes it, takes everything queued, writes it with one write and one sync,
/// then wakes exactly the threads it served, and hands leadership to the first thread still
/// waiting, if any. (Waking only those, not every waiter, matters on few cores.) Requests that
/// arrive while a leader is syncing form the next group.
///
/// A leader that waits for the rest of its group ("gathering") does not wait to be woken when
/// the group is complete: the thread whose request completes it takes the lead on the spot,
/// and the gatherer finds its request served like any follower. A served thread reads its
/// result without taking the lock (the semaphore orders the leader's write before its read).
final class GroupCommitter: @unchecked Sendable {
    final class Request {
        let events: [ProposedEvent]
        /// Set by the leader that served this request, before `wake` is signalled.
        var result: Result<AppendResult, StoreError>?
        /// Woken (`wakeUp`) when `result` is set, or when this request's thread is to lead.
        private let wake = DispatchSemaphore(value: 0)
        /// 0: not woken, nobody asleep; 1: the thread sleeps on `wake`; 2: woken, not yet seen.
        private let wakeState = Atomic<Int>(0)
        /// Events recorded elsewhere, to store as they are (`importRecorded`), instead of `events`.
        let imported: [RecordedEvent]?
        init(_ events: [ProposedEvent]) {
            self.events = events
            imported = nil
        }
        init(imported: [RecordedEvent]) {
            events = []
            self.imported = imported
        }
        var count: Int { imported?.count ?? events.count }

        /// Wakes this request's thread (once per wait); the semaphore only if it sleeps.
        func wakeUp() {
            if wakeState.exchange(2, ordering: .acquiringAndReleasing) == 1 { wake.signal() }
        }

        /// Waits for `wakeUp`. A follower first spins, yielding the processor, for about as long
        /// as a group's write and sync take: it then sees its result the moment the leader sets
        /// it, with no futex wake and no trip through the scheduler per follower (that hand-off
        /// was a third of an eight-appender cycle on two cores). Then it sleeps.
        func awaitWake(spinNanoseconds: UInt64) {
            if spinNanoseconds > 0 {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while true {
                    if wakeState.load(ordering: .acquiring) == 2 {
                        wakeState.store(0, ordering: .relaxed)
                        return
                    }
                    sched_yield()
                    spins &+= 1
                    if spins & 15 == 0 && DispatchTime.now().uptimeNanoseconds &- start > spinNanoseconds { break }
                }
            }
            if wakeState.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
                wake.wait()
            }
            // `wakeUp` set 2 (and signalled, having seen 1).
            _ = wakeState.load(ordering: .acquiring)
            wakeState.store(0, ordering: .relaxed)
        }

        /// Waits for `wakeUp` at most `microseconds`; false when it timed out, in which case no
        /// wake-up is pending (a later `wakeUp` is seen by the next wait).
        func awaitWake(timeoutMicroseconds microseconds: Int) -> Bool {
            guard wakeState.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged else {
                wakeState.store(0, ordering: .relaxed)  // already woken
                return true
            }
            if wake.wait(timeout: .now() + .microseconds(microseconds)) == .success {
                _ = wakeState.load(ordering: .acquiring)
                wakeState.store(0, ordering: .relaxed)
                return true
            }
            if wakeState.compareExchange(expected: 1, desired: 0, ordering: .acquiringAndReleasing).exchanged {
                return false
            }
            // `wakeUp` came between the time-out and now: it signals (or has signalled) `wake`.
            wake.wait()
            wakeState.store(0, ordering: .relaxed)
            return true
        }
    }

    private let lock = NSLock()
    private var queue: [Request] = []
    private var leaderActive = false
    /// How many requests a leader waits for, and groups written.
    private var target = 1
    private var groups: UInt64 = 0
    /// Requests written, and groups written (for the benchmark's average group size).
    private var served: UInt64 = 0
    private var written: UInt64 = 0

    /// Groups written and the requests they served, so far.
    var statistics: (groups: UInt64, requests: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        return (written, served)
    }
    /// The request of the leader that is gathering its group, if one is.
    private var gatherer: Request?
    /// How long a gathering leader waits at most (like PostgreSQL's commit_delay).
    private static let gatherMicroseconds = 400
    /// How long a follower spins before it sleeps (a little more than a group's write and sync).
    private static let spinNanoseconds: UInt64 = 600_000

    func submit(_ request: Request, maxEvents: Int, process: ([Request]) -> Void) -> Result<AppendResult, StoreError> {
        lock.lock()
        queue.append(request)
        var leading: Bool
        if !leaderActive {
            leaderActive = true
            leading = true
        } else if gatherer != nil && queue.count >= target {
            // This request completes the gathering leader's group: lead it now instead of
            // waking the gatherer (whose request is in the group and will be served).
            gatherer = nil
            leading = true
        } else {
            leading = false
        }
        while true {
            if !leading {
                lock.unlock()
                request.awaitWake(spinNanoseconds: Self.spinNanoseconds)
                if let result = request.result { return result }
                lock.lock()  // handed the lead
                leading = true
            }
            // The appenders of the last group need a moment to come back with their next
            // request: when appends overlap, wait briefly until as many are queued as the group
            // size that worked, so one sync serves them all. The size adapts: it drops to what
            // came when the wait times out, and now and then tries one more.
            guard target > 1 && queue.count < target else { break }
            gatherer = request
            lock.unlock()
            let timedOut = !request.awaitWake(timeoutMicroseconds: Self.gatherMicroseconds)
            lock.lock()
            if gatherer === request {
                // Nobody completed the group: lead with what came.
                gatherer = nil
                if queue.count < target { target = max(1, queue.count) }
                break
            }
            // Another thread took the lead. Unless its signal already came, wait for it.
            if timedOut {
                leading = false
            } else if let result = request.result {
                lock.unlock()
                return result
            }
        }
        while true {
            groups &+= 1
            if queue.count > target {
                target = queue.count
            } else if groups % 16 == 0 && queue.count > 1 {
                target = queue.count + 1  // a lone appender never waits
            }
            // Lead: take what is queued, write it, wake those served.
            var batch = [Request]()
            var count = 0
            while !queue.isEmpty, batch.isEmpty || count + queue[0].count <= maxEvents {
                let r = queue.removeFirst()
                count += r.count
                batch.append(r)
            }
            written &+= 1
            served &+= UInt64(batch.count)
            lock.unlock()
            process(batch)
            lock.lock()
            // A leader that took the lead from a gatherer may not fit in the group it wrote
            // (`maxEvents`): then it writes the next one too.
            if request.result != nil {
                if let next = queue.first {
                    next.wakeUp()  // it leads next; `leaderActive` stays true
                } else {
                    leaderActive = false
                }
            }
            lock.unlock()
            for r in batch where r !== request { r.wakeUp() }
            if request.result != nil { break }
            lock.lock()
        }
        // `process` set every result of the batch, this request's among them.
        return request.result!
    }
}
