import Foundation
import NIOConcurrencyHelpers
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// The per-connection limits: a client that stops reading is closed once its outbox passes
/// `maxOutboxBytes` while another keeps getting its notifications, and `maxClientConnectionsPerHost`
/// closes the connection past the limit at accept (issue 15).
@Suite(.serialized) struct ConnectionLimitTests {
    private func withLimitedServer<T>(
        maxOutbox: Int = 4 * 1024 * 1024,
        maxPerHost: Int = 0,
        _ body: (ZooKeeperServer) async throws -> T
    ) async throws -> T {
        try await withBuiltInServer(
            configure: {
                $0.maxOutboxBytes = maxOutbox
                $0.maxClientConnectionsPerHost = maxPerHost
            },
            body
        )
    }

    private func client(_ server: ZooKeeperServer) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperConfiguration(connectString: server.connectString)
        configuration.sessionTimeout = .seconds(10)
        configuration.requestTimeout = .seconds(20)
        return try await ZooKeeperClient.connect(configuration)
    }

    private func counter(_ server: ZooKeeperServer, _ key: String) -> Int {
        Int(FourLetterWordClient.monitorValues(server.fourLetterWord("mntr") ?? "")[key] ?? "") ?? -1
    }

    @Test func aStalledReaderIsClosedPastTheLimitWhileAnotherWatcherKeepsItsNotifications() async throws {
        try await withLimitedServer(maxOutbox: 1024 * 1024) { server in
            let admin = try await client(server)
            let value = [UInt8](repeating: 0x61, count: 512 * 1024)
            _ = try await admin.create("/big", data: value)
            _ = try await admin.create("/watched", data: [])
            let stalled = try await client(server)
            let healthy = try await client(server)
            let heard = NIOLockedValueBox(0)
            healthy.setEventHandler { event in
                if event.type == .nodeDataChanged { heard.withLockedValue { $0 += 1 } }
            }
            try await healthy.addWatch("/watched", mode: .persistent)
            try await stalled.addWatch("/watched", mode: .persistent)

            stalled.setReadsStalled(true)
            // 80 reads of 512 KiB: 40 MiB of replies, far past the kernel's buffers and the 1 MiB limit.
            for _ in 0..<80 {
                stalled.send(.getData(path: "/big", watch: false)) { _, _, _ in }
            }
            let writes = 50
            for round in 1...writes {
                _ = try await admin.setData("/watched", data: Array("round \(round)".utf8))
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline
                && (counter(server, "zk_connections_closed_slow") < 1 || heard.withLockedValue({ $0 }) < writes)
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(counter(server, "zk_connections_closed_slow") == 1)
            #expect(heard.withLockedValue { $0 } == writes)
            // The healthy watcher still answers promptly after the stalled one was cut off.
            let started = ContinuousClock.now
            _ = try await healthy.exists("/watched")
            #expect(ContinuousClock.now - started < .seconds(1))
            // The stalled client notices on its next write (the server's socket answers with a reset).
            let lostBy = ContinuousClock.now + .seconds(15)
            while stalled.stats.connectionLosses == 0 && ContinuousClock.now < lostBy {
                stalled.send(.exists(path: "/watched", watch: false)) { _, _, _ in }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(stalled.stats.connectionLosses >= 1)
            stalled.setReadsStalled(false)
            try await stalled.close()
            try await healthy.close()
            try await admin.close()
        }
    }

    @Test func aConnectionPastMaxClientCnxnsFromOneAddressIsClosedAtAccept() async throws {
        try await withLimitedServer(maxPerHost: 3) { server in
            var clients: [ZooKeeperClient] = []
            for _ in 0..<3 { clients.append(try await client(server)) }
            var configuration = ZooKeeperConfiguration(connectString: server.connectString)
            configuration.connectTimeout = .milliseconds(500)
            configuration.requestTimeout = .seconds(1)
            await #expect(throws: (any Error).self) {
                let extra = try await ZooKeeperClient.connect(configuration)
                try? await extra.close()
            }
            #expect(counter(server, "zk_connection_rejected") >= 1)
            // Once one leaves, a new one is admitted.
            try await clients.removeLast().close()
            try await Task.sleep(for: .milliseconds(100))
            let admitted = try await client(server)
            _ = try await admitted.exists("/")
            try await admitted.close()
            for client in clients { try await client.close() }
        }
    }
}
