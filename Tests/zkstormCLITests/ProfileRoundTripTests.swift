import Foundation
import StormEngine
import Testing
import ZooKeeperFiles
import ZooKeeperTestSupport

/// `zkstorm txnlog profile` checked the way the docs state it: a log is profiled, the workload runs
/// against real ZooKeeper 3.8, and the transaction log ZooKeeper wrote is inspected and compared with
/// the original within the tolerances of workloads/README.md ("txnlog profile: what is kept").
@Suite(.serialized) struct ProfileRoundTripTests {
    /// The original: 200 writes/s for 12 s of leader time in ZooKeeper's log format (scripts/synth-txnlog:
    /// 45% setData, 25% create, 20% delete of a created node, 10% multi, a tenth of the multis failed).
    @Test func aProfiledWorkloadRecreatesTheLogsShapeOnRealZooKeeper() async throws {
        let original = ReplayCommandTests.temporary("log.1")
        let profile = ReplayCommandTests.temporary("profile.yaml")
        defer { for url in [original, profile] { try? FileManager.default.removeItem(at: url) } }
        try ReplayCommandTests.synthesize(original, rate: 200, seconds: 12)
        let profiled = try await ZkstormProcess.run(["txnlog", "profile", original.path, "--out", profile.path])
        #expect(profiled.status == 0, "\(profiled.stderr)")
        let text = try String(contentsOf: profile, encoding: .utf8)
        #expect(!text.contains("/bench"), "the profile copies a logged path")

        let zookeeper = try await RealZooKeeper.start()
        defer { Task { try? await zookeeper.destroy() } }
        let run = try await ZkstormProcess.run(
            ["run", profile.path, "--target", zookeeper.connectString, "--warmup", "0s", "--quiet"],
            timeout: .seconds(120)
        )
        #expect(run.status == 0, "\(run.stderr)")

        let before = try TxnLogInspector.inspect([original.path])
        let after = try Self.workloadShare(of: zookeeper.dataDir.appendingPathComponent("data/version-2").path)
        // Op mix: each top-level write type's share within 5 points.
        let kinds = ["setData", "create", "delete", "multi"]
        func shares(_ i: TxnLogInspection) -> [String: Double] {
            let total = Double(kinds.reduce(0) { $0 + (i.opMix[$1] ?? 0) })
            return Dictionary(uniqueKeysWithValues: kinds.map { ($0, Double(i.opMix[$0] ?? 0) / max(total, 1)) })
        }
        let logged = shares(before)
        let replayed = shares(after)
        for kind in kinds {
            #expect(abs(logged[kind]! - replayed[kind]!) <= 0.05, "\(kind): logged \(logged) vs run \(replayed)")
        }
        // Write rate: the mean within 15%.
        let loggedRate = Double(before.writesPerSecond.reduce(0, +)) / Double(max(1, before.writesPerSecond.count))
        let runRate = Double(after.writesPerSecond.reduce(0, +)) / Double(max(1, after.writesPerSecond.count))
        #expect(abs(runRate - loggedRate) <= 0.15 * loggedRate, "writes/s: logged \(loggedRate), run \(runRate)")
        // Value sizes: the median in the same power-of-two bucket.
        #expect(
            TxnLogProfile.median(after.valueSizes) == TxnLogProfile.median(before.valueSizes),
            "value sizes: logged \(before.valueSizes), run \(after.valueSizes)"
        )
        // Multi size: the logged median.
        #expect(TxnLogProfile.median(after.multiSizes) == TxnLogProfile.median(before.multiSizes))
        // Key space: not kept as distinct paths written (churn creates add names of their own), but the
        // workload's key space is the logged count of distinct paths.
        #expect(text.contains("count: \(before.distinctPaths)\n"), "\(text)")
    }

    /// The inspection of what the workload's sessions wrote: the run's control session (the first
    /// session in the log: it creates the root and key space before the workload and removes them
    /// after) is left out, as setup and cleanup are not part of the profiled shape.
    static func workloadShare(of directory: String) throws -> TxnLogInspection {
        let files = TxnLogFiles(paths: try DataDirectory.files([directory], kind: .log))
        var control: Int64?
        var inspector = TxnLogInspector()
        while let entry = try files.next() {
            if control == nil, case .createSession = entry.record { control = entry.header.clientId }
            if entry.header.clientId == control { continue }
            inspector.add(entry)
        }
        return inspector.finish()
    }
}
