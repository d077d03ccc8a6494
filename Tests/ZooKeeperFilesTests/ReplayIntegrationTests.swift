import Foundation
import Logging
import StormEngine
import Testing
import ZooKeeperClient
import ZooKeeperFiles
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Real ZooKeeper 3.8 records a known kazoo workload; inspect counts it, replay rebuilds its tree in the
/// built-in server, and the snapshot ZooKeeper takes on restart seeds the same tree.
@Suite(.serialized) struct ReplayIntegrationTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/capture-txnlogs").path

    /// Runs the capture script's workload against `port`; returns the counts it wrote.
    func runKazooWorkload(port: Int) throws -> [String: Int] {
        let process = Process()
        // python3 from PATH: kazoo is installed for whichever interpreter pip serves.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, "--workload-only", String(port)]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(errors.suffix(2000))")
        return try JSONDecoder().decode([String: Int].self, from: data)
    }

    /// Paths (relative to `base`) and data of the tree under `base + "/app"`.
    func tree(_ client: ZooKeeperClient, base: String) async throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var queue = [base + "/app"]
        while let path = queue.popLast() {
            let (data, _) = try await client.getData(path)
            out[String(path.dropFirst(base.count))] = data
            for child in try await client.getChildren(path) { queue.append(path + "/" + child) }
        }
        return out
    }

    @Test func realLogsInspectReplayAndSeed() async throws {
        let zookeeper = try await RealZooKeeper.start()
        defer { Task { try? await zookeeper.destroy() } }
        var expected = try runKazooWorkload(port: zookeeper.port)
        // Restart from the same data directory: ZooKeeper loads snapshot + logs, and snapshots the result.
        try await zookeeper.restart()
        let real = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: zookeeper.connectString))
        let realTree = try await tree(real, base: "")
        try? await real.close()
        #expect(realTree["/app/config"] == Array("from-multi".utf8))
        #expect(realTree["/app/queue/task-0000000002"] != nil)
        #expect(realTree["/app/multi-c"] == nil)
        let versionTwo = zookeeper.dataDir.appendingPathComponent("data/version-2").path

        // inspect: the counts equal what the workload wrote, plus this test's own session that read the tree.
        expected["createSession", default: 0] += 1
        expected["closeSession", default: 0] += 1
        let inspection = try TxnLogInspector.inspect([versionTwo])
        for op in ["createSession", "closeSession", "create", "delete", "setData", "setACL", "multi", "error"] {
            #expect(inspection.opMix[op] ?? 0 == expected[op] ?? 0, "\(op)")
        }
        #expect(inspection.failedMultis == expected["multiFailed"])
        #expect(inspection.ephemeralCreates == expected["ephemeral"])
        #expect(inspection.sequentialCreates == expected["sequential"])
        #expect(inspection.tornFiles.isEmpty)

        // replay with keep into the built-in server: the same tree under the run root.
        let builtIn = try await BuiltInTestServer.start()
        defer { Task { try? await builtIn.destroy() } }
        var configuration = ReplayConfiguration(files: [versionTwo], runId: "replay-it", logger: Logger(label: "test"))
        configuration.keep = true
        configuration.options.pacing = .speed(20)
        configuration.watchersPerPath = 2
        let (plan, notes) = try TxnLogReplay.plan(configuration)
        #expect(notes.isEmpty)
        let result = try await TxnLogReplay.run(plan, configuration, connectString: builtIn.connectString)
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.skipped["failed multi"] == 1)
        #expect(result.replayed == UInt64(plan.writeSteps))
        // Each watcher hears every node change once: each op of every write, and each ephemeral a close removed.
        let changes = TxnLogReplay.steps(of: plan).reduce(0) { sum, step in
            switch step.action {
            case .request(.multi(let ops), _): sum + ops.count
            case .request: sum + 1
            case .close(let paths): sum + paths.count
            case .open: sum
            }
        }
        #expect(changes > 40)
        #expect(result.watchEvents == UInt64(2 * changes))
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: builtIn.connectString))
        let replayed = try await tree(client, base: "/zkstorm/replay-it")
        #expect(replayed == realTree)
        // Nothing was written outside the root.
        #expect(Set(try await client.getChildren("/")).isSubset(of: ["zkstorm", "zookeeper"]))
        #expect(try await client.getChildren("/zkstorm") == ["replay-it"])

        // The snapshot ZooKeeper wrote on restart seeds the same tree.
        let newest = try DataDirectory.files([versionTwo], kind: .snapshot).last!
        let snapshot = try SnapshotReader.read(path: newest)
        _ = try await client.create("/zkstorm/seeded")
        try await SnapshotSeeder.seed(
            SnapshotSeeder.requests(snapshot, root: "/zkstorm/seeded", shapeOnly: false),
            client: client
        )
        #expect(try await tree(client, base: "/zkstorm/seeded") == realTree)
        try? await client.close()
    }
}
