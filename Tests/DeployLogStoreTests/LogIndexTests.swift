import DeployLogEvents
@testable import DeployLogStore
import XCTest

/// A group's index additions worked out while its sync runs (`prepare`, then `apply`) must
/// give the index that adding the events one by one gives.
final class LogIndexTests: XCTestCase {
    func testPreparedAdditionsGiveTheSameIndexAsAddingOneByOne() {
        let proposed = SampleHistory.generate(pipelines: 120, seed: 11)
        var versions = [String: Int64]()
        let now = Timestamp(microsecondsSinceEpoch: 1_764_000_000_000_000)
        var events = [RecordedEvent]()
        for (i, p) in proposed.enumerated() {
            let v = (versions[p.stream] ?? -1) + 1
            versions[p.stream] = v
            events.append(RecordedEvent(
                position: Int64(i + 1), stream: p.stream, streamVersion: v, eventId: p.eventId, type: p.type,
                schemaVersion: p.schemaVersion, occurredAt: p.occurredAt ?? now, recordedAt: now, metadata: p.metadata,
                data: p.data, extra: p.extra))
        }
        var chain = ChainHash.genesis
        let hashes = events.map { e -> Digest in
            chain = ChainHash.next(previous: chain, canonical: e.canonicalBytes())
            return chain
        }
        let locations = events.indices.map { LogIndex.Location(segment: Int32($0 / 500), offset: UInt32($0 * 7), length: UInt32(100 + $0 % 13)) }

        var one = LogIndex()
        for k in events.indices { one.add(events[k], hash: hashes[k], location: locations[k]) }

        // Groups of varied sizes, so that streams and types first seen inside a group (once or
        // several times in it) are numbered as they are one by one.
        var grouped = LogIndex()
        var rng = SplitMix64(seed: 5)
        var start = 0
        while start < events.count {
            let end = min(events.count, start + 1 + Int(rng.next() % 400))
            let prepared = events[start..<end].withUnsafeBufferPointer {
                grouped.prepare($0, hashes: Array(hashes[start..<end]), locations: Array(locations[start..<end]))
            }
            events[start..<end].withUnsafeBufferPointer { grouped.apply(prepared, $0) }
            start = end
        }

        XCTAssertEqual(grouped.head, one.head)
        XCTAssertEqual(grouped.headHash, one.headHash)
        let a = one.columns
        let b = grouped.columns
        XCTAssertEqual(b.hashes, a.hashes)
        XCTAssertEqual(b.locations, a.locations)
        XCTAssertEqual(b.streamOf, a.streamOf)
        XCTAssertEqual(b.typeOf, a.typeOf)
        XCTAssertEqual(b.occurredAt, a.occurredAt)
        XCTAssertEqual(b.streamNames, a.streamNames)
        XCTAssertEqual(b.typeNames, a.typeNames)
        for e in events {
            XCTAssertEqual(grouped.position(of: e.eventId), one.position(of: e.eventId))
            XCTAssertEqual(grouped.streamVersion(at: e.position), e.streamVersion)
        }
        for stream in versions.keys {
            XCTAssertEqual(grouped.lastVersion(of: stream), versions[stream])
            XCTAssertEqual(
                grouped.positions(from: 1, filter: EventFilter(stream: stream), limit: nil),
                one.positions(from: 1, filter: EventFilter(stream: stream), limit: nil))
        }
    }
}
