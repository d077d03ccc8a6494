import Foundation
import NIOCore
import StormEngine
import Testing
import ZooKeeperClient
import ZooKeeperFiles
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Real ZooKeeper 3.8 with `snapshot.compression.method=snappy` (zoo.cfg sets it as the system property
/// zookeeper.snapshot.compression.method; Debian's zookeeper.jar names snappy-java.jar in its manifest
/// class path) snapshots a tree big enough for several 32 KiB snappy-java blocks; the snapshot reads as the
/// live tree, equals the plain snapshot the same server takes next at the same zxid, and seeds that tree.
@Suite(.serialized) struct RealSnappySnapshotTests {
    /// Paths and data under `base + "/big"`, relative to `base`.
    func tree(_ client: ZooKeeperClient, base: String) async throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var queue = [base + "/big"]
        while let path = queue.popLast() {
            out[String(path.dropFirst(base.count))] = try await client.getData(path).0
            for child in try await client.getChildren(path) { queue.append(path + "/" + child) }
        }
        return out
    }

    func snapshotTree(_ snapshot: Snapshot) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for node in snapshot.nodes where node.path == "/big" || node.path.hasPrefix("/big/") {
            out[node.path] = node.data.map { Array($0.readableBytesView) } ?? []
        }
        return out
    }

    /// Restarts `zookeeper` with another snapshot compression (zoo.cfg: a later key wins) and returns the
    /// snapshot file it wrote on start.
    func restart(_ zookeeper: RealZooKeeper, method: String) async throws -> String {
        let config = zookeeper.dataDir.appendingPathComponent("zoo.cfg")
        let handle = try FileHandle(forWritingTo: config)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("snapshot.compression.method=\(method)\n".utf8))
        try handle.close()
        try await zookeeper.restart()
        let versionTwo = zookeeper.dataDir.appendingPathComponent("data/version-2").path
        let suffix = method.isEmpty ? "" : "." + method
        let snapshots = try DataDirectory.files([versionTwo], kind: .snapshot).filter {
            suffix.isEmpty ? !$0.hasSuffix(".gz") && !$0.hasSuffix(".snappy") : $0.hasSuffix(suffix)
        }
        return try #require(snapshots.last, "no \(method) snapshot in \(versionTwo); log:\n\(zookeeper.logTail())")
    }

    @Test func realSnappySnapshotReadsAndSeedsLikeThePlainOne() async throws {
        let zookeeper = try await RealZooKeeper.start(extraConfiguration: "snapshot.compression.method=snappy")
        defer { Task { try? await zookeeper.destroy() } }
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: zookeeper.connectString))
        _ = try await client.create("/big", data: Array("root".utf8))
        // 300 nodes of up to 600 bytes in three levels: about 150 KB of snapshot, so several snappy blocks;
        // the values repeat within themselves (copies) and differ between nodes (literals).
        for a in 0..<10 {
            _ = try await client.create("/big/a\(a)", data: Array("level-1 \(a)".utf8))
            for b in 0..<29 {
                let value = (0..<(b * 20 + a)).map { UInt8(($0 * (a + 1) + b) % 251) }
                _ = try await client.create("/big/a\(a)/b\(b)", data: value)
            }
        }
        let live = try await tree(client, base: "")
        try? await client.close()
        #expect(live.count == 301)

        // Restart: ZooKeeper loads its logs and writes snapshot.<zxid>.snappy before it serves.
        let snappyPath = try await restart(zookeeper, method: "snappy")
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: snappyPath)))
        #expect(raw.starts(with: [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]), "\(snappyPath) is not snappy-java")
        let snappy = try SnapshotReader.read(path: snappyPath)
        #expect(snappy.size > 3 * 32 * 1024, "\(snappy.size) bytes: too small for several blocks")
        #expect(snapshotTree(snappy) == live)

        // No client in between, so the next start snapshots the same state uncompressed, at the same zxid.
        let plainPath = try await restart(zookeeper, method: "")
        #expect(
            (plainPath as NSString).lastPathComponent + ".snappy" == (snappyPath as NSString).lastPathComponent
        )
        let plain = try SnapshotReader.read(path: plainPath)
        // Nodes, data and stats equal. (The tree digest is not compared: ZooKeeper writes 0 in the digest
        // of the snapshot it takes after loading one.)
        #expect(snappy.nodes == plain.nodes)
        #expect(snappy.sessions == plain.sessions)

        // Seeding from the snappy snapshot builds the same tree in the built-in server, under the root.
        let builtIn = try await BuiltInTestServer.start()
        defer { Task { try? await builtIn.destroy() } }
        let seeded = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: builtIn.connectString))
        _ = try await seeded.create("/zkstorm")
        _ = try await seeded.create("/zkstorm/snappy")
        let seed = try SnapshotSeed(path: snappyPath, shapeOnly: false)
        try await SnapshotSeeder.seed(seed.requests(root: "/zkstorm/snappy"), client: seeded)
        #expect(try await tree(seeded, base: "/zkstorm/snappy") == live)
        try? await seeded.close()
    }
}
