import Foundation
import NIOCore
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Connects to `server` with test-friendly timeouts.
func connectClient(
    _ server: any ZooKeeperTestServer,
    chroot: String = "",
    sessionTimeout: Duration = .seconds(10),
    requestTimeout: Duration = .seconds(10)
) async throws -> ZooKeeperClient {
    var configuration = ZooKeeperConfiguration(connectString: server.connectString + chroot)
    configuration.sessionTimeout = sessionTimeout
    configuration.requestTimeout = requestTimeout
    configuration.connectTimeout = .seconds(3)
    return try await ZooKeeperClient.connect(configuration)
}

/// Runs `body` with a connected client and a fresh root znode on the target's shared server, then
/// deletes the root's subtree and closes the client.
func withSharedClient(
    _ target: TestTarget,
    _ name: String = #function,
    _ body: (ZooKeeperClient, String) async throws -> Void
) async throws {
    let server = try await target.shared()
    let client = try await connectClient(server)
    let root = TestTarget.uniqueRoot(name)
    _ = try await client.create(root)
    do {
        try await body(client, root)
    } catch {
        _ = try? await client.deleteRecursive(root)
        try? await client.close()
        throw error
    }
    _ = try? await client.deleteRecursive(root)
    try await client.close()
}

/// Collects events from a client's callback; waits for them with a deadline.
final class EventRecorder: @unchecked Sendable {
    // @unchecked: `recorded` is guarded by `lock`.
    private let lock = NSLock()
    private var recorded: [WatchEvent] = []

    init(_ client: ZooKeeperClient) {
        client.setEventHandler { [self] event in
            lock.withLock { recorded.append(event) }
        }
    }

    var events: [WatchEvent] { lock.withLock { recorded } }

    /// Node events only (session events of type .none left out).
    var nodeEvents: [WatchEvent] { events.filter { $0.type != .none } }

    /// Waits until `predicate` holds for the recorded events or `timeout` passes; returns the events.
    @discardableResult
    func wait(
        timeout: Duration = .seconds(5),
        until predicate: ([WatchEvent]) -> Bool
    ) async throws -> [WatchEvent] {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            let now = events
            if predicate(now) { return now }
            try await Task.sleep(for: .milliseconds(10))
        }
        return events
    }

    /// Waits a little for anything more to arrive (to assert that nothing else fires).
    func settle(_ duration: Duration = .milliseconds(300)) async throws -> [WatchEvent] {
        try await Task.sleep(for: duration)
        return events
    }
}

extension WatchEvent {
    /// (type, path) for compact assertions.
    var summary: String { "\(type) \(path)" }
}

/// Expects `body` to throw a ZooKeeperError with `code`; returns it.
@discardableResult
func expectZooKeeperError(
    _ code: ErrorCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> ZooKeeperError? {
    do {
        try await body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as ZooKeeperError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected ZooKeeperError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
