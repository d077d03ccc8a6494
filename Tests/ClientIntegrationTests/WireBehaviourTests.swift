import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import ZooKeeperClient
import ZooKeeperProtocol

/// What the client puts on the wire, checked byte by byte against a recording peer.
@Suite("Wire behaviour")
struct WireBehaviourTests {
    @Test func handshakeIs45BytesWithReadOnlyFlag() async throws {
        let peer = try await RecordingPeer(timeoutMs: 30_000, answerPings: true)
        defer { Task { try await peer.stop() } }
        var configuration = ZooKeeperConfiguration(connectString: peer.connectString)
        configuration.sessionTimeout = .milliseconds(12_345)
        let client = try await ZooKeeperClient.connect(configuration)
        let handshake = try #require(peer.record.withLockedValue { $0.handshakes.first })
        #expect(handshake.count == 45)
        var buffer = ByteBuffer(bytes: handshake)
        let request = try ConnectRequest(from: &buffer)
        #expect(request.protocolVersion == 0)
        #expect(request.timeOut == 12_345)
        #expect(request.sessionId == 0)
        #expect(request.password == [UInt8](repeating: 0, count: 16))
        #expect(request.readOnly == false)
        #expect(client.negotiatedTimeout == .seconds(30))
        try await client.close()
    }

    @Test func idleClientPingsEveryThirdOfTheTimeout() async throws {
        // A loop of their own: busy neighbours on the shared group must not delay the ticks measured here.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let peer = try await RecordingPeer(timeoutMs: 3000, answerPings: true, group: group)
        let client = try await ZooKeeperClient.connect(
            ZooKeeperConfiguration(connectString: peer.connectString),
            eventLoopGroup: group
        )
        try await Task.sleep(for: .milliseconds(4500))
        let pings = peer.record.withLockedValue { $0.pings }
        // One ping per second of idleness: 4 in 4.5 s, allowing for scheduling slack.
        #expect((3...5).contains(pings.count), "\(pings.count) pings")
        let gaps = zip(pings, pings.dropFirst()).map { Double($1 - $0) / 1e6 }
        #expect(gaps.allSatisfy { $0 >= 950 }, "gaps in ms: \(gaps)")
        #expect(client.stats.connectionLosses == 0, "answered pings keep the connection")
        try await client.close()
        try await peer.stop()
        try await group.shutdownGracefully()
    }

    @Test func unansweredPingsDropTheConnectionAfterTwoThirdsOfTheTimeout() async throws {
        let peer = try await RecordingPeer(timeoutMs: 1500, answerPings: false)
        defer { Task { try await peer.stop() } }
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: peer.connectString))
        let start = ContinuousClock.now
        while client.stats.connectionLosses == 0, ContinuousClock.now - start < .seconds(3) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - start
        #expect(client.stats.connectionLosses >= 1)
        // Read timeout = 2/3 × 1500 ms = 1 s (checked every 50 ms).
        #expect(elapsed >= .milliseconds(900) && elapsed < .milliseconds(2000), "\(elapsed)")
        // The reconnect presented the same session.
        let start2 = ContinuousClock.now
        while peer.record.withLockedValue({ $0.handshakes.count }) < 2, ContinuousClock.now - start2 < .seconds(2) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let handshakes = peer.record.withLockedValue { $0.handshakes }
        #expect(handshakes.count >= 2)
        if handshakes.count >= 2 {
            var buffer = ByteBuffer(bytes: handshakes[1])
            let again = try ConnectRequest(from: &buffer)
            #expect(again.sessionId == 0x77)
            #expect(again.password == [UInt8](repeating: 2, count: 16))
        }
        try await client.close()
    }
}
