import Foundation
import NIOCore
import Testing
import ZooKeeperFiles

/// `.snappy` snapshots, as ZooKeeper 3.8 writes them through snappy-java's SnappyOutputStream
/// (Fixtures/zk38-compressed: one start-up snapshot of the fixtures' tree in each of ZooKeeper's three
/// formats, made by `scripts/capture-txnlogs --compressed-snapshots`).
@Suite struct SnappySnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/zk38-compressed").path

    func name(_ suffix: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory)
        let found = names.filter {
            suffix.isEmpty ? !$0.hasSuffix(".gz") && !$0.hasSuffix(".snappy") : $0.hasSuffix(suffix)
        }
        try #require(found.count == 1, "\(names)")
        return Self.directory + "/" + found[0]
    }

    @Test func snappyGzipAndPlainAreTheSameSnapshot() throws {
        let plain = try SnapshotReader.read(path: try name(""))
        for suffix in [".gz", ".snappy"] {
            let compressed = try SnapshotReader.read(path: try name(suffix))
            #expect(compressed.nodes == plain.nodes, "\(suffix)")
            #expect(compressed.sessions == plain.sessions, "\(suffix)")
            #expect(compressed.acls == plain.acls, "\(suffix)")
            #expect(compressed.digest?.digest == plain.digest?.digest, "\(suffix)")
            #expect(compressed.size == plain.size, "\(suffix)")
        }
        // The tree is the workload's: the snapshot ZooKeeper took on start from the fixtures' snapshot and logs.
        let snappy = try SnapshotReader.read(path: try name(".snappy"))
        let app = Dictionary(
            uniqueKeysWithValues: snappy.nodes.filter { $0.path == "/app" || $0.path.hasPrefix("/app/") }.map {
                (
                    $0.path,
                    String(($0.data.map { Array($0.readableBytesView) } ?? []).map { Character(Unicode.Scalar($0)) })
                )
            }
        )
        #expect(app == (try FixtureFiles.workload().tree))
        #expect(try DataDirectory.files([Self.directory], kind: .snapshot).count == 3)
    }

    @Test func cutSnappySnapshotIsTruncatedAtACompressedOffset() throws {
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: try name(".snappy"))))
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/snapshot.35.snappy"
        // Inside the header, inside the block length, inside the block, one byte short.
        for cut in [8, 12, 18, 21, whole.count / 2, whole.count - 1] {
            try FixtureFiles.write(Array(whole[..<cut]), path)
            let error = #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
            #expect(error?.file == path)
            #expect(error?.code == .truncated, "cut at \(cut): \(String(describing: error))")
            #expect((error?.offset ?? -1) >= 0 && (error?.offset ?? .max) <= Int64(cut), "cut at \(cut)")
            #expect(error?.message.contains("snappy") == true, "cut at \(cut): \(String(describing: error))")
        }
    }

    @Test func damagedSnappySnapshotsAreErrorsNeverCrashes() throws {
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: try name(".snappy"))))
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/snapshot.35.snappy"
        func error(_ bytes: [UInt8]) throws -> ZooKeeperFileError? {
            try FixtureFiles.write(bytes, path)
            return #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
        }
        // A block length larger than the file, zero, and negative (not the magic).
        var bytes = whole
        bytes[16] = 0x7f
        #expect(try error(bytes)?.code == .truncated)
        bytes.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        #expect(try error(bytes)?.code == .malformed)
        bytes.replaceSubrange(16..<20, with: [0xff, 0, 0, 1])
        #expect(try error(bytes)?.code == .malformed)
        // A version the reader does not know.
        bytes = whole
        bytes.replaceSubrange(8..<12, with: [0, 0, 0, 0])
        #expect(try error(bytes)?.code == .unsupportedVersion)
        // Every single-byte change inside the compressed block: decodes to other bytes (the snapshot's own
        // Adler32 seal catches them), breaks the block, or (a copy offset moved inside a run of equal
        // bytes) decodes to the very same snapshot; never a crash.
        let original = try SnapshotReader.read(path: try name(""))
        var codes: Set<String> = []
        for index in 20..<whole.count {
            bytes = whole
            bytes[index] ^= 0x5a
            try FixtureFiles.write(bytes, path)
            do {
                let same = try SnapshotReader.read(path: path)
                #expect(same.nodes == original.nodes && same.sessions == original.sessions, "byte \(index)")
            } catch {
                codes.insert("\(error.code)")
            }
        }
        #expect(codes.contains("checksumMismatch") && codes.contains("malformed"), "\(codes)")
        // Named .snappy but not snappy-java: refused, not parsed as something else.
        #expect(try error(Array("not a snapshot".utf8))?.code == .badMagic)
    }

    /// snappy-java reads concatenated streams: a header where a block length is expected starts another.
    @Test func concatenatedStreamReadsLikeOne() throws {
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: try name(".snappy"))))
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/snapshot.35.snappy"
        try FixtureFiles.write(Array(whole[..<16]) + whole, path)
        #expect(try SnapshotReader.read(path: path).nodes == SnapshotReader.read(path: try name("")).nodes)
    }
}
