import Foundation
import TestRandom
import Testing
import ZooKeeperFiles

/// A bounded, seeded slice of scripts/fuzz's FileReading campaign that runs with every `swift test`:
/// mutations of the real files in Fuzz/corpus-files (logs, and plain, gzip and snappy snapshots written by
/// ZooKeeper 3.8) through FileReadingPath, the same code the libFuzzer harness runs.
@Suite struct FileFuzzTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus-files").path

    static func seeds() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: corpus) where name.hasPrefix("real-") {
            out[name] = Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + name)))
        }
        return out
    }

    @Test func corpusHoldsEveryKindOfRealFile() throws {
        let seeds = try Self.seeds()
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var outcome = FileReadingPath.Outcome()
        for (name, bytes) in seeds.sorted(by: { $0.key < $1.key }) {
            let before = (outcome.logEntries, outcome.snapshots)
            FileReadingPath.check(bytes, scratch: dir + "/input", outcome: &outcome)
            if name.hasPrefix("real-log.") {
                #expect(outcome.logEntries > before.0, "\(name) read no log entry")
            } else {
                #expect(outcome.snapshots == before.1 + 1, "\(name) did not read as a snapshot")
            }
        }
        for kind in ["real-log.", "real-snapshot."] { #expect(seeds.keys.contains { $0.hasPrefix(kind) }, "\(kind)") }
        #expect(seeds.keys.contains { $0.hasPrefix("real-snapshot.") && $0.hasSuffix(".gz") })
        #expect(seeds.keys.contains { $0.hasPrefix("real-snapshot.") && $0.hasSuffix(".snappy") })
    }

    /// 4,000 mutated inputs (a couple of seconds in a debug build); `ZKSTORM_FUZZ_INPUTS` sets the count
    /// for a longer run. Mutations keep the first 16 bytes (the file headers) half of the time, so they
    /// reach the entries, the gzip stream and the Snappy blocks rather than stopping at the magic.
    @Test func mutatedRealFilesNeverCrash() throws {
        let count = Int(ProcessInfo.processInfo.environment["ZKSTORM_FUZZ_INPUTS"] ?? "") ?? 4_000
        let seeds = try Self.seeds().sorted { $0.key < $1.key }.map(\.value)
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(seed: 0x5EED_F11E_0000_0001)
        var outcome = FileReadingPath.Outcome()
        for _ in 0..<count {
            var bytes = seeds.randomElement(using: &rng)!
            let floor = Bool.random(using: &rng) ? min(16, bytes.count - 1) : 0
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: floor..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 1: bytes[at] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff].randomElement(using: &rng)!
                case 2: bytes.removeSubrange(at...)
                case 3:
                    bytes.insert(
                        contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in
                            UInt8.random(in: 0...255, using: &rng)
                        },
                        at: at
                    )
                default: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &rng)))
                }
                if bytes.count <= floor { break }
            }
            FileReadingPath.check(bytes, scratch: dir + "/input", outcome: &outcome)
        }
        // Mutations must reach every reader: entries before the damage still read, and each kind of damage
        // is reported.
        #expect(outcome.logEntries > count)
        for code: ZooKeeperFileError.Code in [.badMagic, .truncated, .checksumMismatch, .malformed] {
            #expect(outcome.errors[code, default: 0] > 0, "\(code): \(outcome.errors)")
        }
    }
}
