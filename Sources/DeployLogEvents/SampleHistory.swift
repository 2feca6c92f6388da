/// A deterministic, realistic deployment history of the seed's system (the "AI Camera Counting
/// System": development, staging and a blue-green production), for demos, tests and benchmarks.
///
/// The same `pipelines`, `seed` and `start` always give the same events, byte for byte: every
/// identifier, hash, duration and time comes from a SplitMix64 generator, never from the clock.
///
/// The history opens with the three environments (`EnvironmentConfigured`, database URLs
/// without passwords), the production blue-green pair (`BlueGreenConfigured`) and the seed's four
/// migrations registered in each environment. Then releases follow, each deployed by one
/// pipeline per environment (development, staging, production, in that order): stages
/// build → unit tests → deploy (migrations, and in production a deploy to the inactive colour)
/// → health checks → integration tests → performance tests, and in production a traffic switch
/// and a post-switch check. A few pipelines fail; where the environment's policy is automatic
/// (or an operator steps in) a rollback reverts what the pipeline did, and a fixed patch
/// version is deployed next. About 25 events per pipeline.
///
/// Events use the streams and fields of EVENTS.md; metadata carries `actor`, `correlationId`
/// (the pipeline's id) and `source` "deploylog". `RollbackStarted.targetPosition` assumes the
/// history is appended, in order, to an empty log (position 1 is the first event).
public enum SampleHistory {
    /// 2026-11-01T08:00:00Z.
    public static let defaultStart = Timestamp(microsecondsSinceEpoch: 1_793_520_000_000_000)

    /// The events of `pipelines` pipeline runs (and the set-up before them), in order.
    public static func generate(pipelines: Int, seed: UInt64 = 1, start: Timestamp = SampleHistory.defaultStart)
        -> [ProposedEvent]
    {
        var g = SampleHistoryGenerator(seed: seed, start: start)
        g.setUp()
        while g.pipelineCount < pipelines { g.release(limit: pipelines) }
        return g.events
    }

    /// The events as `deploylog append` takes them: one compact JSON envelope per line, in the
    /// order of EVENTS.md (`stream`, `type`, `data`, `eventId`, `occurredAt`, `expectedVersion`
    /// where the producer states one, `metadata`), each line ending in a newline. `data` and
    /// `metadata` are written canonically.
    public static func ndjson(_ events: [ProposedEvent]) -> String {
        var w = CanonicalJSONWriter(reservingCapacity: events.count * 600)
        for e in events {
            w.writeASCII("{\"stream\":")
            w.writeString(e.stream)
            w.writeASCII(",\"type\":")
            w.writeString(e.type)
            w.writeASCII(",\"data\":")
            w.write(e.data)
            w.writeASCII(",\"eventId\":")
            w.writeString(e.eventId.text)
            if let t = e.occurredAt {
                w.writeASCII(",\"occurredAt\":")
                w.writeString(t.canonicalText)
            }
            switch e.expectedVersion {
            case .any: break
            case .noStream: w.writeASCII(",\"expectedVersion\":-1")
            case .exact(let v):
                w.writeASCII(",\"expectedVersion\":")
                w.writeInt(v)
            }
            if e.schemaVersion != 1 {
                w.writeASCII(",\"schemaVersion\":")
                w.writeInt(Int64(e.schemaVersion))
            }
            if !e.metadata.isEmpty {
                w.writeASCII(",\"metadata\":")
                w.write(e.metadata)
            }
            for member in e.extra {
                w.writeASCII(",")
                w.writeString(member.key)
                w.writeASCII(":")
                w.write(member.value)
            }
            w.writeASCII("}\n")
        }
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
