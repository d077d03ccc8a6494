import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperTestSupport

@testable import StormEngine

/// Slow consumers (issue 15): storm runs where some watchers stop reading their socket mid-storm,
/// against the built-in server (which closes them past its 4 MiB outbox limit) and real ZooKeeper
/// (which buffers for them without bound).
extension EngineTests {
    @Suite("Slow-consumer runs", .serialized)
    struct SlowConsumerRunTests {
        /// 20 watchers, the last 4 stall from round 3 and each asks for `reads` values of `value` per round.
        static func workload(target: String?, reads: Int, value: String) throws -> Workload {
            var workload = try WorkloadParser.parse(
                """
                name: slow-consumers
                duration: 40s
                warmup: 0s
                watches:
                  kind: persistent
                  watchers: 20
                  znodes: 2
                  storm: {rounds: 8, interval: 250ms, timeout: 3s}
                  stall: {watchers: 4, from_round: 3, reads: \(reads), value: \(value)}
                """,
                file: "slow-consumers.yaml"
            )
            workload.target = target
            return workload
        }

        /// Figures both targets must show: every round went to the 16 healthy watchers after the stall
        /// and none of theirs was missing; the result renders and round-trips through JSON.
        static func checkHealthy(_ result: RunResult) throws -> SlowConsumerSummary {
            let slow = try #require(result.slowConsumers)
            #expect(slow.stalledWatchers == 4 && slow.healthyWatchers == 16)
            #expect(slow.before.rounds == 2 && slow.after.rounds == 6)
            #expect(slow.before.notifications == 2 * 2 * 20)
            #expect(slow.after.notifications == 6 * 2 * 16)
            #expect(slow.after.missing == 0)
            #expect(slow.before.p99Us != nil && slow.after.p99Us != nil)
            #expect(slow.readsSent == 6 * 4 * slow.readsPerRound)
            let text = TextReport.render(result)
            #expect(text.contains("slow consumers: 4 of 20 watchers stopped reading from round 3"))
            #expect(text.contains("after the stall"))
            let decoded = try JSONDecoder().decode(RunResult.self, from: result.jsonData())
            #expect(decoded.slowConsumers == slow)
            return slow
        }

        @Test func builtInServerClosesStalledWatchersWhileTheOthersGetEveryNotification() async throws {
            // 16 × 512 KiB a round: past the kernel's buffers and the 4 MiB outbox within two rounds.
            let outcome = try await StormRun(workload: Self.workload(target: nil, reads: 16, value: "512KiB")).run()
            let slow = try Self.checkHealthy(outcome.result)
            #expect(
                (slow.serverClosedSlow ?? 0) >= 1,
                "server closed \(slow.serverClosedSlow.map(String.init) ?? "nil")"
            )
            #expect((slow.stalledConnectionsLost ?? 0) >= 1)
            #expect(TextReport.render(outcome.result).contains("for not reading (zk_connections_closed_slow)"))
            print("built-in slow consumers:", SlowConsumerReport.render(slow))
        }

        @Test func realZooKeeperBuffersForStalledWatchers() async throws {
            let server = try await TestTarget.realZooKeeper.shared()
            // 8 × 256 KiB a round: 48 MiB held for the 4 stalled watchers by the end (the JVM has 768 MiB).
            let outcome = try await StormRun(
                workload: Self.workload(target: server.connectString, reads: 8, value: "256KiB")
            ).run()
            let slow = try Self.checkHealthy(outcome.result)
            // ZooKeeper has no outbox limit: it neither closes them nor reports such a count.
            #expect(slow.serverClosedSlow == nil)
            #expect(slow.stalledConnectionsLost == 0)
            #expect(TextReport.render(outcome.result).contains("buffers for stalled clients without bound"))
            let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            #expect(try await client.exists(outcome.root) == nil)
            try await client.close()
            print("real ZooKeeper slow consumers:", SlowConsumerReport.render(slow))
        }
    }
}
