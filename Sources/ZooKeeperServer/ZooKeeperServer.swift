import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import ZooKeeperProtocol

/// Where a ``ZooKeeperServer`` listens and how it keeps time.
public struct ZooKeeperServerConfiguration: Sendable {
    /// The address to listen on; loopback by default.
    public var host: String = "127.0.0.1"
    /// The client port. 0 binds an ephemeral port; read the bound one from ``ZooKeeperServer/port``.
    public var port: Int = 2181
    /// ZooKeeper's `tickTime`: session timeouts are clamped to 2–20 ticks and expire on tick boundaries.
    /// Tests that wait for an expiry run faster with a short tick (e.g. 100 ms).
    public var tickTime: Duration = .milliseconds(2000)
    /// Sessions beyond this many are refused at the handshake (the connection is closed).
    public var maxSessions: Int = 60_000
    /// How often empty containers and expired TTL nodes are deleted (ZooKeeper's
    /// `znode.container.checkIntervalMs`, 60 s by default).
    public var containerSweepInterval: Duration = .seconds(60)
    /// How long a connection may stay open without completing its handshake before the server closes it
    /// (ZooKeeper's `zookeeper.nio.sessionlessCnxnTimeout`, 10 s by default). Counted in `mntr` as
    /// `zk_sessionless_connections_expired`.
    public var handshakeTimeout: Duration = .seconds(10)
    /// On shutdown, how long connections get to take the replies already queued for them before they
    /// are closed regardless.
    public var shutdownGracePeriod: Duration = .seconds(1)
    /// Where the server logs: start, stop and connection trouble at debug, nothing above in normal work.
    public var logger: Logger = Logger(label: "zkstorm.server")
    /// TLS listener, SASL users and enforced authentication (none by default).
    public var security = ServerSecurityConfiguration()
    /// At most this many requests per second over all connections (nil: no cap). Requests over it wait
    /// rather than fail, as on a saturated server; for testing capacity searches (`zkstorm serve
    /// --max-request-rate`).
    public var maxRequestRate: Double?
    /// The most bytes of replies and notifications a connection may have waiting for its socket (beyond
    /// what the channel holds while it is writable). A client that stops reading fills it; once its socket
    /// has not drained for 200 ms and the outbox is over this, the server closes that connection, so one stalled peer cannot exhaust memory or hold back the others. Counted
    /// in `mntr` as `zk_connections_closed_slow` (`zkstorm serve --max-outbox`; 4 MiB by default).
    public var maxOutboxBytes: Int = 4 * 1024 * 1024
    /// At most this many connections at once from one client address; a further one is closed at accept,
    /// as ZooKeeper's `maxClientCnxns` does (counted as `zk_connection_rejected`). 0: no limit, the
    /// default here (ZooKeeper's own default is 60). `zkstorm serve --max-client-cnxns`.
    public var maxClientConnectionsPerHost: Int = 0

    /// A configuration with ZooKeeper's defaults (tickTime 2 s, container sweep every 60 s).
    ///
    /// - Parameters:
    ///   - host: The address to listen on.
    ///   - port: The client port; 0 for an ephemeral one.
    public init(host: String = "127.0.0.1", port: Int = 2181) {
        self.host = host
        self.port = port
    }
}

/// A ZooKeeper-compatible standalone server over real TCP (SwiftNIO), to embed in a test suite or a
/// tool, as Curator's `TestingServer` is used in Java.
///
/// It speaks ZooKeeper 3.8's client protocol: sessions with expiry, every node kind (persistent,
/// ephemeral, sequential, container, TTL), one-shot and persistent watches, multi, ACLs with the world,
/// auth, digest, ip, sasl and x509 schemes, and the four-letter words; with
/// ``ZooKeeperServerConfiguration/security`` also a TLS port and SASL DIGEST-MD5. See <doc:EmbeddingInTests>.
///
/// Run it as a swift-service-lifecycle `Service` (in a `ServiceGroup`, which shuts it down gracefully on
/// a signal), or drive it by hand: `start()` binds and returns, `shutdown()` stops it. Its states are
/// initial → starting → running → shuttingDown → shutdown. State is in memory and belongs to this
/// instance: a shut-down server may be started again and serves the same tree and sessions, as a
/// restarted ZooKeeper keeps its data directory; a new instance starts empty.
public final class ZooKeeperServer: Service, Sendable {
    private enum State {
        case initial
        /// `start()` is binding. A `shutdown()` meanwhile moves to `.shutdown`; `start()` then closes
        /// what it bound.
        case starting
        /// `secureListener`: the TLS port's channel, when TLS is configured.
        case running(listener: any Channel, secureListener: (any Channel)?, timers: [RepeatedTask])
        /// Completes when the listeners and every connection are closed.
        case shuttingDown(EventLoopFuture<Void>)
        case shutdown
    }

    let configuration: ZooKeeperServerConfiguration
    private let eventLoopGroup: any EventLoopGroup
    let core: ServerCore
    private let state = NIOLockedValueBox(State.initial)

    /// A server that is not listening yet; call ``start()``.
    ///
    /// - Parameters:
    ///   - configuration: Address, port, tick and logger.
    ///   - eventLoopGroup: Where the listening socket and the connections run.
    public init(
        configuration: ZooKeeperServerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.core = ServerCore(configuration: configuration)
    }

    /// Binds the listening socket (and the TLS port when configured) and starts the session-expiry and
    /// container sweeps, then returns.
    ///
    /// After it returns, clients can connect to ``connectString``. Nothing is sent until a client sends:
    /// the server answers a `ConnectRequest` with a `ConnectResponse`, each request with a reply header
    /// and its body, and pushes watch notifications with xid -1.
    ///
    /// - Throws: ``ZooKeeperServerError`` naming the address when a port cannot be bound (in use, or not
    ///   permitted) or TLS cannot be set up, or when the server was started before.
    public func start() async throws {
        try state.withLockedValue { state in
            switch state {
            case .initial, .shutdown:
                state = .starting
            case .starting, .running:
                throw ZooKeeperServerError(
                    message: "the server on \(configuration.host):\(configuration.port) is already started"
                )
            case .shuttingDown:
                throw ZooKeeperServerError(
                    message: "the server on \(configuration.host):\(configuration.port) is shutting down; "
                        + "await shutdown() before starting it again"
                )
            }
        }
        core.lock.withLock { core.acceptingConnections = true }
        let listener: any Channel
        let secureListener: (any Channel)?
        do {
            listener = try await bind()
        } catch {
            state.withLockedValue { $0 = .shutdown }
            throw error
        }
        do {
            secureListener = try await Self.bindSecureListener(
                configuration: configuration,
                group: eventLoopGroup,
                core: core,
                handshakeTimeout: TimeAmount(configuration.handshakeTimeout)
            )
        } catch {
            try? await listener.close()
            state.withLockedValue { $0 = .shutdown }
            throw error
        }
        let port = listener.localAddress?.port ?? configuration.port
        core.lock.withLock {
            core.boundPort = port
            core.boundSecurePort = secureListener?.localAddress?.port ?? 0
        }
        let timers = startTimers()
        let running: Bool = state.withLockedValue { state in
            guard case .starting = state else { return false }
            state = .running(listener: listener, secureListener: secureListener, timers: timers)
            return true
        }
        guard running else {
            // shutdown() arrived while binding.
            for timer in timers { timer.cancel() }
            try? await listener.close()
            if let secureListener { try? await secureListener.close() }
            return
        }
        configuration.logger.debug("server listening", metadata: ["address": "\(configuration.host):\(port)"])
    }

    /// `Service`: starts the server if `start()` has not, then serves until graceful shutdown or task
    /// cancellation, and returns once every connection is closed.
    public func run() async throws {
        let needsStart = state.withLockedValue { if case .initial = $0 { true } else { false } }
        if needsStart { try await start() }
        let listener: (any Channel)? = state.withLockedValue {
            if case .running(let listener, _, _) = $0 { listener } else { nil }
        }
        if let listener {
            await withTaskCancellationOrGracefulShutdownHandler {
                try? await listener.closeFuture.get()
            } onCancelOrGracefulShutdown: {
                _ = self.initiateShutdown()
            }
        }
        try await shutdown()
    }

    /// The listening socket's options, the same for the plain and the TLS listener: a deep backlog for
    /// connection storms, no Nagle delay, keep-alive, and reads batched 16 at a time.
    static func listenerBootstrap(_ group: any EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
    }

    private func bind() async throws -> any Channel {
        let core = self.core
        let handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        let bootstrap = Self.listenerBootstrap(eventLoopGroup)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ServerConnectionHandler(core: core, handshakeTimeout: handshakeTimeout)
                    )
                }
            }
        do {
            return try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw ZooKeeperServerError(
                message: "cannot listen on \(configuration.host):\(configuration.port): \(error). "
                    + "Pick another --port or stop what holds it."
            )
        }
    }

    private func startTimers() -> [RepeatedTask] {
        let core = self.core
        let loop = eventLoopGroup.next()
        let expiryEvery = TimeAmount.milliseconds(min(max(core.tickMs / 10, 10), 250))
        let expiry = loop.scheduleRepeatedTask(initialDelay: expiryEvery, delay: expiryEvery) { _ in
            guard !core.isPaused else { return }
            core.expireSessions()
        }
        let sweepEvery = max(TimeAmount(configuration.containerSweepInterval), .milliseconds(10))
        let sweep = loop.scheduleRepeatedTask(initialDelay: sweepEvery, delay: sweepEvery) { _ in
            guard !core.isPaused else { return }
            core.sweepContainersAndTTLs()
        }
        return [expiry, sweep]
    }

    /// The bound port (the configured one before ``start()``).
    public var port: Int {
        let bound = core.lock.withLock { core.boundPort }
        return bound == 0 ? configuration.port : bound
    }

    /// `host:port` of the listening socket, to pass to a client as its connect string.
    public var connectString: String { "\(configuration.host):\(port)" }

    /// The bound TLS port, nil when TLS is not configured or the server has not started.
    public var securePort: Int? {
        let bound = core.lock.withLock { core.boundSecurePort }
        return bound == 0 ? nil : bound
    }

    /// Stops accepting, lets each connection take the replies already queued for it (up to
    /// `shutdownGracePeriod`), closes every connection, stops the sweeps, and returns when all are closed.
    /// Calling it again, or concurrently, waits for the same shutdown.
    public func shutdown() async throws {
        if let done = initiateShutdown() { try? await done.get() }
        state.withLockedValue { state in
            if case .shuttingDown = state { state = .shutdown }
        }
    }

    /// Moves to `.shuttingDown` and starts closing; returns what to wait for (nil if nothing runs).
    private func initiateShutdown() -> EventLoopFuture<Void>? {
        state.withLockedValue { state -> EventLoopFuture<Void>? in
            switch state {
            case .initial, .starting:
                state = .shutdown
                return nil
            case .running(let listener, let secureListener, let timers):
                for timer in timers { timer.cancel() }
                listener.close(promise: nil)
                secureListener?.close(promise: nil)
                let connectionsClosed = core.closeAllConnections(
                    gracePeriod: TimeAmount(configuration.shutdownGracePeriod),
                    on: listener.eventLoop
                )
                var listenersClosed = listener.closeFuture
                if let secureListener {
                    listenersClosed = listenersClosed.and(secureListener.closeFuture).map { _ in () }
                }
                let done = listenersClosed.and(connectionsClosed).map { _ in () }
                state = .shuttingDown(done)
                return done
            case .shuttingDown(let done):
                return done
            case .shutdown:
                return nil
            }
        }
    }

    /// The text a four-letter word gets (`ruok`, `srvr`, `mntr`, ...), without a socket.
    ///
    /// Over TCP the same words are answered when a connection's first four bytes spell one; this reads the
    /// answer directly, for a test that checks the server's state.
    ///
    /// - Parameter word: One of ZooKeeper's four-letter words.
    /// - Returns: The answer, or nil for a word the server does not know.
    public func fourLetterWord(_ word: String) -> String? {
        guard let command = FourLetterWord(rawValue: word) else { return nil }
        return core.lock.withLock { core.fourLetterWordText(command, asking: nil) }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The server could not do what was asked; the message says where and what to do.
public struct ZooKeeperServerError: Error, Sendable, CustomStringConvertible {
    /// Where and what went wrong, and what to do.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// Frames bytes from one client into the core and writes the core's output back, once per read burst.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let core: ServerCore
    private let handshakeTimeout: TimeAmount
    private(set) var connection: ServerConnection?
    var cumulation: ByteBuffer?
    private var handshakeTimer: Scheduled<Void>?
    /// With a request-rate cap: input waiting for its next token (see `consumePaced`).
    var pacedRetry: Scheduled<Void>?

    init(core: ServerCore, handshakeTimeout: TimeAmount) {
        self.core = core
        self.handshakeTimeout = handshakeTimeout
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let connection = core.register(context.channel) else {
            // Accepted while the server shuts down.
            context.close(promise: nil)
            return
        }
        self.connection = connection
        let core = self.core
        // Accepted while paused: the kernel completed the TCP handshake, as it does for a stopped
        // process; nothing is read until resume().
        if core.isPaused { context.channel.setOption(.autoRead, value: false).whenComplete { _ in } }
        handshakeTimer = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            core.handshakeTimedOut(connection)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let connection else { return }
        var incoming = unwrapInboundIn(data)
        if cumulation == nil {
            cumulation = incoming
        } else {
            cumulation!.writeBuffer(&incoming)
        }
        consumeCumulation(context: context, connection: connection)
    }

    /// Hands what has arrived to the core (which keeps it while the server is paused).
    private func consumeCumulation(context: ChannelHandlerContext, connection: ServerConnection) {
        guard cumulation != nil else { return }
        if let limiter = core.requestRateLimiter {
            consumePaced(context: context, limiter: limiter)
            return
        }
        core.consume(&cumulation!, from: connection)
        if cumulation!.readableBytes == 0 {
            cumulation = nil
        } else if cumulation!.readerIndex > 65536 {
            cumulation!.discardReadBytes()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let connection { core.flush(connection) }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let connection { core.writabilityChanged(connection, writable: context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ServerResumed {
            context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
            if let connection {
                consumeCumulation(context: context, connection: connection)
                core.flush(connection)
            }
            return
        }
        // The TLS handshake's end (x509 identity) on the secure port.
        if let connection { core.inboundEvent(event, on: connection, pipeline: context.pipeline) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { core.connectionClosed(connection) }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        pacedRetry?.cancel()
        pacedRetry = nil
        cumulation = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
