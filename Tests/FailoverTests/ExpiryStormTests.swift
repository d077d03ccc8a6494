import Foundation
import StormEngine
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

/// Expiry storm (ZOOKEEPER-1669) at CI scale: hundreds of sessions expire at once because their server
/// (the built-in one paused, or every member of a real quorum SIGSTOPped) stays silent past their
/// session timeout; every one is replaced, and the report says how long replacement took and when
/// requests all succeeded again.
@Suite("Expiry storm", .serialized)
struct ExpiryStormTests {
    /// Every run session expired at least once and was replaced; the load went on after.
    static func expectStormReplaced(_ result: RunResult, sessions: Int) throws {
        let failover = try #require(result.failover)
        #expect(failover.expirations >= UInt64(sessions), "\(failover.expirations) of \(sessions) expired")
        #expect(failover.sessionsReplaced == failover.expirations, "each expired session was replaced")
        #expect(result.sessions.expired == failover.expirations)
        let replacement = try #require(failover.replacementUs)
        #expect(replacement.p50 > 0 && replacement.max < 30_000_000, "\(replacement)")
        let tail = result.timeline.dropLast().suffix(2)
        #expect(tail.count == 2 && tail.allSatisfy { $0.ops > 0 }, "\(result.timeline)")
        FailoverFigures.record("expiry storm, \(sessions) sessions", result)
    }

    /// The `expiry-storm` preset with 100 sessions: the built-in server paused 9 s, past the 4 s timeout.
    /// (Its pause freezes the connections it has; replacements connect and are served meanwhile.)
    @Test func presetOnTheBuiltInServer() async throws {
        var workload = try Presets.workload(named: "expiry-storm")
        #expect(workload.sessionTimeout == .seconds(4))
        #expect(workload.faults.first?.action == .pause)
        workload.sessions = 100
        workload.duration = .seconds(20)
        workload.faults = [FaultSpec(at: .seconds(3), action: .pause, duration: .seconds(9))]
        let outcome = try await StormRun(workload: workload).run()
        let result = try JSONDecoder().decode(RunResult.self, from: outcome.result.jsonData())
        #expect(!outcome.interrupted)
        try Self.expectStormReplaced(result, sessions: 100)
        let fault = try #require(result.faults?.first)
        #expect(fault.label == "pause the server for 9s")
        let cost = try #require(fault.cost)
        #expect(cost.expirations >= 100)
        #expect((cost.errorsByCode["SESSIONEXPIRED"] ?? 0) + (cost.errorsByCode["CONNECTIONLOSS"] ?? 0) > 0, "\(cost)")
        // Requests fail SESSIONEXPIRED until each session's replacement is ready, then all succeed.
        let recovered = try #require(cost.recoveredAfterS, "\(cost)")
        #expect(recovered >= 0 && recovered < 8, "\(recovered) s")
        let report = TextReport.render(result)
        #expect(report.contains("requests all succeed again"), "\(report)")
        #expect(report.contains("sessions replaced"), "\(report)")
    }

    /// 200 sessions on a real 3-node quorum whose members are all SIGSTOPped for 9 s (4 s timeout).
    @Test func wholeQuorumStoppedPastTheTimeout() async throws {
        let ensemble = try await RealEnsemble.start(tickTime: 500)
        do {
            var workload = Workload(
                name: "expiry-storm",
                target: ensemble.connectString,
                sessions: 200,
                duration: .seconds(22),
                warmup: .milliseconds(500),
                keyspace: KeySpace(count: 200, valueSize: 64),
                groups: [
                    OperationGroup(
                        name: "clients",
                        operations: [OperationSpec(kind: .get, weight: 90), OperationSpec(kind: .set, weight: 10)],
                        load: .open(rate: 400, arrivals: .poisson, maxInFlight: 64)
                    )
                ]
            )
            workload.sessionTimeout = .seconds(4)
            let run = StormRun(workload: workload)
            async let faults: Void = {
                try await Task.sleep(for: .seconds(3))
                for node in 1...3 { try ensemble.pause(node) }
                try await Task.sleep(for: .seconds(9))
                for node in 1...3 { try ensemble.resume(node) }
                try await ensemble.waitForQuorum()
            }()
            let outcome = try await run.run()
            try await faults
            #expect(!outcome.interrupted)
            try Self.expectStormReplaced(outcome.result, sessions: 200)
            let expired = outcome.result.failover?.intervals.reduce(0) { $0 + ($1.errorsByCode["SESSIONEXPIRED"] ?? 0) }
            #expect(expired ?? 0 > 0, "requests on expired sessions are counted by code")
        } catch {
            await ensemble.stop()
            throw error
        }
        await ensemble.stop()
    }
}
