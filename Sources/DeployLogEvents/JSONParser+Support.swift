#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Shared helpers

struct _PendingHeader {
    var count: Int
    var capacity: Int
}

/// A stack of values for the containers being parsed. Values are pushed in place and a run of
/// them is popped by moving it (no retain/release) into an exactly sized array.
final class _PendingValues<Element>: ManagedBuffer<_PendingHeader, Element> {
    static func make(capacity: Int) -> _PendingValues<Element> {
        let buffer = create(minimumCapacity: capacity) { _ in _PendingHeader(count: 0, capacity: capacity) }
        return unsafeDowncast(buffer, to: _PendingValues<Element>.self)
    }

    deinit {
        _ = withUnsafeMutablePointers { header, elements in elements.deinitialize(count: header.pointee.count) }
    }

    // The header is read through its pointer: the `header` property is a class `var`, whose
    // every access costs a dynamic exclusivity check.
    @inline(__always) var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }
    @inline(__always) var isFull: Bool {
        withUnsafeMutablePointerToHeader { $0.pointee.count == $0.pointee.capacity }
    }

    /// A buffer of twice the capacity holding the values (moved out of this one).
    func grown() -> _PendingValues<Element> {
        let bigger = _PendingValues<Element>.make(capacity: withUnsafeMutablePointerToHeader { $0.pointee.capacity } * 2)
        withUnsafeMutablePointers { header, elements in
            bigger.withUnsafeMutablePointers { newHeader, newElements in
                newElements.moveInitialize(from: elements, count: header.pointee.count)
                newHeader.pointee.count = header.pointee.count
            }
            header.pointee.count = 0
        }
        return bigger
    }

    /// Drops every value (those a failed parse left behind).
    func removeAll() {
        withUnsafeMutablePointers { header, elements in
            elements.deinitialize(count: header.pointee.count)
            header.pointee.count = 0
        }
    }

    /// Pushes `value`; the caller has checked `isFull`.
    @inline(__always)
    func push(_ value: Element) {
        withUnsafeMutablePointers { header, elements in
            (elements + header.pointee.count).initialize(to: value)
            header.pointee.count += 1
        }
    }

    /// Moves the values from `base` on into a new array.
    ///
    /// `reserveCapacity` then appends, rather than `Array(unsafeUninitializedCapacity:)`: that
    /// one allocates through a standard-library entry point that is not specialized for
    /// `Element` (`_allocateBufferUninitialized` is not inlinable), which looks the array's
    /// storage type up in the runtime's metadata cache on every call — a hash-table search
    /// per JSON object and array, about 5% of a store read.
    @inline(__always)
    func pop(from base: Int) -> [Element] {
        withUnsafeMutablePointers { header, elements in
            let n = header.pointee.count - base
            header.pointee.count = base
            var out = [Element]()
            out.reserveCapacity(n)
            for k in 0..<n { out.append((elements + base + k).move()) }
            return out
        }
    }
}

/// The two stacks of a parse, kept between parses by `RecordedEvent.DecodeCache` (a parse
/// would otherwise allocate them anew, a kilobyte and more, for every event).
struct _ParserStacks: @unchecked Sendable {
    var members = _PendingValues<JSONObject.Member>.make(capacity: 32)
    var elements = _PendingValues<JSONValue>.make(capacity: 16)
    /// Strings seen by earlier parses (nil: none kept).
    var strings: _StringInterner?

    init() {}

    /// Stacks with a string interner: for parse after parse of similar documents (stored events).
    init(interning: Bool) {
        strings = interning ? _StringInterner() : nil
    }

    init(members: _PendingValues<JSONObject.Member>, elements: _PendingValues<JSONValue>, strings: _StringInterner?) {
        self.members = members
        self.elements = elements
        self.strings = strings
    }

    /// Whether no other copy holds these stacks: only then may a parse use them. (A cache
    /// copied to another thread shares them; whichever parse finds them shared makes its own.)
    mutating func isUnique() -> Bool {
        guard isKnownUniquelyReferenced(&members) && isKnownUniquelyReferenced(&elements) else { return false }
        if strings == nil { return true }
        return isKnownUniquelyReferenced(&strings!)
    }
}

/// The strings of recent parses, so that a string that comes back (an id in event after event,
/// a stage name, an object key) is shared rather than allocated again. Direct-mapped by a hash
/// of the bytes: a new string replaces the one in its slot. Strings of 16 bytes or more, up to
/// `maxLength`, are kept by a hash of their bytes; shorter ones, and the strings of packed ids
/// and times, by a key that is their whole value (`Key`). Used by one parse at a time.
final class _StringInterner {
    static let slotCount = 4096
    static let maxLength = 128
    private let hashes: UnsafeMutablePointer<UInt64>
    private let strings: UnsafeMutablePointer<String>

    init() {
        hashes = .allocate(capacity: Self.slotCount)
        hashes.initialize(repeating: 0, count: Self.slotCount)
        strings = .allocate(capacity: Self.slotCount)
        strings.initialize(repeating: "", count: Self.slotCount)
    }


    /// The string of the `n` bytes at `p`, valid UTF-8 (16 ≤ n ≤ `maxLength`).
    @inline(__always)
    func string(_ p: UnsafePointer<UInt8>, count n: Int) -> String {
        let raw = UnsafeRawPointer(p)
        var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        var k = 0
        while k + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h &>> 31
            k += 8
        }
        if k < n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* 0x94D0_49BB_1331_11EB
            h ^= h &>> 29
        }
        h |= 1  // 0 marks an empty slot
        let slot = Int(truncatingIfNeeded: h &>> 52)
        let bytes = UnsafeBufferPointer(start: p, count: n)
        if hashes[slot] == h, _utf8Equal(strings[slot], bytes) { return strings[slot] }
        let s = String(decoding: bytes, as: UTF8.self)
        hashes[slot] = h
        strings[slot] = s
        return s
    }

    /// A string known by a key of at most 16 bytes that determines it exactly: the bytes of a
    /// short string, or the binary value of a packed id or time (`_PackedForm`); `tag` keeps
    /// the kinds (and a short string's lengths) apart.
    struct Key: Equatable {
        var w0: UInt64
        var w1: UInt64
        var tag: Int
    }

    /// Strings by `Key`, direct-mapped like the table of long strings.
    struct KeyedStrings {
        let mask: Int
        /// Tag -1: an empty slot.
        let keys: UnsafeMutablePointer<Key>
        let strings: UnsafeMutablePointer<String>

        init(slots: Int) {
            mask = slots - 1
            keys = .allocate(capacity: slots)
            keys.initialize(repeating: Key(w0: 0, w1: 0, tag: -1), count: slots)
            strings = .allocate(capacity: slots)
            strings.initialize(repeating: "", count: slots)
        }

        func free() {
            keys.deallocate()
            strings.deinitialize(count: mask + 1)
            strings.deallocate()
        }

        /// The string of `key`: the one kept for it, else `make()`'s, kept in its slot.
        @inline(__always)
        func string(_ key: Key, _ make: () -> String) -> String {
            var h = (key.w0 ^ UInt64(truncatingIfNeeded: key.tag)) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h &>> 29) ^ key.w1) &* 0xBF58_476D_1CE4_E5B9
            let slot = Int(truncatingIfNeeded: h &>> 40) & mask
            if keys[slot] == key { return strings[slot] }
            let s = make()
            keys[slot] = key
            strings[slot] = s
            return s
        }
    }

    /// Short strings: object keys, statuses, names, looked up for nearly every string parsed,
    /// so the table is small enough to stay in the first-level cache (a 4096-slot one missed
    /// it on most look-ups); the few distinct ones of a log fit.
    private let short = KeyedStrings(slots: 512)
    /// Packed ids and times: many more distinct ones, each coming back in a few events.
    private let packed = KeyedStrings(slots: 4096)

    /// The string of a packed id or time (`_PackedForm`) whose binary value is `key`.
    @inline(__always)
    func string(_ key: Key, _ make: () -> String) -> String { packed.string(key, make) }

    /// The string of the `n` bytes at `p`, valid UTF-8 (n < 16): a string that fits inline
    /// costs no allocation, but making it checks its bytes as UTF-8 again (the parser has) and
    /// packs them; one that comes back (a key, a status, an environment) is found by its bytes.
    @inline(__always)
    func shortString(_ p: UnsafePointer<UInt8>, count n: Int) -> String {
        var key = Key(w0: 0, w1: 0, tag: n)
        if n >= 8 {
            // The first and the last eight bytes: all of them, some twice.
            key.w0 = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
            key.w1 = UnsafeRawPointer(p + n - 8).loadUnaligned(as: UInt64.self)
        } else {
            for k in 0..<n { key.w0 |= UInt64(p[k]) &<< (8 &* UInt64(k)) }
        }
        return short.string(key) { String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) }
    }

    deinit {
        hashes.deallocate()
        strings.deinitialize(count: Self.slotCount)
        strings.deallocate()
        short.free()
        packed.free()
    }
}

extension JSONObject {
    /// Sorts `members` in canonical key order; returns a key that appears more than once, if any.
    /// Input that is already sorted (canonical JSON) costs one pass of comparisons.
    package static func sortCanonically(_ members: inout [Member]) -> String? {
        let n = members.count
        if n < 2 { return nil }
        var sorted = true
        for k in 1..<n {
            let c = _compareUTF8(members[k - 1].key, members[k].key)
            if c == 0 { return members[k].key }
            if c > 0 {
                sorted = false
                break
            }
        }
        if sorted { return nil }
        members.sort { _compareUTF8($0.key, $1.key) < 0 }
        for k in 1..<n where _compareUTF8(members[k - 1].key, members[k].key) == 0 {
            return members[k].key
        }
        return nil
    }
}

/// Three-way comparison of the UTF-8 bytes of two strings.
@inline(__always)
package func _compareUTF8(_ a: String, _ b: String) -> Int {
    let r = a.utf8.withContiguousStorageIfAvailable { pa in
        b.utf8.withContiguousStorageIfAvailable { pb -> Int in
            let n = min(pa.count, pb.count)
            for k in 0..<n {
                let x = pa[k]
                let y = pb[k]
                if x != y { return x < y ? -1 : 1 }
            }
            return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
        }
    }
    if let r, let r { return r }
    if a.utf8.elementsEqual(b.utf8) { return 0 }
    return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
}

/// Whether the UTF-8 of `a` is exactly `b`.
@inline(__always)
package func _utf8Equal(_ a: String, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.utf8.count == b.count else { return false }
    let r = a.utf8.withContiguousStorageIfAvailable { pa -> Bool in
        guard let x = pa.baseAddress, let y = b.baseAddress else { return true }
        return memcmp(x, y, b.count) == 0
    }
    return r ?? a.utf8.elementsEqual(b)
}

/// Byte equality (String's `==` compares by canonical equivalence, JSON keys by code points).
@inline(__always)
package func _utf8Equal(_ a: String, _ b: String) -> Bool {
    a.utf8.count == b.utf8.count && _compareUTF8(a, b) == 0
}

/// A key or string quoted for an error message, as canonical JSON writes it.
package func _quoted(_ s: String) -> String {
    var w = CanonicalJSONWriter(reservingCapacity: s.utf8.count + 2)
    w.writeString(s)
    return String(decoding: w.bytes, as: UTF8.self)
}

let hexDigits: [Character] = Array("0123456789ABCDEF")

func hex2(_ b: UInt8) -> String {
    String([hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
}

func hex4Text(_ u: UInt16) -> String {
    hex2(UInt8(u >> 8)) + hex2(UInt8(u & 0xFF))
}

/// Word-at-a-time byte tests on eight bytes loaded little-endian (see "Bit Twiddling Hacks":
/// determine if a word has a byte less than n / equal to n). Each mask has the high bit set in
/// flagged bytes; a flag above the lowest one may be spurious (a borrow), but the lowest flag
/// is always exact, so `mask.trailingZeroBitCount / 8` is the offset of the first such byte.
package enum _SWAR {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Bytes equal to `b`.
    @inline(__always)
    static func equalMask(_ x: UInt64, _ b: UInt8) -> UInt64 {
        let y = x ^ (ones &* UInt64(b))
        return (y &- ones) & ~y & highBits
    }

    /// Bytes that must be escaped in a JSON string: '"', '\\', and below 0x20.
    @inline(__always)
    static func escapeMask(_ x: UInt64) -> UInt64 {
        ((x &- ones &* 0x20) & ~x & highBits) | equalMask(x, 0x22) | equalMask(x, 0x5C)
    }

    /// `escapeMask` plus bytes of multi-byte UTF-8 sequences (0x80 and above).
    @inline(__always)
    static func stringSpecialMask(_ x: UInt64) -> UInt64 {
        escapeMask(x) | (x & highBits)
    }
}
