import Logging
import ServiceLifecycle
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

/// The TLS listener follows the `Service` lifecycle: a graceful shutdown closes it, and the connections
/// it accepted, together with the plain listener.
@Suite(.serialized) struct SecureListenerLifecycleTests {
    @Test func gracefulShutdownClosesTheSecureListenerAndItsConnections() async throws {
        let pki = try TestCertificates.make()
        defer { pki.remove() }
        var configuration = builtInServerConfiguration()
        configuration.security = ServerSecurityConfiguration(tls: try pki.serverTLS(clientAuth: .none))
        let server = ZooKeeperServer(configuration: configuration)
        try await server.start()
        let securePort = try #require(server.securePort)
        #expect(securePort != server.port)
        let group = ServiceGroup(services: [server], logger: Logger(label: "zkstorm.server.test.group"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // A TCP connection to the TLS port that has not finished its TLS handshake.
            let pending = try WireSocket(port: securePort)
            // Not waited for: shutdown may come before, while or after the server accepts it, and must close
            // it in each case.

            await group.triggerGracefulShutdown()
            try await tasks.next()
            #expect(pending.isClosedByPeer(), "shutdown must close the secure listener's connections")
            #expect(throws: (any Error).self) { try WireSocket(port: securePort) }
            #expect(throws: (any Error).self) { try WireSocket(port: server.port) }
        }
    }
}
