import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Faults a scenario injects into a running built-in server: the failures operators see from a real
/// one (a network blip that resets every connection; a process frozen by SIGSTOP or a long GC pause).
extension ZooKeeperServer {
    /// Closes every client connection now, without flushing what is queued for it. Sessions stay:
    /// their clients may reconnect (here, or to another server of theirs) within their session
    /// timeout and keep their ephemerals and watches. The listener keeps accepting.
    ///
    /// - Returns: How many connections were closed.
    @discardableResult
    public func dropAllConnections() async -> Int {
        let channels: [any Channel] = core.lock.withLock {
            core.connections.values.filter { !$0.closed }.map(\.channel)
        }
        for channel in channels { channel.close(promise: nil) }
        for channel in channels { try? await channel.closeFuture.get() }
        configuration.logger.debug("dropped all connections", metadata: ["connections": "\(channels.count)"])
        return channels.count
    }

    /// Freezes the server as SIGSTOP freezes a process: connections stay open and new ones are accepted
    /// (the kernel completes their TCP handshakes), but nothing is processed or answered, and no session
    /// expires and no container is swept, until ``resume()``. Takes effect at once, before it returns:
    /// from then on every request waits, unread or in its connection's buffer (each connection also
    /// stops reading as its event loop gets to it, so the kernel's buffers fill as they would).
    public func pause() async {
        let channels: [any Channel] = core.lock.withLock {
            core.paused = true
            return core.connections.values.map(\.channel)
        }
        for channel in channels { channel.setOption(.autoRead, value: false).whenComplete { _ in } }
    }

    /// Ends a ``pause()`` at once: every connection reads again and what clients sent meanwhile is
    /// answered in order (as each connection's event loop gets to it), and sessions whose timeout passed
    /// while frozen expire now, as they do when a stopped ZooKeeper is continued. Neither waits on
    /// the connections: with 10,000 of them on busy event loops, waiting for each took seconds.
    public func resume() async {
        let channels: [any Channel] = core.lock.withLock {
            core.paused = false
            return core.connections.values.map(\.channel)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(ServerResumed()) }
        core.expireSessions()
    }

    /// Whether the server is between ``pause()`` and ``resume()``.
    public var isPaused: Bool { core.isPaused }
}

extension ServerCore {
    var isPaused: Bool { lock.withLock { paused } }
}

/// Sent down every connection's pipeline by ``ZooKeeperServer/resume()``: read again, and process what
/// waited in the connection's buffer.
struct ServerResumed: Sendable {}
