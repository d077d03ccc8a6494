import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperClient
import ZooKeeperProtocol

/// Session-level counters across every client of a run.
package final class SessionCounters: Sendable {
    let connected = ManagedAtomic<Int>(0)
    let peak = ManagedAtomic<Int>(0)
    let expired = ManagedAtomic<UInt64>(0)
    let opened = ManagedAtomic<UInt64>(0)
    /// Connection losses, reconnects and expirations of every session, with their timing.
    package let failover = FailoverAccounting()
    /// setWatches2 batches sent and watches restored after reconnects, by every client.
    let watchRestores = WatchRestoreTally()

    package init() {}

    /// Sessions open now (opened and not yet closed by the run).
    package var connectedNow: Int { connected.load(ordering: .relaxed) }
    /// The most sessions open at once.
    package var peakConnected: Int { peak.load(ordering: .relaxed) }
    /// Every session opened, including churned ones.
    package var totalOpened: UInt64 { opened.load(ordering: .relaxed) }

    func didOpen() {
        opened.wrappingIncrement(ordering: .relaxed)
        let now = connected.wrappingIncrementThenLoad(ordering: .relaxed)
        var current = peak.load(ordering: .relaxed)
        while now > current {
            let (exchanged, original) = peak.compareExchange(expected: current, desired: now, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }
    package var expirations: UInt64 { expired.load(ordering: .relaxed) }

    /// Open sessions whose connection is down now (lost, not yet back), by client.
    private let linkDown = NIOLockedValueBox<Set<ObjectIdentifier>>([])

    /// How many open sessions have no connection right now.
    package var disconnectedNow: Int { linkDown.withLockedValue { $0.count } }

    /// No session has a connection: every open one lost it (or expired), or none is open any more
    /// (expired sessions closed and their replacements could not connect). The target is gone for now.
    package var allDisconnected: Bool {
        let open = connectedNow
        return open <= 0 || disconnectedNow >= open
    }

    /// Whether this client has a connection now (as far as its state events tell).
    package func isConnected(_ client: ZooKeeperClient) -> Bool {
        !linkDown.withLockedValue { $0.contains(ObjectIdentifier(client)) }
    }

    func linkChanged(_ client: ObjectIdentifier, down: Bool) {
        linkDown.withLockedValue { set in
            if down { set.insert(client) } else { set.remove(client) }
        }
    }
}

/// Opens and closes the run's sessions. Every client gets an event handler, because a client whose
/// event sequence has no consumer stops reading its socket once the buffer fills.
package struct SessionConnector: Sendable {
    package let connectString: String
    package let counters: SessionCounters
    package let logger: Logger
    /// How many handshakes run at once while opening a pool.
    package var connectParallelism = 32
    /// The session timeout asked for; a dead server's sessions move to another within it.
    package var sessionTimeout: Duration
    /// TLS, SASL and digest auth for every session (re-done on every reconnect by the client).
    package var security = ClientSecurity()
    /// How each session waits before reconnecting after a connection loss.
    package var reconnectPolicy: ReconnectPolicy = .immediate
    /// Each successful connect's phase timings (TCP, TLS, handshake, SASL), for the run's histograms.
    package var onConnectPhases: (@Sendable (ConnectPhaseTimings) -> Void)?
    /// Where the sessions' connections run (default: NIO's shared group).
    package var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    /// Sessions opened so far, which picks each one's source address (`sourceAddress(forSession:)`).
    private let opened = ManagedAtomic<Int>(0)
    /// Sessions per loopback source address: well under the ~28,000 ephemeral ports one address has
    /// toward one server port, leaving room for connections still in TIME_WAIT from an earlier run.
    static let sessionsPerSourceAddress = 10_000

    package init(
        connectString: String,
        counters: SessionCounters,
        logger: Logger,
        sessionTimeout: Duration = .seconds(30)
    ) {
        self.connectString = connectString
        self.counters = counters
        self.logger = logger
        self.sessionTimeout = sessionTimeout
    }

    var configuration: ZooKeeperConfiguration {
        var configuration = ZooKeeperConfiguration(connectString: connectString)
        configuration.connectTimeout = .seconds(5)
        configuration.sessionTimeout = sessionTimeout
        configuration.requestTimeout = .seconds(15)
        configuration.logger = logger
        security.apply(to: &configuration)
        configuration.reconnectPolicy = reconnectPolicy
        configuration.onConnectPhases = onConnectPhases
        return configuration
    }

    /// On Linux, against a loopback target, the first 10,000 sessions leave from the system's choice of
    /// address and each further 10,000 from the next of 127.0.0.2, 127.0.0.3…, so one process can hold
    /// as many sessions as its open-files limit allows (one source address runs out of ports first).
    package static func sourceAddress(forSession index: Int, connectString: String) -> String? {
        #if os(Linux)
        guard index >= sessionsPerSourceAddress,
            let parsed = try? ConnectString(parsing: connectString),
            parsed.hosts.allSatisfy({ $0.host.hasPrefix("127.") || $0.host == "localhost" })
        else { return nil }
        return "127.0.0.\(1 + (index / sessionsPerSourceAddress) % 250)"
        #else
        return nil
        #endif
    }

    /// Connects one session. `onEvent` gets watch events; session state events are counted here
    /// (failover accounting) and passed to `onStateChange`.
    package func connect(
        onEvent: @escaping @Sendable (WatchEvent) -> Void = { _ in },
        onStateChange: (@Sendable (KeeperState) -> Void)? = nil
    ) async throws -> ZooKeeperClient {
        let client: ZooKeeperClient
        var configuration = self.configuration
        configuration.sourceAddress = Self.sourceAddress(
            forSession: opened.loadThenWrappingIncrement(ordering: .relaxed),
            connectString: connectString
        )
        do {
            client = try await ZooKeeperClient.connect(configuration, eventLoopGroup: eventLoopGroup)
        } catch let error as ZooKeeperError {
            if error.code == .badArguments {
                throw RunError(.usage, "--target \(connectString): \(error.message)")
            }
            if error.code == .authFailed {
                throw RunError(.noPermission, error.message)
            }
            throw RunError(.unavailable, "cannot reach ZooKeeper at \(connectString): \(error.message)")
        }
        let counters = self.counters
        counters.didOpen()
        counters.watchRestores.opened(client)
        let tracker = ReconnectTracker(accounting: counters.failover)
        let identity = ObjectIdentifier(client)
        client.setEventHandler { event in
            if event.type == .none {
                switch event.state {
                // An expired session has no connection either, until its replacement connects.
                case .disconnected, .expired: counters.linkChanged(identity, down: true)
                case .syncConnected, .closed: counters.linkChanged(identity, down: false)
                default: break
                }
                if event.state == .expired { counters.expired.wrappingIncrement(ordering: .relaxed) }
                tracker.stateChanged(event.state, at: event.receivedAt)
                onStateChange?(event.state)
                return
            }
            onEvent(event)
        }
        return client
    }

    /// Connects `count` sessions, `connectParallelism` at a time; the first failure fails them all
    /// (and closes the ones already open).
    package func connect(
        count: Int,
        onEvent: @escaping @Sendable (Int, WatchEvent) -> Void = { _, _ in }
    ) async throws -> [ZooKeeperClient] {
        try await Self.openInParallel(
            count: count,
            parallelism: connectParallelism,
            open: { index in try await self.connect { event in onEvent(index, event) } },
            closeOpened: { await self.close($0) }
        )
    }

    /// Opens `count` things, `parallelism` at a time, in index order; the first failure closes what
    /// was opened and is thrown. Shared by plain and supervised sessions.
    static func openInParallel<Opened: Sendable>(
        count: Int,
        parallelism: Int,
        open: @escaping @Sendable (Int) async throws -> Opened,
        closeOpened: ([Opened]) async -> Void
    ) async throws -> [Opened] {
        guard count > 0 else { return [] }
        let opened = NIOLockedValueBox<[Int: Opened]>([:])
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func add() {
                    let index = next
                    next += 1
                    group.addTask {
                        let value = try await open(index)
                        opened.withLockedValue { $0[index] = value }
                    }
                }
                while next < min(parallelism, count) { add() }
                while try await group.next() != nil {
                    if next < count { add() }
                }
            }
        } catch {
            await closeOpened(Array(opened.withLockedValue { $0.values }))
            throw error
        }
        let values = opened.withLockedValue { $0 }
        return (0..<count).map { values[$0]! }
    }

    package func close(_ clients: [ZooKeeperClient]) async {
        await withTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask {
                    counters.watchRestores.closing(client)
                    do {
                        try await client.close()
                    } catch {
                        logger.debug("closing a session failed", metadata: ["error": "\(error)"])
                    }
                    counters.connected.wrappingDecrement(ordering: .relaxed)
                    counters.linkChanged(ObjectIdentifier(client), down: false)
                }
            }
        }
    }

    package func close(_ client: ZooKeeperClient) async {
        await close([client])
    }
}
