import NIOCore
import NIOPosix
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Back-pressure of the `events` sequence and keeping quiet sessions alive.
@Suite("Event delivery")
struct EventDeliveryTests {
    @Test(arguments: TestTarget.allCases)
    func slowConsumerPausesReadsAndLosesNothing(target: TestTarget) async throws {
        try await withSharedClient(target) { writer, root in
            let server = try await target.shared()
            var configuration = ZooKeeperConfiguration(connectString: server.connectString)
            configuration.eventBufferHighWatermark = 8
            configuration.eventBufferLowWatermark = 2
            let watcher = try await ZooKeeperClient.connect(configuration)
            try await watcher.addWatch(root, mode: .persistent)
            let count = 300
            let consumer = Task {
                var seen: [WatchEvent] = []
                for await event in watcher.events where event.type == .nodeDataChanged {
                    seen.append(event)
                    if seen.count % 50 == 0 { try? await Task.sleep(for: .milliseconds(50)) }
                    if seen.count == count { break }
                }
                return seen
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    group.addTask { _ = try await writer.setData(root, data: Array("\(i)".utf8)) }
                }
                try await group.waitForAll()
            }
            let seen = await consumer.value
            #expect(seen.count == count)
            #expect(seen.allSatisfy { $0.path == root })
            // Arrival stamps never go backwards: events are delivered in decode order.
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.receivedAt <= $1.receivedAt })
            #expect(watcher.stats.eventBackPressurePauses > 0, "\(watcher.stats)")
            // Reads resumed: the session still answers.
            let stat = try await watcher.exists(root)
            #expect(stat?.version == Int32(count))
            try await watcher.close()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func consumerStalledPastReadTimeoutKeepsConnection(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 200)
        defer { Task { try await server.destroy() } }
        var configuration = ZooKeeperConfiguration(connectString: server.connectString)
        configuration.sessionTimeout = .milliseconds(3000)
        configuration.eventBufferHighWatermark = 4
        configuration.eventBufferLowWatermark = 1
        let watcher = try await ZooKeeperClient.connect(configuration)
        let writer = try await connectClient(server)
        _ = try await writer.create("/stall")
        try await watcher.addWatch("/stall", mode: .persistent)
        var iterator = watcher.events.makeAsyncIterator()
        #expect(await iterator.next()?.state == .syncConnected)
        for i in 0..<20 { _ = try await writer.setData("/stall", data: [UInt8(i)]) }
        // Reads are held while nobody consumes; stay away longer than the read timeout (2 s).
        try await Task.sleep(for: .milliseconds(2600))
        var changes = 0
        while changes < 20, let event = await iterator.next() {
            if event.type == .nodeDataChanged { changes += 1 }
        }
        #expect(changes == 20)
        #expect(watcher.stats.connectionLosses == 0, "\(watcher.stats)")
        #expect(watcher.stats.eventBackPressurePauses > 0)
        #expect(try await watcher.exists("/stall")?.version == 20)
        try await writer.close()
        try await watcher.close()
    }

    @Test(arguments: TestTarget.allCases)
    func idleSessionIsKeptAliveByPings(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 200)
        defer { Task { try await server.destroy() } }
        // 4 s (the most tickTime 200 allows) leaves room for scheduling stalls on a loaded machine, and
        // the client gets its own event loop so busy tests sharing the singleton group cannot starve it.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = ZooKeeperConfiguration(connectString: server.connectString)
        configuration.sessionTimeout = .milliseconds(4000)
        let client = try await ZooKeeperClient.connect(configuration, eventLoopGroup: group)
        #expect(client.negotiatedTimeout == .milliseconds(4000))
        _ = try await client.create("/alive", mode: .ephemeral)
        // Over two session timeouts without a request: only pings keep the session.
        try await Task.sleep(for: .milliseconds(9000))
        #expect(try await client.exists("/alive") != nil)
        #expect(client.stats.connectionLosses == 0)
        try await client.close()
        try await group.shutdownGracefully()
    }
}
