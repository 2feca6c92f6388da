internal import CLZ4

/// A compression dictionary, stored in the log under its `id`.
public struct LZ4Dictionary: Sendable, Hashable {
    public let id: UInt32
    public let bytes: [UInt8]

    public init(id: UInt32, bytes: [UInt8]) {
        precondition(id != 0, "dictionary id 0 means 'no dictionary'")
        self.id = id
        // LZ4 only uses the last 64 KiB of a dictionary.
        self.bytes = bytes.count > 65_536 ? Array(bytes.suffix(65_536)) : bytes
    }
}

/// Compression or decompression that failed: the data is not what LZ4 wrote.
public struct LZ4Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Compresses one event at a time with LZ4, each independently of the others but all against
/// the same dictionary.
///
/// The dictionary is loaded once (`LZ4_loadDict`) into a prepared `LZ4_stream_t`. For an input
/// of up to 4 KiB (an event, nearly always) a working stream is reset and the prepared stream
/// attached to it in place (`LZ4_attach_dictionary`'s mechanism; Debian's liblz4 does not export
/// that function, so CLZ4's shim carries its few lines), and `LZ4_compress_fast_continue` looks
/// matches up in both: no copy of the 16 KiB prepared state per event. A larger input, or a
/// liblz4 other than the one the header came with, takes the older path: the prepared state is
/// copied into the working state and the input copied to just after the dictionary, so LZ4 sees
/// the dictionary as a prefix. Either way no event depends on its neighbours, and the output is
/// an ordinary block that decompresses with the same dictionary.
///
/// Not thread-safe: use one compressor per thread.
public final class LZ4Compressor {
    public let dictionary: LZ4Dictionary?
    private let prepared: UnsafeMutablePointer<LZ4_stream_t>
    private let working: UnsafeMutablePointer<LZ4_stream_t>
    /// The dictionary followed by room for one input.
    private var window: UnsafeMutableRawBufferPointer
    private let acceleration: Int32

    /// - Parameter acceleration: LZ4's speed/ratio knob (1 = best ratio of the fast mode).
    public init(dictionary: LZ4Dictionary?, acceleration: Int32 = 1) {
        self.dictionary = dictionary
        self.acceleration = acceleration
        prepared = .allocate(capacity: 1)
        working = .allocate(capacity: 1)
        LZ4_initStream(prepared, MemoryLayout<LZ4_stream_t>.size)
        LZ4_initStream(working, MemoryLayout<LZ4_stream_t>.size)
        window = .allocate(byteCount: 1, alignment: 16)
        prepare(room: 4096)
    }

    /// Makes room for inputs of `room` bytes after the dictionary, reloading the dictionary
    /// (the prepared state points into the window).
    private func prepare(room: Int) {
        let count = dictionary?.bytes.count ?? 0
        window.deallocate()
        window = .allocate(byteCount: count + room, alignment: 16)
        LZ4_initStream(prepared, MemoryLayout<LZ4_stream_t>.size)
        if let dictionary, count > 0 {
            dictionary.bytes.withUnsafeBytes { window.copyMemory(from: $0) }
            LZ4_loadDict(prepared, window.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(count))
        }
    }

    deinit {
        prepared.deallocate()
        working.deallocate()
        window.deallocate()
    }

    /// Whether the loaded liblz4 is the version whose stream layout `deploylog_lz4_attach_dictionary`
    /// was compiled against (see CLZ4's shim.h).
    static let attachSupported = deploylog_lz4_attach_supported() != 0

    /// The most bytes `compress` can write for `count` bytes of input.
    public static func bound(_ count: Int) -> Int { Int(LZ4_compressBound(Int32(count))) }

    /// Compresses `source` and appends the compressed bytes to `output`; returns their count.
    @discardableResult
    public func compress(_ source: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) -> Int {
        let bound = LZ4Compressor.bound(source.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { out in
            compress(source, to: out.baseAddress! + start, capacity: bound)
        }
        output.removeLast(bound - written)
        return written
    }

    /// Compresses `source` to `destination`, which has room for `capacity` bytes, at least
    /// `bound(source.count)`; returns the bytes written.
    public func compress(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer, capacity: Int) -> Int {
        precondition(capacity >= LZ4Compressor.bound(source.count), "LZ4 output needs room for the bound")
        let dst = destination.assumingMemoryBound(to: CChar.self)
        let written: Int32
        if let dictionary {
            if LZ4Compressor.attachSupported && source.count <= 4096 {
                // The working stream looks the dictionary up in the prepared stream in place.
                LZ4_resetStream_fast(working)
                deploylog_lz4_attach_dictionary(working, prepared)
                written = LZ4_compress_fast_continue(
                    working, source.baseAddress?.assumingMemoryBound(to: CChar.self), dst, Int32(source.count),
                    Int32(capacity), acceleration)
            } else {
                let dictCount = dictionary.bytes.count
                if window.count - dictCount < source.count { prepare(room: max(source.count, 2 * (window.count - dictCount))) }
                let input = window.baseAddress! + dictCount
                if let s = source.baseAddress { input.copyMemory(from: s, byteCount: source.count) }
                UnsafeMutableRawPointer(working).copyMemory(from: prepared, byteCount: MemoryLayout<LZ4_stream_t>.size)
                written = LZ4_compress_fast_continue(
                    working, input.assumingMemoryBound(to: CChar.self), dst, Int32(source.count), Int32(capacity), acceleration)
            }
        } else {
            written = LZ4_compress_fast_extState(
                UnsafeMutableRawPointer(working), source.baseAddress?.assumingMemoryBound(to: CChar.self), dst,
                Int32(source.count), Int32(capacity), acceleration)
        }
        precondition(written > 0 || source.isEmpty, "LZ4 compression cannot fail with a bound-sized buffer")
        return Int(written)
    }

    public func compress(_ source: [UInt8], appendingTo output: inout [UInt8]) -> Int {
        source.withUnsafeBytes { compress($0, appendingTo: &output) }
    }
}

/// Decompresses events written by `LZ4Compressor`. Stateless apart from the dictionaries it
/// knows; safe to share between threads.
public struct LZ4Decompressor: Sendable {
    private let dictionaries: [UInt32: LZ4Dictionary]

    public init(dictionaries: [LZ4Dictionary]) {
        var d = [UInt32: LZ4Dictionary]()
        for x in dictionaries { d[x.id] = x }
        self.dictionaries = d
    }

    /// Decompresses `source` (exactly `uncompressedSize` bytes long once decompressed) into
    /// `output`, replacing its contents.
    public func decompress(
        _ source: UnsafeRawBufferPointer, uncompressedSize: Int, dictionaryId: UInt32, into output: inout [UInt8]
    ) throws(LZ4Error) {
        let dict: LZ4Dictionary?
        if dictionaryId == 0 {
            dict = nil
        } else {
            guard let d = dictionaries[dictionaryId] else { throw LZ4Error("unknown dictionary id \(dictionaryId)") }
            dict = d
        }
        // Resized in place: an event's size differs from the last one's nearly every time, and
        // a new zero-filled array per event cost an allocation and a free each.
        if output.count > uncompressedSize {
            output.removeLast(output.count - uncompressedSize)
        } else if output.count < uncompressedSize {
            output.append(contentsOf: repeatElement(0, count: uncompressedSize - output.count))
        }
        let n = output.withUnsafeMutableBytes { out -> Int32 in
            let dst = out.baseAddress?.assumingMemoryBound(to: CChar.self)
            let src = source.baseAddress?.assumingMemoryBound(to: CChar.self)
            if let dict {
                return dict.bytes.withUnsafeBytes { d in
                    LZ4_decompress_safe_usingDict(
                        src, dst, Int32(source.count), Int32(uncompressedSize),
                        d.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(d.count))
                }
            }
            return LZ4_decompress_safe(src, dst, Int32(source.count), Int32(uncompressedSize))
        }
        guard n == Int32(uncompressedSize) else {
            throw LZ4Error(n < 0 ? "corrupt LZ4 data" : "decompressed to \(n) bytes, expected \(uncompressedSize)")
        }
    }
}
