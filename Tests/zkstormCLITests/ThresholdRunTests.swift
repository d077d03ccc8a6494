import Foundation
import Testing
import ZooKeeperTestSupport

/// Thresholds decide the exit code of `zkstorm run`, on both servers.
@Suite("zkstorm run thresholds end to end", .serialized)
struct ThresholdRunTests {
    static let workload = """
        name: slo
        sessions: 2
        keyspace: {count: 50}
        groups:
          - name: readers
            ops: {get: 9, set: 1}
            load: {model: open, rate: 200}
        watches: {kind: data, watchers: 3, znodes: 1, storm: {rounds: 3, interval: 200ms}}
        thresholds:
          - errors<1%

        """

    @Test(arguments: TestTarget.allCases)
    func aFailingThresholdExits99WithItsTable(target: TestTarget) async throws {
        let server = try await target.shared()
        let file = try ZkstormProcess.workload(Self.workload)
        let json = file.appendingPathExtension("json")
        defer {
            try? FileManager.default.removeItem(at: file)
            try? FileManager.default.removeItem(at: json)
        }
        let result = try await ZkstormProcess.run([
            "run", file.path, "--target", server.connectString, "--duration", "2s", "--warmup", "0s", "--json",
            json.path, "--threshold", "get.p99<1us", "--threshold", "watch.missed==0", "--quiet",
        ])
        #expect(result.status == 99, "\(result.stderr)")
        #expect(result.stdout.contains("thresholds: 2 of 3 passed (exit 99)"), "\(result.stdout)")
        #expect(result.stdout.contains("FAIL  get.p99<1us"), "\(result.stdout)")
        #expect(result.stdout.contains("pass  watch.missed==0"), "\(result.stdout)")
        #expect(result.stdout.contains("readers: 200 →"), "target vs achieved rate: \(result.stdout)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let verdicts = object?["thresholds"] as? [[String: Any]] ?? []
        #expect(verdicts.count == 3)
        #expect(verdicts.first { $0["threshold"] as? String == "get.p99<1us" }?["passed"] as? Bool == false)
        let rates = object?["group_rates"] as? [[String: Any]] ?? []
        #expect(rates.first?["target_ops_per_second"] as? Double == 200)
        #expect((rates.first?["achieved_ops_per_second"] as? Double ?? 0) > 100)
    }

    @Test(arguments: TestTarget.allCases)
    func passingThresholdsExit0(target: TestTarget) async throws {
        let server = try await target.shared()
        let file = try ZkstormProcess.workload(Self.workload)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ZkstormProcess.run([
            "run", file.path, "--target", server.connectString, "--duration", "1s", "--warmup", "0s",
            "--threshold", "get.p99<10s", "--quiet",
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("thresholds: 2 of 2 passed"), "\(result.stdout)")
    }

    @Test func abortOnFailEndsTheRunEarly() async throws {
        let server = try await TestTarget.builtIn.shared()
        let file = try ZkstormProcess.workload(
            Self.workload + "  - {threshold: \"get.p99<1us\", abort_on_fail: true}\n"
        )
        defer { try? FileManager.default.removeItem(at: file) }
        let start = ContinuousClock.now
        let result = try await ZkstormProcess.run([
            "run", file.path, "--target", server.connectString, "--duration", "30s", "--warmup", "0s", "--quiet",
        ])
        #expect(result.status == 99, "\(result.stderr)")
        #expect(ContinuousClock.now - start < .seconds(20), "the run was not ended by its threshold")
        #expect(result.stdout.contains("(ended the run)"), "\(result.stdout)")
    }

    @Test func aBadThresholdFlagIsAUsageError() async throws {
        let result = try await ZkstormProcess.run(["run", "--preset", "read-heavy", "--threshold", "get.p99<5"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--threshold: threshold \"get.p99<5\""), "\(result.stderr)")
    }
}
