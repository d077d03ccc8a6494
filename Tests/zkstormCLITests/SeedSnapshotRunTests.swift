import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// `zkstorm run --seed-snapshot` end to end: real ZooKeeper 3.8 records a kazoo workload and writes a
/// snapshot when it restarts from its data directory; a run seeded from that snapshot file builds the
/// same tree (paths and data) under its root before the workload starts, and removes it at the end.
@Suite(.serialized) struct SeedSnapshotRunTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let workload = """
        name: seeded
        sessions: 1
        keyspace: {count: 10}
        groups:
          - ops: {get: 1}
            load: {model: closed, concurrency: 1, window: 1}

        """

    /// Paths (relative to `base`) and data of the tree under `base + "/app"`; nil while it is missing.
    func tree(_ client: ZooKeeperClient, base: String) async throws -> [String: [UInt8]]? {
        var out: [String: [UInt8]] = [:]
        var queue = [base + "/app"]
        while let path = queue.popLast() {
            guard let (data, _) = try? await client.getData(path) else { return nil }
            out[String(path.dropFirst(base.count))] = data
            for child in (try? await client.getChildren(path)) ?? [] { queue.append(path + "/" + child) }
        }
        return out
    }

    @Test func aRealSnapshotSeedsTheSameTreeUnderTheRunRoot() async throws {
        let zookeeper = try await RealZooKeeper.start()
        defer { Task { try? await zookeeper.destroy() } }
        let kazoo = Process()
        kazoo.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        kazoo.arguments = [
            "python3", Self.repository.appendingPathComponent("scripts/capture-txnlogs").path, "--workload-only",
            String(zookeeper.port),
        ]
        kazoo.standardOutput = FileHandle.nullDevice
        try kazoo.run()
        kazoo.waitUntilExit()
        #expect(kazoo.terminationStatus == 0)
        // Restarted from its data directory, ZooKeeper loads snapshot + logs and snapshots the result.
        try await zookeeper.restart()
        let versionTwo = zookeeper.dataDir.appendingPathComponent("data/version-2")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: versionTwo.path)
            .filter { $0.hasPrefix("snapshot.") }
            .sorted { UInt64($0.dropFirst(9), radix: 16) ?? 0 < UInt64($1.dropFirst(9), radix: 16) ?? 0 }
        let snapshot = try #require(snapshots.last, "ZooKeeper wrote no snapshot in \(versionTwo.path)")
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: zookeeper.connectString))
        let realTree = try #require(try await tree(client, base: ""))
        #expect(realTree["/app/config"] == Array("from-multi".utf8))
        #expect(realTree.count > 5)

        let file = try ZkstormProcess.workload(Self.workload)
        defer { try? FileManager.default.removeItem(at: file) }
        let root = "/zkstorm/seeded-cli"
        let run = try ZkstormProcess([
            "run", file.path, "--target", zookeeper.connectString, "--root", root, "--duration", "8s",
            "--warmup", "0s", "--seed-snapshot", versionTwo.appendingPathComponent(snapshot).path, "--quiet",
        ])
        // While the run measures, the seeded tree is in place under the root.
        var seeded: [String: [UInt8]]?
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline && run.process.isRunning {
            seeded = try await tree(client, base: root)
            if seeded == realTree { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let outcome = try await run.finish(timeout: .seconds(60))
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(seeded == realTree, "seeded \(seeded?.keys.sorted() ?? []) vs \(realTree.keys.sorted())")
        // The run removed its root, seeded tree and all; the original tree is untouched.
        #expect(try await client.exists(root) == nil)
        #expect(try await tree(client, base: "") == realTree)
        try? await client.close()
    }
}
