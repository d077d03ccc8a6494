import Foundation
import Testing
import ZooKeeperFiles

/// `.gz` snapshots go through the project's one gzip (GzipCodec); a damaged one is an error naming the
/// file and the compressed offset, never a crash.
@Suite struct GzipSnapshotTests {
    func gzipped(_ name: String, into dir: String) throws -> [UInt8] {
        let gz = dir + "/whole.gz"
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(FixtureFiles.path(name))' > '\(gz)'"]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        return Array(try Data(contentsOf: URL(fileURLWithPath: gz)))
    }

    @Test func cutGzipSnapshotIsTruncatedAtACompressedOffset() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = FixtureFiles.names(prefix: "snapshot.").last!
        let whole = try gzipped(name, into: dir)
        let path = dir + "/" + name + ".gz"
        for cut in [12, whole.count / 2, whole.count - 5] {
            try FixtureFiles.write(Array(whole[..<cut]), path)
            let error = #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
            #expect(error?.file == path)
            #expect(error?.code == .truncated, "cut at \(cut): \(String(describing: error))")
            #expect((error?.offset ?? -1) >= 0 && (error?.offset ?? .max) <= Int64(cut))
        }
    }

    @Test func corruptGzipSnapshotIsMalformed() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = FixtureFiles.names(prefix: "snapshot.").last!
        var bytes = try gzipped(name, into: dir)
        // Past the 10-byte header: garble the deflate stream.
        for index in 10..<min(bytes.count - 8, 40) { bytes[index] ^= 0xa5 }
        let path = dir + "/" + name + ".gz"
        try FixtureFiles.write(bytes, path)
        let error = #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
        #expect(error?.file == path)
        #expect(error?.description.contains("gzip") == true, "\(String(describing: error))")
    }
}
