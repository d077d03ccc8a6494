import Logging
import NIOConcurrencyHelpers
import ZooKeeperClient
import ZooKeeperProtocol

/// A run's session that outlives session expiry. The client itself reconnects a live session across
/// the servers of the connect string; once ZooKeeper (or the client's own timeout) declares the
/// session expired, that client is finished for good, so this opens a new session (retrying until it
/// works or the session is closed), hands it to `onReplaced` to re-create what the old one had (its
/// watches), and from then on `client` is the new one.
final class SupervisedSession: Sendable {
    struct State {
        var client: ZooKeeperClient?
        var replacing = false
        var closed = false
        /// The current client is an expired one already closed by `replace` (so `close` skips it).
        var clientClosed = false
        var onReplaced: (@Sendable (ZooKeeperClient) async -> Void)?
    }

    let pool: SessionConnector
    private let onEvent: @Sendable (WatchEvent) -> Void
    private let state = NIOLockedValueBox(State())
    /// Pause between failed attempts to open a replacement session.
    static let retryDelay: Duration = .milliseconds(250)
    /// Attempts before giving up on a replacement (about a minute with the delay and connect timeouts).
    static let maximumAttempts = 240

    private init(pool: SessionConnector, onEvent: @escaping @Sendable (WatchEvent) -> Void) {
        self.pool = pool
        self.onEvent = onEvent
    }

    /// Opens a session; `onEvent` gets its watch events, and those of every replacement.
    static func connect(
        pool: SessionConnector,
        onEvent: @escaping @Sendable (WatchEvent) -> Void = { _ in }
    ) async throws -> SupervisedSession {
        let session = SupervisedSession(pool: pool, onEvent: onEvent)
        let client = try await session.open()
        session.state.withLockedValue { $0.client = client }
        return session
    }

    /// Opens `count` sessions, `pool.connectParallelism` at a time; the first failure closes the rest.
    static func connect(
        pool: SessionConnector,
        count: Int,
        onEvent: @escaping @Sendable (Int, WatchEvent) -> Void = { _, _ in }
    ) async throws -> [SupervisedSession] {
        try await SessionConnector.openInParallel(
            count: count,
            parallelism: pool.connectParallelism,
            open: { index in try await connect(pool: pool) { event in onEvent(index, event) } },
            closeOpened: { sessions in for session in sessions { await session.close() } }
        )
    }

    /// The current client (the replacement once an expired session has been replaced).
    var client: ZooKeeperClient { state.withLockedValue { $0.client! } }

    /// Runs after each replacement, with `client` already the replacement, before `readyClient` hands
    /// it out.
    func setOnReplaced(_ body: @escaping @Sendable (ZooKeeperClient) async -> Void) {
        state.withLockedValue { $0.onReplaced = body }
    }

    private func open() async throws -> ZooKeeperClient {
        try await pool.connect(onEvent: onEvent) { [weak self] state in
            if state == .expired { self?.sessionExpired() }
        }
    }

    private func sessionExpired() {
        let start = state.withLockedValue { state -> Bool in
            guard !state.closed, !state.replacing else { return false }
            state.replacing = true
            return true
        }
        guard start else { return }
        let expiredAt = RunClock.now()
        Task { await replace(expiredAt: expiredAt) }
    }

    private func replace(expiredAt: UInt64) async {
        let accounting = pool.counters.failover
        // The expired session is gone: stop counting it as connected while the new one is opened.
        let expired = state.withLockedValue { state -> ZooKeeperClient? in
            guard !state.closed, !state.clientClosed else { return nil }
            state.clientClosed = true
            return state.client
        }
        if let expired { await pool.close(expired) }
        for attempt in 1...Self.maximumAttempts {
            guard !state.withLockedValue({ $0.closed }) else { break }
            do {
                let client = try await open()
                // `client` becomes the current one before `onReplaced` sets its watches again: a
                // notification on a re-created watch is re-armed through `client`, and a re-arm sent on
                // the expired client would fail SESSIONEXPIRED and leave that watch silent for good.
                // `readyClient` still waits until `onReplaced` is done (`replacing` stays set).
                let (swapped, onReplaced) = state.withLockedValue { state in
                    guard !state.closed else { return (false, state.onReplaced) }
                    state.client = client
                    state.clientClosed = false
                    return (true, state.onReplaced)
                }
                guard swapped else {
                    await pool.close(client)
                    break
                }
                await onReplaced?(client)
                accounting.replaced(afterNanoseconds: RunClock.now() - expiredAt)
                pool.logger.debug("expired session replaced", metadata: ["attempt": "\(attempt)"])
                break
            } catch {
                accounting.replacementAttemptFailed()
                pool.logger.debug("replacing an expired session failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: Self.retryDelay)
            }
        }
        state.withLockedValue { $0.replacing = false }
    }

    /// Whether an expired session is being replaced now.
    var isReplacing: Bool { state.withLockedValue { $0.replacing } }

    /// The client once no replacement is under way (waits at most `timeout`).
    func readyClient(timeout: Duration) async -> ZooKeeperClient {
        let deadline = RunClock.now() + UInt64(timeout.nanoseconds)
        while state.withLockedValue({ $0.replacing }) && RunClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return client
    }

    /// Closes the current session; no replacement is opened after this.
    func close() async {
        let client = state.withLockedValue { state -> ZooKeeperClient? in
            state.closed = true
            return state.clientClosed ? nil : state.client
        }
        if let client { await pool.close(client) }
    }
}

extension Array where Element == SupervisedSession {
    func close() async {
        await withTaskGroup(of: Void.self) { group in
            for session in self { group.addTask { await session.close() } }
        }
    }
}
