import Foundation
import ZooKeeperClient
import ZooKeeperServer

/// The built-in `ZooKeeperServer`, in this process, on a fixed free loopback port so `restart()` keeps it.
public final class BuiltInZooKeeper: ZooKeeperTestServer, @unchecked Sendable {
    // @unchecked: `running` is guarded by `lock`; the rest is immutable.
    public let port: Int
    private let server: ZooKeeperServer
    private let lock = NSLock()
    private var running = true

    public var connectString: String { "127.0.0.1:\(port)" }

    private init(port: Int, server: ZooKeeperServer) {
        self.port = port
        self.server = server
    }

    /// Starts a server with the given tickTime (ms) and a 500 ms container/TTL sweep, like the real one in tests.
    public static func start(tickTime: Int = 2000) async throws -> BuiltInZooKeeper {
        let port = FreePort.allocate()
        var configuration = ZooKeeperServerConfiguration(host: "127.0.0.1", port: port)
        configuration.tickTime = .milliseconds(tickTime)
        configuration.containerSweepInterval = .milliseconds(500)
        let server = ZooKeeperServer(configuration: configuration)
        try await server.start()
        return BuiltInZooKeeper(port: port, server: server)
    }

    public func stop() async throws {
        lock.withLock { running = false }
        try await server.shutdown()
    }

    /// Listens again on the same port; the data tree and sessions stayed in memory.
    public func restart() async throws {
        if lock.withLock({ running }) { try await server.shutdown() }
        try await server.start()
        lock.withLock { running = true }
    }

    public func pause() async throws {
        throw TestServerError("the built-in server runs in this process and cannot be frozen with SIGSTOP")
    }

    public func resume() async throws {
        throw TestServerError("the built-in server runs in this process and cannot be frozen with SIGSTOP")
    }

    public func fourLetterWord(_ word: String) async throws -> String {
        try await FourLetterWordClient.send(word, host: "127.0.0.1", port: port)
    }

    public func destroy() async throws {
        try await server.shutdown()
    }
}
