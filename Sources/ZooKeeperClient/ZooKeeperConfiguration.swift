import Logging
import ZooKeeperProtocol

/// How a ``ZooKeeperClient`` connects and how long it waits.
public struct ZooKeeperConfiguration: Sendable {
    /// Hosts and an optional chroot: `"h1:2181,h2:2181/app"`. Hosts are tried in shuffled order; a
    /// host without a port uses 2181; an IPv6 address goes in brackets (`[::1]:2181`). See <doc:Chroot>.
    public var connectString: String
    /// The requested session timeout, sent in the `ConnectRequest`; the server clamps it to 2–20 × its
    /// tickTime (``ZooKeeperClient/negotiatedTimeout`` is what it granted). The client pings after a third
    /// of it without traffic and drops the connection after two thirds without any reply.
    public var sessionTimeout: Duration = .seconds(10)
    /// How long a request may wait for its reply before it fails with `.operationTimeout` (the late
    /// reply is then dropped).
    public var requestTimeout: Duration = .seconds(10)
    /// How long one TCP connect plus handshake to one host may take before the next host is tried.
    public var connectTimeout: Duration = .seconds(5)
    /// Where the client logs: connection and session changes at debug, nothing at info or above in normal
    /// work.
    public var logger: Logger = Logger(label: "zkstorm.client")
    /// Events buffered for ``ZooKeeperClient/events`` before the client stops reading from the socket.
    public var eventBufferHighWatermark: Int = 4096
    /// The buffered-event count below which the client reads from the socket again.
    public var eventBufferLowWatermark: Int = 1024
    /// Attach to an existing session instead of creating one (as the Java client's sessionId/passwd
    /// constructor does). If the server no longer knows it, ``ZooKeeperClient/connect(_:eventLoopGroup:)``
    /// throws `.sessionExpired`.
    public var resumeSession: SessionCredentials?
    /// TLS from the first byte (ZooKeeper's secureClientPort); nil: plaintext.
    public var tls: ZooKeeperTLS?
    /// SASL DIGEST-MD5 after every handshake, before watches, auth packets and requests are sent.
    public var sasl: ZooKeeperSASL?
    /// Auth packets (e.g. scheme "digest", "user:password") sent after every handshake (and SASL).
    public var authInfo: [AuthPacket] = []
    /// The local address connections leave from (port chosen by the system); nil: the system's choice.
    /// One source address has about 28,000 ephemeral ports toward one server port on Linux: a process
    /// holding more loopback sessions than that (or reconnecting them while old ones sit in TIME_WAIT)
    /// spreads them over 127.0.0.2, 127.0.0.3… (all of 127/8 is local on Linux).
    public var sourceAddress: String?
    /// How long to wait before each connection attempt after a connection loss: ``ReconnectPolicy/immediate``
    /// (the default), exponential back-off, or back-off with full jitter. See <doc:ReconnectPolicies>.
    public var reconnectPolicy: ReconnectPolicy = .immediate
    /// The largest frame the servers accept (their `jute.maxbuffer`, default 0xfffff bytes): the
    /// setWatches2 requests that restore watches after a reconnect are split so none is longer. Lower it
    /// to match servers started with a smaller `-Djute.maxbuffer`; values under 4 KiB count as 4 KiB.
    public var maxPacketSize: Int = zooKeeperMaxFrameLength
    /// Called on the event loop after each successful connect (first and every reconnect) with the time
    /// each phase took; keep it cheap.
    public var onConnectPhases: (@Sendable (ConnectPhaseTimings) -> Void)?

    /// A configuration with the default timeouts (session 10 s, request 10 s, connect 5 s).
    ///
    /// - Parameter connectString: Hosts and an optional chroot, as ``connectString``.
    public init(connectString: String) {
        self.connectString = connectString
    }
}

/// What identifies a session to the server: its id and the password it was given.
public struct SessionCredentials: Sendable, Hashable {
    /// The server-assigned session id.
    public var sessionId: Int64
    /// The 16-byte password the server sent with the id.
    public var password: [UInt8]

    /// Credentials read earlier from ``ZooKeeperClient/sessionCredentials``.
    ///
    /// - Parameters:
    ///   - sessionId: The server-assigned session id.
    ///   - password: The password the server sent with it.
    public init(sessionId: Int64, password: [UInt8]) {
        self.sessionId = sessionId
        self.password = password
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at the bounds of `Int64`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
