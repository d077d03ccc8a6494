import Foundation
import NIOCore
import TestRandom
import Testing
import ZooKeeperProtocol

/// A bounded, seeded slice of the libFuzzer campaign (scripts/fuzz) that runs with every `swift test`:
/// random frames and mutations of the captured fixtures through ProtocolDecodePath.
@Suite("Decode fuzzing (seeded, bounded)")
struct DecodeFuzzTests {
    static let seeds: [[UInt8]] = CapturedFixtures.all.flatMap { [$0.requestFrame] + $0.replyFrames }

    static let interestingInts: [Int32] = [
        -1, -2, 0, 1, 2, 4, 8, 16, 68, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0xfffff, 0x10_0000, Int32.max, Int32.min,
        Int32.max - 1, -0x8000,
    ]

    /// One input: a mutated fixture or random bytes; the length prefix is usually repaired so the
    /// mutation reaches the record decoders instead of stopping at the frame decoder.
    static func input(_ rng: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8]
        if Int.random(in: 0..<16, using: &rng) == 0 {
            bytes = (0..<Int.random(in: 0..<96, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        } else {
            bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) { mutate(&bytes, &rng) }
        }
        if bytes.count >= 4, Int.random(in: 0..<4, using: &rng) != 0 {
            let length = UInt32(bytes.count - 4)
            bytes[0] = UInt8(length >> 24)
            bytes[1] = UInt8(length >> 16 & 0xff)
            bytes[2] = UInt8(length >> 8 & 0xff)
            bytes[3] = UInt8(length & 0xff)
        }
        return bytes
    }

    static func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        guard !bytes.isEmpty else {
            bytes.append(UInt8.random(in: 0...255, using: &rng))
            return
        }
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0:
            bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        case 1:
            bytes[at] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff].randomElement(using: &rng)!
        case 2:
            // An int field, length or count replaced by an edge value.
            let value = UInt32(bitPattern: interestingInts.randomElement(using: &rng)!)
            for i in 0..<4 where at + i < bytes.count { bytes[at + i] = UInt8(value >> (24 - 8 * UInt32(i)) & 0xff) }
        case 3:
            bytes.removeSubrange(at...)
        case 4:
            let extra = (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.insert(contentsOf: extra, at: at)
        case 5:
            bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &rng)))
        case 6:
            // Splice the tail of another fixture.
            let other = seeds.randomElement(using: &rng)!
            bytes = Array(bytes[..<at]) + other[Int.random(in: 0..<other.count, using: &rng)...]
        default:
            // A second frame behind the first.
            bytes += seeds.randomElement(using: &rng)!
        }
    }

    @Test func capturedFixturesPassTheDecodePathUnchanged() throws {
        var decoded = 0
        for seed in Self.seeds {
            let outcome = try ProtocolDecodePath.check(ByteBuffer(bytes: seed), allOpCodes: true)
            #expect(outcome.frames == 1 && outcome.frameErrors == 0)
            decoded += outcome.decoded
        }
        #expect(decoded > Self.seeds.count * 4)
    }

    /// 50,000 inputs in four seeded slices, so the two cores share them: about 4 s of CPU in a debug
    /// build, which keeps the unit tests under a minute. `ZKSTORM_FUZZ_INPUTS` sets the inputs per slice
    /// for a longer run; the coverage-guided campaign is scripts/fuzz.
    @Test(arguments: 0..<4)
    func mutatedFrames(slice: Int) throws {
        let count = Int(ProcessInfo.processInfo.environment["ZKSTORM_FUZZ_INPUTS"] ?? "") ?? 12_500
        var rng = SplitMix64(seed: 0x5EED_2C00_0000_0001 &+ UInt64(slice) &* 0x1_0000_0001)
        var total = ProtocolDecodePath.Outcome()
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<count {
            let bytes = Self.input(&rng)
            let outcome: ProtocolDecodePath.Outcome
            do {
                outcome = try ProtocolDecodePath.check(ByteBuffer(bytes: bytes), allOpCodes: i % 64 == 0)
            } catch {
                Issue.record("slice \(slice) input #\(i) \(Hex.string(bytes)): \(error)")
                return
            }
            total.frames += outcome.frames
            total.decoded += outcome.decoded
            total.juteErrors += outcome.juteErrors
            total.frameErrors += outcome.frameErrors
        }
        let elapsed = clock.now - start
        // Both outcomes must occur, or the mutations are not reaching the decoders.
        #expect(total.frames > count * 3 / 4)
        #expect(total.decoded > count)
        #expect(total.juteErrors > count)
        #expect(total.frameErrors > count / 200)
        print(
            "decode fuzz slice \(slice): \(count) inputs, \(total.frames) frames, \(total.decoded) decoded, "
                + "\(total.juteErrors) jute errors, \(total.frameErrors) frame errors in \(elapsed)"
        )
    }
}
