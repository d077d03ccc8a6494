import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// `--requests`, `--dry-run`, `presets show` and `zkstorm clean` on both servers.
@Suite("zkstorm run features end to end", .serialized)
struct RunFeaturesTests {
    static let gets = """
        name: gets
        sessions: 2
        keyspace: {count: 20}
        groups:
          - ops: {get: 1}
            load: {model: closed, concurrency: 1, window: 1}

        """

    @Test(arguments: TestTarget.allCases)
    func requestsBoundTheRunByOperationCount(target: TestTarget) async throws {
        let server = try await target.shared()
        let file = try ZkstormProcess.workload(Self.gets.replacingOccurrences(of: "window: 1", with: "window: 4"))
        let json = file.appendingPathExtension("json")
        defer {
            try? FileManager.default.removeItem(at: file)
            try? FileManager.default.removeItem(at: json)
        }
        // Several sessions, each with 4 requests in flight during the warm-up and at its end: exactly the
        // N sent after the measurement began are counted, none of the warm-up's in flight at its start.
        for (sessions, requests) in [(1, 300), (2, 500), (8, 777)] {
            let result = try await ZkstormProcess.run([
                "run", file.path, "--target", server.connectString, "--sessions", "\(sessions)", "--requests",
                "\(requests)", "--duration", "60s", "--warmup", "500ms", "--json", json.path, "--quiet",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
            let count = ((object?["operations"] as? [String: Any])?["get"] as? [String: Any])?["count"] as? Int ?? 0
            #expect(count == requests, "\(sessions) sessions: count \(count), --requests \(requests)")
            #expect((object?["duration_s"] as? Double ?? 99) < 30)
        }
    }

    @Test(arguments: TestTarget.allCases)
    func dryRunPrintsTheEffectiveWorkloadAndTouchesNothing(target: TestTarget) async throws {
        let server = try await target.shared()
        let root = "/zkstorm" + TestTarget.uniqueRoot("dry")
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--target", server.connectString, "--root", root, "--sessions", "3",
            "--duration", "7s", "--threshold", "get.p99<5ms", "--dry-run",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        for fragment in ["sessions: 3", "duration: 7s", "get.p99<5ms", "root: \(root)", "would create under \(root)"] {
            #expect(result.stdout.contains(fragment), "\(fragment) missing: \(result.stdout)")
        }
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
        #expect(try await client.exists(root) == nil, "--dry-run created the root")
        try await client.close()
        // The printed YAML is a workload file that gives the same effective workload.
        let file = try ZkstormProcess.workload(result.stdout)
        defer { try? FileManager.default.removeItem(at: file) }
        let again = try await ZkstormProcess.run(["run", file.path, "--dry-run"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == result.stdout)
    }

    @Test func presetsShowPrintsARunnableWorkload() async throws {
        let shown = try await ZkstormProcess.run(["presets", "show", "watch-storm"])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("name: watch-storm"), "\(shown.stdout)")
        let file = try ZkstormProcess.workload(shown.stdout)
        defer { try? FileManager.default.removeItem(at: file) }
        let dry = try await ZkstormProcess.run(["run", file.path, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let unknown = try await ZkstormProcess.run(["presets", "show", "read-hevy"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("did you mean \"read-heavy\""), "\(unknown.stderr)")
    }

    /// A run killed with SIGKILL leaves its root; once its owner session has expired, `zkstorm clean`
    /// removes it, and leaves a live run's root alone.
    @Test(arguments: TestTarget.allCases)
    func cleanRemovesDeadRunsOnly(target: TestTarget) async throws {
        let server = try await target.shared()
        let file = try ZkstormProcess.workload(Self.gets)
        defer { try? FileManager.default.removeItem(at: file) }
        let dead = "/zkstorm" + TestTarget.uniqueRoot("dead")
        let live = "/zkstorm" + TestTarget.uniqueRoot("live")
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
        func waitForRoot(_ root: String) async throws {
            let start = ContinuousClock.now
            while try await client.exists(root + "/owner") == nil, ContinuousClock.now - start < .seconds(20) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let killed = try ZkstormProcess([
            "run", file.path, "--target", server.connectString, "--root", dead, "--duration", "60s",
            "--session-timeout", "4s", "--quiet",
        ])
        try await waitForRoot(dead)
        kill(killed.process.processIdentifier, SIGKILL)
        _ = try? await killed.finish()
        let running = try ZkstormProcess([
            "run", file.path, "--target", server.connectString, "--root", live, "--duration", "20s", "--warmup",
            "0s", "--quiet",
        ])
        try await waitForRoot(live)
        // The killed run's sessions expire within their 4 s timeout (rounded up to the server's ticks).
        let start = ContinuousClock.now
        while try await client.exists(dead + "/owner") != nil, ContinuousClock.now - start < .seconds(20) {
            try await Task.sleep(for: .milliseconds(200))
        }
        let clean = try await ZkstormProcess.run(["clean", "--target", server.connectString])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("removed  \(dead)"), "\(clean.stdout)")
        #expect(clean.stdout.contains("live     \(live)"), "\(clean.stdout)")
        #expect(try await client.exists(dead) == nil, "the dead root is still there")
        #expect(try await client.exists(live) != nil, "the live root was touched")
        running.process.interrupt()
        let finished = try await running.finish()
        #expect(finished.status == 130, "\(finished.stderr)")
        try await client.close()
    }
}
