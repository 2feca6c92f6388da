import DeployLogCompression
import XCTest

final class LZ4Tests: XCTestCase {
    private let dict = LZ4Dictionary(
        id: 7, bytes: Array(#"{"data":{"pipelineId":"","stageName":"build","stageOrder":1},"eventId":"","metadata":{"actor":"ci"}}"#.utf8))

    func testRoundTripWithAndWithoutDictionary() throws {
        let samples: [[UInt8]] = [
            [],
            Array("x".utf8),
            Array(#"{"data":{"pipelineId":"7f3c","stageName":"build","stageOrder":1},"eventId":"a","metadata":{"actor":"ci"}}"#.utf8),
            (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) },
        ]
        for d in [nil, dict] {
            let c = LZ4Compressor(dictionary: d)
            let dec = LZ4Decompressor(dictionaries: [dict])
            for s in samples {
                var out = [UInt8]()
                let n = c.compress(s, appendingTo: &out)
                XCTAssertEqual(n, out.count)
                var back = [UInt8]()
                try out.withUnsafeBytes { try dec.decompress($0, uncompressedSize: s.count, dictionaryId: d?.id ?? 0, into: &back) }
                XCTAssertEqual(back, s)
            }
        }
    }

    func testEachEventDecodesAloneAndDictionaryShrinksSmallEvents() throws {
        let c = LZ4Compressor(dictionary: dict)
        let plain = LZ4Compressor(dictionary: nil)
        let event = Array(#"{"data":{"pipelineId":"99","stageName":"build","stageOrder":1},"eventId":"e1","metadata":{"actor":"ci"}}"#.utf8)
        var a = [UInt8](), b = [UInt8](), p = [UInt8]()
        c.compress(event, appendingTo: &a)
        c.compress(event, appendingTo: &b)
        plain.compress(event, appendingTo: &p)
        XCTAssertEqual(a, b, "the second event must not depend on the first")
        XCTAssertLessThan(a.count, p.count / 2)
    }

    /// Inputs up to 4 KiB use the attached dictionary, larger ones the copied state: sizes on
    /// both sides of that line, in an order that switches path often, each compress to a block
    /// that decodes alone, and the same input always to the same bytes, whatever came before.
    func testBothDictionaryPathsRoundTripAndNeverDependOnEarlierInputs() throws {
        let c = LZ4Compressor(dictionary: dict)
        let dec = LZ4Decompressor(dictionaries: [dict])
        func sample(_ n: Int, _ seed: Int) -> [UInt8] {
            let text = Array(#"{"data":{"pipelineId":"p\#(seed)","stageName":"build","stageOrder":\#(seed)},"eventId":"e"}"#.utf8)
            return (0..<n).map { i in i % 97 < 60 ? text[i % text.count] : UInt8(truncatingIfNeeded: (i &+ seed) &* 2654435761 >> 11) }
        }
        var firstBlocks = [Int: [UInt8]]()
        for round in 0..<2 {
            for (k, n) in [1, 4, 100, 4095, 4096, 4097, 9000, 600, 70_000, 17, 4096, 30].enumerated() {
                let s = sample(n, k)
                var out = [UInt8]()
                c.compress(s, appendingTo: &out)
                var back = [UInt8]()
                try out.withUnsafeBytes { try dec.decompress($0, uncompressedSize: s.count, dictionaryId: dict.id, into: &back) }
                XCTAssertEqual(back, s, "size \(n)")
                if round == 0 { firstBlocks[k] = out } else { XCTAssertEqual(out, firstBlocks[k], "size \(n) compressed differently the second time") }
            }
        }
    }

    func testCorruptInputAndUnknownDictionaryAreErrors() {
        let c = LZ4Compressor(dictionary: dict)
        let dec = LZ4Decompressor(dictionaries: [dict])
        let event = Array(String(repeating: "deploylog event ", count: 20).utf8)
        var out = [UInt8]()
        c.compress(event, appendingTo: &out)
        var back = [UInt8]()
        XCTAssertThrowsError(try out.withUnsafeBytes { try dec.decompress($0, uncompressedSize: event.count, dictionaryId: 99, into: &back) })
        XCTAssertThrowsError(try out.withUnsafeBytes { try dec.decompress($0, uncompressedSize: event.count + 1, dictionaryId: 7, into: &back) })
        var bad = out
        bad[0] ^= 0xFF
        bad.removeLast(3)
        XCTAssertThrowsError(try bad.withUnsafeBytes { try dec.decompress($0, uncompressedSize: event.count, dictionaryId: 7, into: &back) })
    }
}
