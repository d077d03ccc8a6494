import Foundation
import Testing
import ZooKeeperTestSupport

/// A staged run on both servers: the open loop follows each stage's rate, closed loops each stage's
/// sessions, and the stages are in the JSON and on the HTML charts.
@Suite("zkstorm run stages end to end", .serialized)
struct StagesRunTests {
    static let workload = """
        name: staged
        sessions: 4
        warmup: 0s
        keyspace: {count: 100}
        groups:
          - name: open
            sessions: 2
            ops: {get: 1}
            load: {model: open, rate: 100, arrivals: constant}
          - name: closed
            sessions: 2
            ops: {exists: 1}
            load: {model: closed, concurrency: 1, window: 1}
        stages:
          - {duration: 2s, rate: 100, sessions: 0}
          - {duration: 2s, rate: 300, sessions: 2}

        """

    @Test(arguments: TestTarget.allCases)
    func stagesDriveRateAndSessions(target: TestTarget) async throws {
        let server = try await target.shared()
        let result = try await ZkstormProcess.runWorkload(Self.workload, ["--target", server.connectString])
        #expect(result.status == 0, "\(result.stderr)")
        let object: [String: Any]? = result.json
        let operations = object?["operations"] as? [String: Any] ?? [:]
        let gets = (operations["get"] as? [String: Any])?["count"] as? Int ?? 0
        // 2 s at 100/s and 2 s at 300/s.
        #expect((700...850).contains(gets), "open-loop gets \(gets)")
        let timeline = object?["timeline"] as? [[String: Any]] ?? []
        // The closed loop runs only in the second stage: the first interval carries the open loop's ~100
        // gets (a few late starts on a loaded machine), not a closed loop's thousands.
        let first = timeline.prefix(1).compactMap { $0["ops"] as? Int }.reduce(0, +)
        #expect(first <= 400, "closed loop ran during a 0-session stage: \(timeline)")
        #expect((operations["exists"] as? [String: Any])?["count"] as? Int ?? 0 > 0, "the closed loop never ran")
        let stages = object?["stages"] as? [[String: Any]] ?? []
        #expect(stages.count == 2)
        #expect(stages.last?["start_s"] as? Double == 2)
        let page = result.html
        #expect(page.contains("300 ops/s, 2 sessions"), "no stage marker on the charts")
    }

    static let watcherRamp = """
        name: watcher-ramp
        sessions: 0
        warmup: 0s
        watches:
          kind: data
          watchers: 30
          znodes: 1
          storm: {rounds: 1000, interval: 150ms, writer: dedicated, timeout: 2s, rearm: immediate}
        stages:
          - {duration: 1500ms, watchers: 5}
          - {duration: 1500ms, watchers: 30}
          - {duration: 1500ms, watchers: 10}

        """

    /// Watcher stages: each round goes to the watchers its stage asks for (joiners arm, leavers remove
    /// their watches), and the ledger is due exactly those: nothing missed, and no notification to a
    /// watcher that left (it would be excess).
    @Test(arguments: TestTarget.allCases)
    func watcherStagesRampTheStorm(target: TestTarget) async throws {
        let server = try await target.shared()
        let result = try await ZkstormProcess.runWorkload(Self.watcherRamp, ["--target", server.connectString])
        #expect(result.status == 0, "\(result.stderr)")
        let object: [String: Any]? = result.json
        let rounds = object?["rounds"] as? [[String: Any]] ?? []
        let watchers = rounds.compactMap { $0["watchers"] as? Int }
        #expect(watchers.count == rounds.count && rounds.count >= 12, "rounds: \(rounds)")
        // The stages in order: 5, then 30, then 10 (each stage holds several 150 ms rounds).
        var order: [Int] = []
        for count in watchers where order.last != count { order.append(count) }
        #expect(order == [5, 30, 10], "watchers per round: \(watchers)")
        for round in rounds {
            #expect(round["expected"] as? Int == round["watchers"] as? Int, "\(round)")
            #expect(round["missing"] as? Int == 0, "\(round)")
        }
        let ledger = (object?["failover"] as? [String: Any])?["watch"] as? [String: Any] ?? [:]
        let expected = rounds.reduce(0) { $0 + ($1["expected"] as? Int ?? 0) }
        #expect(ledger["due"] as? Int == expected, "ledger \(ledger), rounds due \(expected)")
        #expect(ledger["missed"] as? Int == 0, "\(ledger)")
        #expect(ledger["excess"] as? Int == 0, "a watcher that left was still notified: \(ledger)")
        let stages = object?["stages"] as? [[String: Any]] ?? []
        #expect(stages.map { $0["label"] as? String } == ["5 watchers", "30 watchers", "10 watchers"])
        let page = result.html
        #expect(page.contains("30 watchers"), "no stage marker on the charts")
    }
}
