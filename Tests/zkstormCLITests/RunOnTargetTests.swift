import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// `zkstorm run` against both servers: what it creates, what it leaves and how it ends when the
/// target goes away (issue 16's defects, each as the command a user ran).
@Suite("zkstorm run on a target end to end", .serialized)
struct RunOnTargetTests {
    static let mix = "groups:\n  - ops: {get: 1, set: 1}\n    load: {model: closed, concurrency: 1, window: 1}\n"

    /// The largest value the validation allows (jute.maxbuffer less the framing of the largest write)
    /// is written and read back on both servers, with no BADARGUMENTS.
    @Test(arguments: TestTarget.allCases)
    func largestValueThatFitsRuns(target: TestTarget) async throws {
        // A server of its own: a shared server that dies takes every later test down with it.
        let server = try await target.dedicated()
        let file = try ZkstormProcess.workload(
            "name: fits\nsessions: 1\nkeyspace: {count: 3, value_size: 1048431}\n" + Self.mix
        )
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await ZkstormProcess.run([
            "run", file.path, "--target", server.connectString, "--duration", "1s", "--warmup", "0s", "--quiet",
        ])
        try await server.destroy()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("BADARGUMENTS"), "\(result.stdout)")
    }

    @Test(arguments: TestTarget.allCases)
    func missingChrootIsNamedAndExits64(target: TestTarget) async throws {
        let server = try await target.shared()
        let chroot = TestTarget.uniqueRoot("nochroot")
        let result = try await ZkstormProcess.run([
            "run", "--preset", "read-heavy", "--target", server.connectString + chroot, "--duration", "1s",
        ])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("the chroot \(chroot)"), "\(result.stderr)")
    }

    @Test(arguments: TestTarget.allCases)
    func ancestorsTheRunCreatedAreRemovedAndOnlyThose(target: TestTarget) async throws {
        let server = try await target.shared()
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
        let fresh = TestTarget.uniqueRoot("newroot")
        let kept = TestTarget.uniqueRoot("keptroot")
        _ = try await client.create(kept)
        let file = try ZkstormProcess.workload("name: roots\nsessions: 2\nkeyspace: {count: 10}\n" + Self.mix)
        defer { try? FileManager.default.removeItem(at: file) }
        for root in [fresh + "/sub", kept + "/a/b"] {
            let result = try await ZkstormProcess.run([
                "run", file.path, "--target", server.connectString, "--root", root, "--duration", "500ms", "--warmup",
                "0s", "--quiet",
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(try await client.exists(fresh) == nil, "\(fresh) was created by the run and left behind")
        #expect(try await client.exists(kept) != nil, "\(kept) existed before the run and must stay")
        #expect(try await client.exists(kept + "/a") == nil)
        try await client.delete(kept)
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func pureWatchStormCreatesNoKeys(target: TestTarget) async throws {
        let server = try await target.shared()
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
        let root = "/zkstorm" + TestTarget.uniqueRoot("storm")
        let file = try ZkstormProcess.workload(
            """
            name: storm
            warmup: 0s
            duration: 10s
            watches: {kind: data, watchers: 4, znodes: 1, storm: {rounds: 6, interval: 300ms}}

            """
        )
        defer { try? FileManager.default.removeItem(at: file) }
        let process = try ZkstormProcess([
            "run", file.path, "--target", server.connectString, "--root", root, "--quiet",
        ])
        var children: [String] = []
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(20) {
            if try await client.exists(root + "/watched/w0") != nil {
                children = try await client.getChildren(root)
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let result = try await process.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(children.contains("watched"), "the run tree was not seen: \(children)")
        #expect(!children.contains("keys"), "a pure watch storm created a key space: \(children)")
        try await client.close()
    }

    /// What a run whose target was stopped mid-run left: the process result, how long it went on after
    /// the stop, the JSON result, the run root and the target's connect string.
    private struct LostTargetRun {
        var result: ZkstormProcess.Outcome
        var tookAfterStop: Duration
        var json: [String: Any]?
        var root: String
        var connectString: String
    }

    /// Runs a 4-session mixed workload named `name` for `duration` with `--json` (plus `options`), stops
    /// the dedicated target 2 s after the run's key space exists, and waits up to `timeout` for the end.
    private func runAndStopTarget(
        _ target: TestTarget,
        name: String,
        duration: String,
        options: [String] = [],
        timeout: Duration
    ) async throws -> LostTargetRun {
        let server = try await target.dedicated()
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-\(name)-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let root = "/zkstorm" + TestTarget.uniqueRoot(name)
        let file = try ZkstormProcess.workload("name: \(name)\nsessions: 4\nkeyspace: {count: 100}\n" + Self.mix)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = try ZkstormProcess(
            [
                "run", file.path, "--target", server.connectString, "--root", root, "--duration", duration,
                "--warmup", "0s", "--json", json.path,
            ] + options
        )
        // The banner is printed once the tree exists and sessions connect; the stop comes 2 s after.
        let observer = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: server.connectString)
        )
        let start = ContinuousClock.now
        while try await observer.exists(root + "/keys/k99") == nil, ContinuousClock.now - start < .seconds(20) {
            try await Task.sleep(for: .milliseconds(10))
        }
        try? await observer.close()
        try await Task.sleep(for: .seconds(2))
        let stoppedAt = ContinuousClock.now
        try await server.stop()
        let result = try await process.finish(timeout: timeout)
        let took = ContinuousClock.now - stoppedAt
        let object = try? JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let run = LostTargetRun(
            result: result,
            tookAfterStop: took,
            json: object,
            root: root,
            connectString: server.connectString
        )
        try await server.destroy()
        return run
    }

    /// A standalone target killed 2 s into a 4 s run with --json: the report and the JSON survive,
    /// marked target_lost, the root left behind is named with the command that removes it, exit 69.
    @Test(arguments: TestTarget.allCases)
    func targetKilledMidRunKeepsWhatWasMeasured(target: TestTarget) async throws {
        let run = try await runAndStopTarget(target, name: "lost", duration: "4s", timeout: .seconds(40))
        let result = run.result
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stdout.contains("operation "), "no report: \(result.stdout)")
        #expect(result.stdout.contains("target lost"), "\(result.stdout)")
        #expect(result.stderr.contains(run.root), "the root left behind is not named: \(result.stderr)")
        #expect(result.stderr.contains("zkstorm clean --target \(run.connectString)"), "\(result.stderr)")
        #expect(run.tookAfterStop < .seconds(15), "ending took \(run.tookAfterStop)")
        let lost = run.json?["target_lost"] as? [String: Any]
        #expect(lost != nil, "the JSON does not say the target was lost")
        #expect((lost?["at_s"] as? Double ?? -1) >= 1, "\(String(describing: lost))")
        #expect(lost?["root_left"] as? String == run.root)
        let operations = run.json?["operations"] as? [String: Any] ?? [:]
        #expect((operations["get"] as? [String: Any])?["count"] as? Int ?? 0 > 0, "nothing measured survived")
    }

    /// A 30 s run whose target dies 2 s in: the measurement ends once the target has been gone for the
    /// session timeout, not at the planned end, and what it measured is kept.
    @Test(arguments: TestTarget.allCases)
    func targetGonePastTheSessionTimeoutEndsTheMeasurement(target: TestTarget) async throws {
        let run = try await runAndStopTarget(
            target,
            name: "gone",
            duration: "30s",
            options: ["--session-timeout", "4s", "--quiet"],
            timeout: .seconds(60)
        )
        #expect(run.result.status == 69, "\(run.result.stderr)")
        #expect(run.tookAfterStop < .seconds(20), "the run went on for \(run.tookAfterStop) after its target died")
        #expect(run.json?["target_lost"] != nil)
        #expect((run.json?["duration_s"] as? Double ?? 99) < 20)
        #expect(run.result.stderr.contains("zkstorm clean --target \(run.connectString)"), "\(run.result.stderr)")
    }
}
