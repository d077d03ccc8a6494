import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
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
    /// Where the server logs: start, stop and connection trouble at debug, nothing above in normal work.
    public var logger: Logger = Logger(label: "zkstorm.server")
    /// TLS listener, SASL users and enforced authentication (none by default).
    public var security = ServerSecurityConfiguration()

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
/// auth, digest and ip schemes, and the four-letter words. State is in memory and belongs to this
/// instance: ``shutdown()`` then ``start()`` serves the same tree and sessions again, as a restarted
/// server would; a new instance starts empty. See <doc:EmbeddingInTests>.
public final class ZooKeeperServer: Sendable {
    private struct Running {
        var channel: (any Channel)?
        var secureChannel: (any Channel)?
        var timers: [RepeatedTask] = []
        var stopped = false
    }

    private let configuration: ZooKeeperServerConfiguration
    private let eventLoopGroup: any EventLoopGroup
    let core: ServerCore
    private let state = NIOLockedValueBox(Running())

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

    /// Binds the listening socket and starts the session-expiry and container sweeps.
    ///
    /// After it returns, clients can connect to ``connectString``. Nothing is sent until a client sends:
    /// the server answers a `ConnectRequest` with a `ConnectResponse`, each request with a reply header
    /// and its body, and pushes watch notifications with xid -1.
    ///
    /// - Throws: ``ZooKeeperServerError`` naming the address when the port cannot be bound (in use, or not
    ///   permitted).
    public func start() async throws {
        let core = self.core
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(core: core))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw ZooKeeperServerError(
                message: "cannot listen on \(configuration.host):\(configuration.port): \(error). "
                    + "Pick another --port or stop what holds it.")
        }
        let port = channel.localAddress?.port ?? configuration.port
        let secureChannel: (any Channel)?
        do {
            secureChannel = try await Self.bindSecureListener(
                configuration: configuration, group: eventLoopGroup, core: core)
        } catch {
            try? await channel.close()
            throw error
        }
        core.lock.withLock {
            core.boundPort = port
            core.boundSecurePort = secureChannel?.localAddress?.port ?? 0
        }

        let loop = eventLoopGroup.next()
        let expiryEvery = TimeAmount.milliseconds(min(max(core.tickMs / 10, 10), 250))
        let expiry = loop.scheduleRepeatedTask(initialDelay: expiryEvery, delay: expiryEvery) { _ in
            core.expireSessions()
        }
        let sweepComponents = configuration.containerSweepInterval.components
        let sweepMs = max(10, sweepComponents.seconds * 1000 + sweepComponents.attoseconds / 1_000_000_000_000_000)
        let sweep = loop.scheduleRepeatedTask(initialDelay: .milliseconds(sweepMs), delay: .milliseconds(sweepMs)) {
            _ in
            core.sweepContainersAndTTLs()
        }
        state.withLockedValue {
            $0.channel = channel
            $0.secureChannel = secureChannel
            $0.timers = [expiry, sweep]
        }
        configuration.logger.debug("server listening", metadata: ["address": "\(configuration.host):\(port)"])
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

    /// Stops accepting, closes every connection (clients see a connection loss, not a session close)
    /// and stops the sweeps. The tree and the sessions stay in this instance: ``start()`` serves them
    /// again, and clients that reconnect before their session times out keep it.
    ///
    /// - Throws: Nothing in practice; closing an already closed socket is ignored.
    public func shutdown() async throws {
        let (channel, secureChannel, timers): ((any Channel)?, (any Channel)?, [RepeatedTask]) =
            state.withLockedValue { running in
                let taken = (running.channel, running.secureChannel, running.timers)
                running.channel = nil
                running.secureChannel = nil
                running.timers = []
                running.stopped = true
                return taken
            }
        for timer in timers { timer.cancel() }
        if let channel { try? await channel.close() }
        if let secureChannel { try? await secureChannel.close() }
        core.closeAllConnections()
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

    private let core: ServerCore
    private var connection: ServerConnection?
    private var cumulation: ByteBuffer?

    init(core: ServerCore) {
        self.core = core
    }

    func channelActive(context: ChannelHandlerContext) {
        connection = core.register(context.channel)
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The TLS handshake's end (x509 identity) on the secure port.
        if let connection { core.inboundEvent(event, on: connection, pipeline: context.pipeline) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { core.connectionClosed(connection) }
        cumulation = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
