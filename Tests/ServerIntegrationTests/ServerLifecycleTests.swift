import Logging
import ServiceLifecycle
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// The server as a swift-service-lifecycle `Service`, and its start/shutdown states, over real sockets.
@Suite(.serialized) struct ServerLifecycleTests {
    @Test func aServiceGroupRunsTheServerAndShutsItDownGracefully() async throws {
        let server = ZooKeeperServer(configuration: builtInServerConfiguration())
        // Started first so the test knows the port; run() then serves it.
        try await server.start()
        let group = ServiceGroup(services: [server], logger: Logger(label: "zkstorm.server.test.group"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }

            let client = try WireSocket(port: server.port)
            try client.handshake()
            let (header, _) = try client.call(.exists(path: "/", watch: false))
            #expect(header.err == .ok)

            await group.triggerGracefulShutdown()
            try await tasks.next()
            // run() returned: the client's connection is closed and nothing listens any more.
            #expect(client.isClosedByPeer())
            #expect(throws: (any Error).self) { try WireSocket(port: server.port) }
        }
    }

    @Test func cancellingRunStopsTheServer() async throws {
        let server = ZooKeeperServer(configuration: builtInServerConfiguration())
        let running = Task { try await server.run() }
        // run() starts the server itself; wait until it listens.
        var port = 0
        for _ in 0..<200 where port == 0 {
            try await Task.sleep(for: .milliseconds(10))
            if server.port != 0 { port = server.port }
        }
        #expect(try await FourLetterWordClient.send("ruok", host: "127.0.0.1", port: port) == "imok")
        running.cancel()
        try await running.value
        #expect(throws: (any Error).self) { try WireSocket(port: port) }
    }

    @Test func startTwiceIsAnErrorAndAStoppedServerStartsAgainWithItsData() async throws {
        var configuration = builtInServerConfiguration()
        configuration.port = 0
        let server = ZooKeeperServer(configuration: configuration)
        try await server.start()
        await #expect(throws: ZooKeeperServerError.self) { try await server.start() }

        let client = try WireSocket(port: server.port)
        try client.handshake()
        let (created, _) = try client.call(
            .create(CreateRequest(path: "/kept", data: [1], mode: .persistent), opCode: .create)
        )
        #expect(created.err == .ok)
        try await server.shutdown()
        try await server.shutdown()  // a second shutdown waits for nothing and succeeds
        #expect(client.isClosedByPeer())

        try await server.start()
        let again = try WireSocket(port: server.port)
        try again.handshake()
        let (header, _) = try again.call(.exists(path: "/kept", watch: false))
        #expect(header.err == .ok)
        try await server.shutdown()
    }
}
