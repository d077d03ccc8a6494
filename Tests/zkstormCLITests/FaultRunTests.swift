import Foundation
import Testing
import ZooKeeperTestSupport

/// `faults:` in a workload, end to end: on the built-in server (drop every connection, pause for a
/// while) and on a real quorum run by scripts/ensemble (the leader killed, restarted after `for`); each
/// fault in the JSON with when it fired, what it acted on, when it was undone and what it cost, marked
/// on the charts, and refused before the run when it cannot act on the target.
@Suite("zkstorm run with faults end to end", .serialized)
struct FaultRunTests {
    static func workload(duration: String, faults: String) -> String {
        """
        name: faulted
        sessions: 2
        duration: \(duration)
        warmup: 0s
        keyspace: {count: 50}
        groups:
          - ops: {get: 1}
            load: {model: closed, concurrency: 1, window: 1}
        watches:
          kind: data
          watchers: 10
          storm: {rounds: 1000, interval: 200ms, writer: dedicated, timeout: 2s, rearm: immediate}
        faults:
        \(faults)

        """
    }

    static func run(
        _ text: String,
        _ extra: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> ZkstormProcess.WorkloadRun {
        try await ZkstormProcess.runWorkload(text, extra, environment: environment)
    }

    static func ledgerBalances(_ json: [String: Any]) {
        let ledger = (json["failover"] as? [String: Any])?["watch"] as? [String: Any] ?? [:]
        let due = ledger["due"] as? Int ?? -1
        let accounted =
            (ledger["received"] as? Int ?? 0) + (ledger["collapsed"] as? Int ?? 0) + (ledger["missed"] as? Int ?? 0)
        #expect(due > 0 && accounted == due, "\(ledger)")
        #expect(ledger["excess"] as? Int == 0, "\(ledger)")
    }

    @Test func builtInServerDropAndPause() async throws {
        let run = try await Self.run(
            Self.workload(
                duration: "5s",
                faults: "  - {at: 1s, action: drop}\n  - {at: 2500ms, action: pause, for: 1s}"
            ) + "reconnect: {policy: jitter, base: 20ms, max: 200ms}\n"
        )
        // The policy the sessions reconnected with is in the result and the report.
        #expect(run.json["reconnect"] as? String == "jitter base 20ms max 200ms", "\(run.json["reconnect"] ?? "none")")
        #expect(run.stdout.contains("(reconnect policy: jitter base 20ms max 200ms)"), "\(run.stdout)")
        #expect(run.status == 0, "\(run.stderr)")
        let faults = run.json["faults"] as? [[String: Any]] ?? []
        #expect(faults.count == 2, "\(faults)")
        guard faults.count == 2 else { return }
        let drop = faults[0]
        #expect((drop["label"] as? String)?.hasPrefix("drop ") == true, "\(drop)")
        let dropCost = drop["cost"] as? [String: Any] ?? [:]
        // Every session lost its connection once: 2 workers, 10 watchers, the writer, the control session.
        #expect(dropCost["connection_losses"] as? Int ?? 0 >= 14, "\(dropCost)")
        #expect(dropCost["reconnects"] as? Int == dropCost["connection_losses"] as? Int, "\(dropCost)")
        #expect(dropCost["reconnect_max_us"] != nil, "\(dropCost)")
        let pause = faults[1]
        #expect(pause["action"] as? String == "pause")
        let at = pause["at_s"] as? Double ?? 0
        let restored = pause["restored_at_s"] as? Double ?? 0
        #expect((2.4...2.9).contains(at), "\(pause)")
        #expect(restored - at >= 0.95 && restored - at < 1.6, "\(pause)")
        Self.ledgerBalances(run.json)
        #expect(run.stdout.contains("faults (each until the next, or the end):"), "\(run.stdout)")
        #expect(run.stdout.contains("pause the server for 1s, undone at"), "\(run.stdout)")
        #expect(run.html.contains("pause the server for 1s") && run.html.contains("undone: pause"), "no fault markers")
    }

    @Test func faultsThatCannotActOnTheTargetAreRefusedBeforeTheRun() async throws {
        let member = try await Self.run(
            Self.workload(duration: "3s", faults: "  - {at: 1s, action: kill, node: leader}")
        )
        #expect(member.status == 64, "\(member.stderr)")
        #expect(member.stderr.contains("acts on an ensemble member"), "\(member.stderr)")
        #expect(!member.stderr.contains("warm-up"), "refused before the start banner: \(member.stderr)")
        let server = try await TestTarget.builtIn.shared()
        let builtIn = try await Self.run(
            Self.workload(duration: "3s", faults: "  - {at: 1s, action: drop}"),
            ["--target", server.connectString]
        )
        #expect(builtIn.status == 64, "\(builtIn.stderr)")
        #expect(builtIn.stderr.contains("acts on the built-in server"), "\(builtIn.stderr)")
        let empty = Scratch.path("no-ensemble")
        let foreign = try await Self.run(
            Self.workload(duration: "3s", faults: "  - {at: 1s, action: kill, node: 1}"),
            ["--target", server.connectString],
            environment: ["ZKSTORM_ENSEMBLE_DIR": empty, "ZKSTORM_ENSEMBLE_CONTROL": Self.ensembleScript]
        )
        #expect(foreign.status == 64, "\(foreign.stderr)")
        #expect(foreign.stderr.contains("faults need a target that"), "\(foreign.stderr)")
    }

    static var ensembleScript: String { FileManager.default.currentDirectoryPath + "/scripts/ensemble" }

    /// A scripts/ensemble quorum in a directory of its own on random free ports: its environment and
    /// connect string. Stop it with `stopEnsemble`.
    static func startEnsemble() async throws -> (environment: [String: String], connectString: String) {
        let directory = Scratch.path("ensemble-\(UUID().uuidString)")
        var environment = ["ZKSTORM_ENSEMBLE_DIR": directory, "ZKSTORM_ENSEMBLE_CONTROL": Self.ensembleScript]
        var started: (status: Int32, output: String) = (1, "")
        for _ in 0..<5 {
            environment["ZKSTORM_ENSEMBLE_BASE_PORT"] = String(Int.random(in: 21_000...32_000))
            started = try await ExternalCommand.output(Self.ensembleScript, ["start", "3"], environment: environment)
            if started.status == 0 { break }
            await Self.stopEnsemble(environment)
        }
        guard started.status == 0 else { throw TestServerError("scripts/ensemble start failed: \(started.output)") }
        return (environment, started.output.split(separator: "\n").last.map(String.init) ?? "")
    }

    static func stopEnsemble(_ environment: [String: String]) async {
        _ = try? await ExternalCommand.output(Self.ensembleScript, ["stop"], environment: environment)
    }

    @Test func quorumLeaderKilledAndRestarted() async throws {
        let (environment, connectString) = try await Self.startEnsemble()
        do {
            let run = try await Self.run(
                Self.workload(duration: "8s", faults: "  - {at: 2s, action: kill, node: leader, for: 2s}"),
                ["--target", connectString],
                environment: environment
            )
            #expect(run.status == 0, "\(run.stderr)")
            let fault = (run.json["faults"] as? [[String: Any]])?.first ?? [:]
            #expect((1...3).contains(fault["node"] as? Int ?? 0), "\(fault)")
            #expect((fault["label"] as? String)?.contains("(leader) for 2s") == true, "\(fault)")
            #expect(fault["restored_at_s"] as? Double ?? 0 >= 4, "\(fault)")
            #expect(fault["error"] == nil, "\(fault)")
            let cost = fault["cost"] as? [String: Any] ?? [:]
            #expect(cost["connection_losses"] as? Int ?? 0 >= 1, "\(cost)")
            Self.ledgerBalances(run.json)
            // The run leaves the quorum as it found it: the restarted member serves again (it may still be
            // syncing with the leader when the run ends: up to 30 s).
            var status: (status: Int32, output: String) = (1, "")
            var serving = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while serving < 3 && ContinuousClock.now < deadline {
                status = try await ExternalCommand.output(Self.ensembleScript, ["status"], environment: environment)
                serving =
                    status.output.split(separator: "\n").filter {
                        $0.hasSuffix("leader") || $0.hasSuffix("follower")
                    }.count
                if serving < 3 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(serving == 3, "\(status.output)")
        } catch {
            await Self.stopEnsemble(environment)
            throw error
        }
        await Self.stopEnsemble(environment)
    }

    static func herd(fault: String) -> String {
        """
        name: herd
        sessions: 0
        duration: 7s
        warmup: 1s
        reconnect: {policy: jitter, base: 20ms, max: 500ms}
        herd: {sessions: 20, znodes: 10, rate: 20, policies: [immediate, jitter]}
        faults:
          - \(fault)

        """
    }

    /// The herd's figures for each policy: the steady read rate its writer causes, every cache reading
    /// its tree again after the fault, an amplification above 1, and cache lag before and after.
    static func expectHerd(_ run: ZkstormProcess.WorkloadRun) {
        #expect(run.status == 0, "\(run.stderr)")
        let herd = run.json["herd"] as? [String: Any] ?? [:]
        let groups = herd["groups"] as? [[String: Any]] ?? []
        #expect(groups.map { $0["policy"] as? String } == ["immediate", "jitter base 20ms max 500ms"], "\(groups)")
        for group in groups {
            let policy = group["policy"] as? String ?? "?"
            #expect(group["sessions"] as? Int == 10, "\(policy)")
            // 10 caches, 20 writes a second: each write is read once by each cache.
            let steady = group["steady_reads_per_s"] as? Double ?? 0
            #expect((100...260).contains(steady), "\(policy): steady \(steady) reads/s")
            #expect(group["reread"] as? Int == 10, "\(policy): every cache read its tree again: \(group)")
            #expect(group["amplification"] as? Double ?? 0 > 1.5, "\(policy): \(group)")
            #expect((group["lag_us"] as? [String: Any])?["p50"] != nil, "\(policy)")
            #expect((group["lag_after_fault_us"] as? [String: Any])?["p50"] != nil, "\(policy)")
            #expect((group["reads_per_s"] as? [Double])?.count ?? 0 >= 60, "\(policy)")
        }
        #expect(run.stdout.contains("reconnect herd: 20 tree caches of 10 znodes"), "\(run.stdout)")
        #expect(run.html.contains("Reconnect herd: cache reads per second"), "no herd chart")
    }

    @Test func reconnectHerdOnTheBuiltInServer() async throws {
        Self.expectHerd(try await Self.run(Self.herd(fault: "{at: 3s, action: drop}")))
    }

    @Test func reconnectHerdAcrossALeaderElection() async throws {
        let (environment, connectString) = try await Self.startEnsemble()
        do {
            Self.expectHerd(
                try await Self.run(
                    Self.herd(fault: "{at: 3s, action: kill, node: leader, for: 2s}"),
                    ["--target", connectString],
                    environment: environment
                )
            )
        } catch {
            await Self.stopEnsemble(environment)
            throw error
        }
        await Self.stopEnsemble(environment)
    }
}
