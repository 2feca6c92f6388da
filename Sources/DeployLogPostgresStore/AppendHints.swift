import DeployLogEvents
import DeployLogStore
import Foundation

/// What the store last learnt of the log under the writers' lock (the head, and the last
/// version of streams it wrote to or looked up): the guess a small append computes its rows
/// from before it takes the lock, so that it needs one round trip (see
/// `PostgresStore+Append.swift`). Only a guess: the server checks it under the lock and the
/// rows are written only if it holds, so a stale or wrong hint costs a round trip, never a
/// wrong row. Shared by the store's threads.
final class AppendHints: @unchecked Sendable {
    /// Streams remembered at most; past it they are forgotten (and guessed empty).
    static let maxStreams = 4096

    private let lock = NSLock()
    private var head: Int64 = 0
    private var headHash = ChainHash.genesis
    private var versions: [String: Int64] = [:]

    /// The state `events` assume: the head as last seen, no id stored, and for each stream
    /// its version before the call — the one the first event for it expects when it names one
    /// (`exact`, `noStream`), or else the last one seen (none when never seen). Not
    /// `exact(Int64.max)`: no stream can be at it (it has no next version), so the append is
    /// sure to conflict, and it is left to the locked path to say with what.
    func assumption(for events: [ProposedEvent]) -> PostgresStore.Locked {
        lock.lock()
        defer { lock.unlock() }
        var assumed = PostgresStore.Locked(head: head, headHash: headHash, stored: [:], versions: [:])
        var seen = Set<String>()
        for e in events where seen.insert(e.stream).inserted {
            switch e.expectedVersion {
            case .exact(let v) where v < .max: assumed.versions[e.stream] = v
            case .exact: break
            case .noStream: break
            case .any: if let v = versions[e.stream] { assumed.versions[e.stream] = v }
            }
        }
        return assumed
    }

    /// Remembers the log as a writer saw it under the lock: the head, and the last version of
    /// each of `streams` (absent from `versions`: the stream has no event).
    func learn(head: Int64, hash: Digest, streams: some Sequence<String>, versions known: [String: Int64]) {
        lock.lock()
        defer { lock.unlock() }
        self.head = head
        headHash = hash
        if versions.count > Self.maxStreams { versions.removeAll(keepingCapacity: true) }
        for s in streams { versions[s] = known[s] }
    }
}
