import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import StormEngine

/// `zkstorm check` as a library: the probe runs in this process against both servers, the same body.
extension EngineTests {
    @Suite("Target probe", .serialized)
    struct TargetProbeTests {
        /// Every feature the probe checks, in the order it reports them.
        static let features = [
            "create", "create2", "exists", "getData", "setData", "getChildren", "getChildren2", "delete",
            "create errors", "sequential", "ephemeral", "getACL/setACL", "sync", "digest auth", "multi",
            "multi failure", "multiRead", "TTL nodes", "containers", "getEphemerals", "getAllChildrenNumber",
            "whoAmI", "exists watch (missing node)", "exists watch (node)", "getData watch", "one-shot",
            "getChildren watch", "delete fires data+child watches once", "setACL fires nothing",
            "checkWatches/removeWatches", "persistent watch", "persistent recursive watch", "ruok", "srvr", "stat",
            "mntr", "envi", "conf", "cons", "wchs", "wchc", "wchp", "isro", "cleanup",
        ]

        @Test(arguments: TestTarget.allCases)
        func everyFeatureIsSupportedAndTheRootIsGone(target: TestTarget) async throws {
            let server = try await target.shared()
            let probe = TargetProbe(connectString: try ConnectString(parsing: server.connectString))
            let results = try await probe.run()
            #expect(results.map(\.feature) == Self.features)
            // Both servers are ZooKeeper 3.8 with extended types and every four-letter word allowed.
            let failing = results.filter { $0.outcome != .supported }
            #expect(failing.isEmpty, "\(failing)")
            let byFeature = Dictionary(uniqueKeysWithValues: results.map { ($0.feature, $0) })
            #expect(
                byFeature["persistent watch"]?.detail
                    == "NodeDataChanged \(probe.root)/w/a, NodeDataChanged \(probe.root)/w/a"
            )
            #expect(byFeature["one-shot"]?.detail == "no event")
            #expect(byFeature["ruok"]?.detail == "imok")
            #expect(byFeature["create"]?.core == true)
            #expect(byFeature["cleanup"]?.detail == "removed \(probe.root)")

            let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            #expect(try await client.exists(probe.root) == nil)
            try await client.close()
        }

        @Test func anUnreachableTargetThrowsInsteadOfReporting() async throws {
            let port = FreePort.allocate()
            let probe = TargetProbe(connectString: ConnectString(hosts: [HostPort(host: "127.0.0.1", port: port)]))
            await #expect(throws: ZooKeeperError.self) { try await probe.run() }
        }

        /// The event log waits on the watch sequence: an expected event wakes it at once, a missing one
        /// ends the wait at its timeout.
        @Test func theEventLogWakesOnTheEventAndGivesUpAtTheTimeout() async throws {
            let server = try await TestTarget.builtIn.shared()
            let configuration = ZooKeeperConfiguration(connectString: server.connectString)
            let client = try await ZooKeeperClient.connect(configuration)
            let watcher = try await ZooKeeperClient.connect(configuration)
            let path = TestTarget.uniqueRoot("event-log")
            let log = ProbeEventLog()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await log.consume(watcher.events) }
                let clock = ContinuousClock()

                let start = clock.now
                #expect(await log.wait(for: 1, timeout: .milliseconds(300)) == false)
                let waited = clock.now - start
                #expect(waited >= .milliseconds(300))
                #expect(waited < .seconds(3))

                _ = try await watcher.exists(path, watch: true)
                log.clear()
                _ = try await client.create(path)
                #expect(await log.wait(for: 1, timeout: .seconds(10)) == true)
                #expect(log.summaries == ["NodeCreated \(path)"])
                #expect(await log.wait(for: 0, timeout: .seconds(10)) == true)

                try await client.delete(path)
                try await watcher.close()
                try await client.close()
                group.cancelAll()
            }
        }
    }
}
