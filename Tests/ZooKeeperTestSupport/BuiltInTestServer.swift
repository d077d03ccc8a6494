import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperClient
import ZooKeeperServer

/// zkstorm's built-in server as a test target, in-process over real loopback TCP.
///
/// It runs on an event-loop group of its own, so `pause()` can freeze it the way SIGSTOP freezes a
/// real server: one blocking task parks the group's only thread until `resume()`. Nothing else in the
/// process (the clients under test) shares that thread.
public final class BuiltInTestServer: ZooKeeperTestServer {
    private let server: ZooKeeperServer
    private let group: MultiThreadedEventLoopGroup
    private let paused = NIOLockedValueBox<DispatchSemaphore?>(nil)
    public let port: Int

    public static func start(tickTime: Int = 2000) async throws -> BuiltInTestServer {
        let s = BuiltInTestServer(tickTime: tickTime)
        try await s.server.start()
        return s
    }

    private init(tickTime: Int) {
        port = FreePort.allocate()
        var configuration = builtInServerConfiguration(port: port)
        configuration.tickTime = .milliseconds(tickTime)
        // Containers and TTL nodes are swept often enough for tests to see it, as the real server's
        // znode.container.checkIntervalMs would be set in its tests.
        configuration.containerSweepInterval = .milliseconds(500)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        server = ZooKeeperServer(configuration: configuration, eventLoopGroup: group)
    }

    public var connectString: String { "127.0.0.1:\(port)" }

    public func stop() async throws {
        try await server.shutdown()
    }

    public func restart() async throws {
        try await server.start()
    }

    public func pause() async throws {
        let semaphore = DispatchSemaphore(value: 0)
        paused.withLockedValue { $0 = semaphore }
        // Deliberately parks the server's only event-loop thread (test support: this is the freeze).
        // Returns once the thread is parked, so nothing sent after pause() is answered.
        await withCheckedContinuation { (parked: CheckedContinuation<Void, Never>) in
            group.next().execute {
                parked.resume()
                semaphore.wait()
            }
        }
    }

    public func resume() async throws {
        paused.withLockedValue { $0 }?.signal()
        paused.withLockedValue { $0 = nil }
    }

    public func fourLetterWord(_ word: String) async throws -> String {
        try await FourLetterWordClient.send(word, host: "127.0.0.1", port: port)
    }

    public func destroy() async throws {
        try await resume()
        try await server.shutdown()
        try await group.shutdownGracefully()
    }
}
