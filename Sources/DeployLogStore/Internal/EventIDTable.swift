import DeployLogEvents

/// The position of every event id in the log: an open-addressing hash table built for the
/// index, which adds ids in position order and looks one up for every event appended.
///
/// A `Dictionary<EventID, Int64>` costs a SipHash and, once the log is large, cache misses in
/// 24-byte buckets spread over megabytes, twice per event (the look-up when appending and the
/// insertion when indexing), plus a rehash of everything each time it doubles: about a
/// microsecond per event. Here a slot is 8 bytes — the position and the top 24 bits of its
/// id's hash — and the ids sit beside the slots in position order, read only when those bits
/// match. A slot's place is the top bits of the hash, so doubling the table moves the slots
/// in order, without hashing or reading an id. The hash is a seeded mix (fresh seeds per
/// table): ids cannot be chosen to collide without the seeds. An index checkpoint stores a
/// table with its seeds, so they are as secret as the store's files, no more.
struct EventIDTable {
    /// Empty (0), or a position (low 40 bits) under the top 24 bits of its id's hash.
    private var slots = [UInt64](repeating: 0, count: 1 << EventIDTable.initialBits)
    /// log2 of the slot count.
    private var bits = EventIDTable.initialBits
    /// The id at each position (index position − 1).
    private var ids: [EventID] = []
    /// Occupied slots.
    private var occupied = 0
    private let seeds: (UInt64, UInt64)

    private static let initialBits = 10
    private static let positionBits = 40
    private static let tagBits = 64 - positionBits
    private static let positionMask: UInt64 = (1 << positionBits) - 1

    init() {
        seeds = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
    }

    /// The table's state as an index checkpoint stores it: with its seeds, so that loading it
    /// is copying, not hashing every id again.
    struct Stored {
        var seeds: (UInt64, UInt64)
        var bits: Int
        var occupied: Int
        var slots: [UInt64]
        var ids: [EventID]
    }

    var stored: Stored { Stored(seeds: seeds, bits: bits, occupied: occupied, slots: slots, ids: ids) }

    /// The table of a checkpoint; nil unless its slots are consistent: as many as its bits say,
    /// `occupied` of them in use (at most 70%), each holding a stored position.
    init?(stored s: Stored) {
        guard s.bits >= EventIDTable.initialBits, s.bits <= 40, s.slots.count == 1 << s.bits,
            s.occupied <= s.ids.count, s.occupied * 10 <= s.slots.count * 7
        else { return nil }
        let count = UInt64(s.ids.count)
        var used = 0
        var bad = false
        s.slots.withUnsafeBufferPointer { slots in
            for slot in slots where slot != 0 {
                let p = slot & EventIDTable.positionMask
                if p == 0 || p > count { bad = true; break }
                used += 1
            }
        }
        guard !bad, used == s.occupied else { return nil }
        seeds = s.seeds
        bits = s.bits
        occupied = s.occupied
        slots = s.slots
        ids = s.ids
    }

    /// The id at `position`.
    func id(at position: Int64) -> EventID { ids[Int(position - 1)] }

    /// The last position holding `id`, if any.
    func position(of id: EventID) -> Int64? {
        let h = hash(id)
        let tag = h >> EventIDTable.positionBits
        return slots.withUnsafeBufferPointer { s in
            ids.withUnsafeBufferPointer { ids in
                let mask = s.count - 1
                var i = home(h)
                while true {
                    let slot = s[i]
                    if slot == 0 { return nil }
                    if slot >> EventIDTable.positionBits == tag {
                        let p = Int64(slot & EventIDTable.positionMask)
                        if ids[Int(p - 1)] == id { return p }
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// The last position holding each of `ids`, 0 for those not stored. The first slot of
    /// every id is read in one pass whose reads do not depend on each other, so that the
    /// processor overlaps their cache misses (a large table is megabytes: each look-up alone
    /// is a miss); a second pass probes on from those slots, now in the cache.
    func positions(of ids: UnsafeBufferPointer<EventID>) -> [Int64] {
        let n = ids.count
        var homes = [Int](repeating: 0, count: n)
        var firsts = [UInt64](repeating: 0, count: n)
        slots.withUnsafeBufferPointer { s in
            for k in 0..<n {
                let i = home(hash(ids[k]))
                homes[k] = i
                firsts[k] = s[i]
            }
        }
        return [Int64](unsafeUninitializedCapacity: n) { out, count in
            slots.withUnsafeBufferPointer { s in
                self.ids.withUnsafeBufferPointer { stored in
                    let mask = s.count - 1
                    for k in 0..<n {
                        var found: Int64 = 0
                        if firsts[k] != 0 {
                            let id = ids[k]
                            let tag = hash(id) >> EventIDTable.positionBits
                            var i = homes[k]
                            while true {
                                let slot = s[i]
                                if slot == 0 { break }
                                if slot >> EventIDTable.positionBits == tag {
                                    let p = Int64(slot & EventIDTable.positionMask)
                                    if stored[Int(p - 1)] == id { found = p; break }
                                }
                                i = (i + 1) & mask
                            }
                        }
                        out[k] = found
                    }
                }
            }
            count = n
        }
    }

    /// Reads the slot where `id` would go (so that `add` finds it in the cache); returns it.
    func touch(_ id: EventID) -> UInt64 {
        slots.withUnsafeBufferPointer { $0[home(hash(id))] }
    }

    /// Records `id` at `position`, which must be the next one (`count + 1`). A position added
    /// later for the same id replaces the earlier one, as a dictionary's would.
    mutating func add(_ id: EventID, at position: Int64) {
        precondition(position == Int64(ids.count) + 1, "positions are added in order")
        precondition(UInt64(position) <= EventIDTable.positionMask, "position beyond the table's range")
        ids.append(id)
        // At most 70% full, so that a miss ends after a few slots.
        if (occupied + 1) * 10 > slots.count * 7 { grow() }
        let h = hash(id)
        let entry = (h >> EventIDTable.positionBits) << EventIDTable.positionBits | UInt64(position)
        let start = home(h)
        let added = slots.withUnsafeMutableBufferPointer { s in
            ids.withUnsafeBufferPointer { ids in
                let mask = s.count - 1
                var i = start
                while true {
                    let slot = s[i]
                    if slot == 0 {
                        s[i] = entry
                        return true
                    }
                    if slot >> EventIDTable.positionBits == entry >> EventIDTable.positionBits,
                        ids[Int(slot & EventIDTable.positionMask) - 1] == id
                    {
                        s[i] = entry
                        return false
                    }
                    i = (i + 1) & mask
                }
            }
        }
        if added { occupied += 1 }
    }

    /// The slot where the id with hash `h` belongs: the top `bits` bits of the hash.
    @inline(__always)
    private func home(_ h: UInt64) -> Int { Int(truncatingIfNeeded: h >> UInt64(64 - bits)) }

    /// Doubles the slots. Taken in order, the slots land in order in the new table (their
    /// places are the top bits of their hashes, one bit more), so the writes run forward
    /// through memory; the top bits are in the slot itself while the table has at most
    /// 2^24 slots, beyond which each id is read and hashed again.
    private mutating func grow() {
        bits += 1
        var grown = [UInt64](repeating: 0, count: 1 << bits)
        let shift = UInt64(64 - bits)
        let tagged = bits <= EventIDTable.tagBits
        grown.withUnsafeMutableBufferPointer { s in
            ids.withUnsafeBufferPointer { ids in
                let mask = s.count - 1
                for slot in slots where slot != 0 {
                    let place =
                        tagged
                        ? Int(truncatingIfNeeded: slot >> shift)
                        : Int(truncatingIfNeeded: hash(ids[Int(slot & EventIDTable.positionMask) - 1]) >> shift)
                    var i = place
                    while s[i] != 0 { i = (i + 1) & mask }
                    s[i] = slot
                }
            }
        }
        slots = grown
    }

    /// A seeded mix of the id's 128 bits (murmur3's 64-bit finaliser, twice).
    @inline(__always)
    private func hash(_ id: EventID) -> UInt64 {
        @inline(__always) func mix(_ x: UInt64) -> UInt64 {
            var k = x
            k ^= k >> 33
            k &*= 0xff51_afd7_ed55_8ccd
            k ^= k >> 33
            k &*= 0xc4ce_b9fe_1a85_ec53
            k ^= k >> 33
            return k
        }
        return mix(mix(id.high ^ seeds.0) ^ id.low ^ seeds.1)
    }
}
