import Foundation
import StormEngine
import StormMetrics
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Runs the engine against a real 3-node ZooKeeper quorum and breaks members during the run; asserts on
/// the result as the JSON carries it.
@Suite("Failover on a real quorum", .serialized)
struct QuorumFailoverTests {
    /// A mixed load (closed-loop readers, open-loop writers) plus a one-shot data-watch storm, short
    /// enough for the suite: 4 s sessions on a tickTime-500 quorum.
    static func workload(target: String, duration: Duration) -> Workload {
        var workload = Workload(
            name: "failover",
            target: target,
            sessions: 6,
            duration: duration,
            warmup: .milliseconds(300),
            keyspace: KeySpace(count: 100, valueSize: 64),
            groups: [
                OperationGroup(
                    name: "readers",
                    sessions: 4,
                    operations: [
                        OperationSpec(kind: .get, weight: 80), OperationSpec(kind: .exists, weight: 10),
                        OperationSpec(kind: .children, weight: 10),
                    ],
                    load: .closed(concurrency: 1, window: 2)
                ),
                OperationGroup(
                    name: "writers",
                    sessions: 2,
                    operations: [
                        OperationSpec(kind: .set, weight: 80), OperationSpec(kind: .multi, weight: 20, size: 2),
                    ],
                    load: .open(rate: 200, arrivals: .poisson, maxInFlight: 32)
                ),
            ],
            watches: WatchSpec(
                kind: .data,
                watchers: 12,
                znodes: 2,
                storm: StormSpec(rounds: 10_000, interval: .milliseconds(200), writer: .dedicated, timeout: .seconds(3))
            )
        )
        workload.sessionTimeout = .seconds(4)
        return workload
    }

    /// Runs `workload` while `faults` runs alongside; returns the outcome and the result decoded from JSON.
    static func run(
        _ workload: Workload,
        faults: @escaping @Sendable () async throws -> Void
    ) async throws -> (StormRun.Outcome, RunResult) {
        let run = StormRun(workload: workload)
        async let faultsDone: Void = faults()
        let outcome = try await run.run()
        try await faultsDone
        let decoded = try JSONDecoder().decode(RunResult.self, from: outcome.result.jsonData())
        #expect(decoded == outcome.result, "the result survives its JSON form")
        return (outcome, decoded)
    }

    static func expectRootRemoved(_ root: String, _ ensemble: RealEnsemble) async throws {
        var configuration = ZooKeeperConfiguration(connectString: ensemble.connectString)
        configuration.sessionTimeout = .seconds(4)
        let client = try await ZooKeeperClient.connect(configuration)
        #expect(try await client.exists(root) == nil, "the run root \(root) is gone after the run")
        try await client.close()
    }

    /// After the faults, the load and the storm went on (the last two full seconds did work, the last five
    /// rounds notified every watcher), every watch is accounted for, and the run root is gone.
    static func expectRecovered(_ result: RunResult, root: String, _ ensemble: RealEnsemble) async throws {
        // The last point is the few ms between the last full second and the end: it may hold nothing.
        let tail = result.timeline.dropLast().suffix(2)
        #expect(tail.count == 2 && tail.allSatisfy { $0.ops > 0 }, "\(result.timeline)")
        let lastRounds = result.rounds.suffix(5)
        #expect(lastRounds.count == 5)
        #expect(lastRounds.allSatisfy { $0.notified == $0.expected && $0.notified > 0 }, "\(lastRounds)")
        try expectWatchesAccounted(result)
        try await expectRootRemoved(root, ensemble)
    }

    /// Every write to a watched znode is received, collapsed or counted missed; none twice.
    static func expectWatchesAccounted(_ result: RunResult) throws {
        let ledger = try #require(result.failover?.watch)
        #expect(ledger.versionsRead)
        #expect(ledger.writes > 0)
        #expect(ledger.excess == 0)
        #expect(ledger.received + ledger.collapsed + ledger.missed == ledger.due)
        // Each round's count adds up too: expected = notified + missing.
        for round in result.rounds { #expect(round.expected == round.notified + round.missing) }
    }

    /// A fresh quorum for `body`, stopped on every way out (the next test must not share the cores
    /// with a leftover one).
    static func withEnsemble(_ body: (RealEnsemble) async throws -> Void) async throws {
        let ensemble = try await RealEnsemble.start(tickTime: 500)
        do {
            try await body(ensemble)
        } catch {
            await ensemble.stop()
            throw error
        }
        await ensemble.stop()
    }

    @Test func killFollowerThenLeaderDuringRun() async throws {
        try await Self.withEnsemble { ensemble in
            let workload = Self.workload(target: ensemble.connectString, duration: .seconds(13))
            let killed = SharedValue<[Int]>([])
            let (outcome, result) = try await Self.run(workload) {
                try await Task.sleep(for: .seconds(3))
                let leader = try #require(await ensemble.leader())
                let follower = (1...3).first { $0 != leader }!
                try await ensemble.kill(follower)
                try await Task.sleep(for: .seconds(2))
                try await ensemble.restart(follower)
                let newLeader = try #require(await ensemble.leader())
                try await ensemble.kill(newLeader)
                try await Task.sleep(for: .seconds(2))
                try await ensemble.restart(newLeader)
                killed.set([follower, newLeader])
            }
            #expect(!outcome.interrupted)
            #expect(killed.get().count == 2)
            #expect(result.durationSeconds > 12, "the run went on to its end")
            let failover = try #require(result.failover)
            // The leader's death drops every session (a new election); the follower's drops its share.
            #expect(failover.connectionLosses >= 2)
            #expect(failover.reconnects == failover.connectionLosses, "every lost session found a survivor")
            #expect(failover.expirations == 0)
            let reconnect = try #require(failover.reconnectUs)
            #expect(reconnect.max < 4_000_000, "sessions move within their 4 s timeout")
            #expect(result.histogram("reconnect")?.count == failover.reconnects)
            #expect(failover.intervals.contains { $0.connectionLosses > 0 })
            // Errors are kept per interval by code, and add up to the run's totals.
            let perInterval = failover.intervals.reduce(UInt64(0)) { $0 + $1.errorsByCode.values.reduce(0, +) }
            let total = result.operations.values.reduce(UInt64(0)) { $0 + $1.errors }
            #expect(perInterval == total)
            // Load and watches kept going after the second fault.
            try await Self.expectRecovered(result, root: outcome.root, ensemble)
            FailoverFigures.record("kill follower then leader", result)
        }
    }

    @Test
    func quorumPausedPastSessionTimeoutExpiresAndReplacesSessions() async throws {
        try await Self.withEnsemble { ensemble in
            // 9 s frozen, then up to ~5 s to replace every session on a busy 2-core machine: 22 s leaves
            // the last rounds room to run whole.
            let workload = Self.workload(target: ensemble.connectString, duration: .seconds(22))
            let (outcome, result) = try await Self.run(workload) {
                try await Task.sleep(for: .seconds(3))
                // With one member paused the sessions just move; with every member frozen no server
                // answers within the 4 s timeout and the sessions expire.
                for node in 1...3 { try ensemble.pause(node) }
                // Clients notice the silence after 2/3 of the timeout and give the session up 4 s later.
                try await Task.sleep(for: .seconds(9))
                for node in 1...3 { try ensemble.resume(node) }
                try await ensemble.waitForQuorum()
            }
            #expect(!outcome.interrupted)
            let failover = try #require(result.failover)
            let watchers = workload.watches!.watchers
            let sessions = workload.sessions + watchers + 1
            #expect(failover.expirations >= UInt64(sessions), "every run session expired (control included)")
            #expect(result.sessions.expired == failover.expirations)
            #expect(failover.sessionsReplaced == failover.expirations, "each expired session was replaced")
            #expect(failover.watchesRecreated == UInt64(watchers * workload.watches!.znodes))
            #expect(failover.intervals.contains { ($0.errorsByCode["SESSIONEXPIRED"] ?? 0) > 0 })
            let replacement = try #require(failover.replacementUs)
            #expect(replacement.max < 10_000_000)
            // After the new sessions, the load and the storm go on.
            try await Self.expectRecovered(result, root: outcome.root, ensemble)
            FailoverFigures.record("quorum paused 9 s (sessions expire)", result)
        }
    }
}

/// A value shared between the fault task and the test body.
final class SharedValue<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

/// Prints the figures a run measured (for the README table) to stderr of the test run.
enum FailoverFigures {
    static func record(_ fault: String, _ result: RunResult) {
        guard let f = result.failover else { return }
        var line = "FAILOVER-FIGURES \(fault): losses \(f.connectionLosses) reconnects \(f.reconnects)"
        if let r = f.reconnectUs { line += " reconnect_us p50 \(r.p50) p99 \(r.p99) max \(r.max)" }
        line += " expirations \(f.expirations) replaced \(f.sessionsReplaced)"
        if let r = f.replacementUs { line += " replacement_us p50 \(r.p50) max \(r.max)" }
        line += " watches_recreated \(f.watchesRecreated)"
        if let w = f.watch {
            line +=
                " ledger writes \(w.writes) due \(w.due) received \(w.received) late \(w.late) collapsed \(w.collapsed) missed \(w.missed)"
        }
        line += " rounds \(result.rounds.count) round_missing \(result.watch.missed)"
        let errors = result.operations.values.reduce(into: [String: UInt64]()) { all, op in
            for (code, count) in op.errorsByCode { all[code, default: 0] += count }
        }
        line += " errors \(errors.sorted { $0.key < $1.key })"
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
