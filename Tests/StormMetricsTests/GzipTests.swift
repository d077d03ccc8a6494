import Foundation
import Testing

@testable import StormMetrics

@Suite struct GzipTests {
    @Test func roundTripsTextAndBinary() throws {
        let text = Array(String(repeating: "zkstorm_requests_total{op=\"get\",result=\"ok\"} 12345\n", count: 500).utf8)
        var generator = SystemRandomNumberGenerator()
        let random = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for input in [text, random, [], [0x41]] {
            let compressed = try Gzip.compress(input)
            #expect(Array(compressed.prefix(2)) == Gzip.magic)
            #expect(try Gzip.decompress(compressed) == input)
        }
        #expect(try Gzip.compress(text).count < text.count / 10)
    }

    @Test func concatenatedMembersDecompressToTheirConcatenation() throws {
        let joined = try Gzip.compress(Array("first ".utf8)) + Gzip.compress(Array("second".utf8))
        #expect(String(decoding: try Gzip.decompress(joined), as: UTF8.self) == "first second")
    }

    @Test func truncatedOrForeignInputThrows() throws {
        let compressed = try Gzip.compress(Array(String(repeating: "abc", count: 1000).utf8))
        #expect(throws: GzipError.self) { try Gzip.decompress(Array(compressed.dropLast(10))) }
        #expect(throws: GzipError.self) { try Gzip.decompress(Array("not gzip at all".utf8)) }
    }

    @Test func outputLimitStopsGzipBombs() throws {
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(throws: GzipError.self) { try Gzip.decompress(bomb, limit: 1000) }
    }
}
