import NIOCore
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Connections that never finish the handshake are closed after `handshakeTimeout` and counted
/// (issue 16: `zkstorm serve` kept them forever); a client that did handshake is not touched.
@Suite(.serialized) struct HandshakeTimeoutTests {
    static let timeout: Duration = .milliseconds(600)

    private func withShortTimeoutServer<T>(_ body: (ZooKeeperServer) async throws -> T) async throws -> T {
        try await withBuiltInServer(configure: { $0.handshakeTimeout = Self.timeout }, body)
    }

    /// Seconds until the server closes `socket` (nil if it is still open after the socket's read timeout).
    private func secondsUntilClosed(_ socket: WireSocket) -> Double? {
        let started = ContinuousClock.now
        guard socket.isClosedByPeer() else { return nil }
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test func silentAndHalfFrameConnectionsAreClosedWithinTheTimeout() async throws {
        try await withShortTimeoutServer { server in
            let client = try WireSocket(port: server.port)
            try client.handshake()

            let silent = try WireSocket(port: server.port, timeoutSeconds: 4)
            let halfFrame = try WireSocket(port: server.port, timeoutSeconds: 4)
            // A ConnectRequest's length prefix (45) and 10 of its 45 bytes, then nothing more.
            try halfFrame.send([0, 0, 0, 45] + [UInt8](repeating: 0, count: 10))

            let silentAfter = try #require(secondsUntilClosed(silent), "a silent connection stayed open")
            let halfAfter = try #require(secondsUntilClosed(halfFrame), "a half-frame connection stayed open")
            // Closed because of the timeout (0.6 s), not at once, and well before a slow bound.
            #expect(silentAfter > 0.3 && silentAfter < 3, "closed after \(silentAfter) s")
            #expect(halfAfter < 3, "closed after \(halfAfter) s")

            // The client that did handshake is past the timeout too, and still served.
            let (header, response) = try client.call(.exists(path: "/zookeeper", watch: false))
            #expect(header.err == .ok)
            #expect(response != nil)

            let mntr = try await FourLetterWordClient.monitor(host: "127.0.0.1", port: server.port)
            #expect(mntr["zk_sessionless_connections_expired"] == "2")
            #expect(mntr["zk_num_alive_connections"] == "2", "the client and the mntr connection")
        }
    }

    @Test func aFourLetterWordIsNotCountedAsExpired() async throws {
        try await withShortTimeoutServer { server in
            #expect(try await FourLetterWordClient.send("ruok", host: "127.0.0.1", port: server.port) == "imok")
            try await Task.sleep(for: Self.timeout * 2)
            let mntr = try await FourLetterWordClient.monitor(host: "127.0.0.1", port: server.port)
            #expect(mntr["zk_sessionless_connections_expired"] == "0")
        }
    }

    @Test func theDefaultIsZooKeepersSessionlessConnectionTimeout() {
        #expect(ZooKeeperServerConfiguration().handshakeTimeout == .seconds(10))
    }
}
