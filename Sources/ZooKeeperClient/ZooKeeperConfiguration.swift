import Logging
import ZooKeeperProtocol

/// How a `ZooKeeperClient` connects and how long it waits.
public struct ZooKeeperConfiguration: Sendable {
    /// `"h1:2181,h2:2181/chroot"`; hosts are tried in shuffled order.
    public var connectString: String
    /// Requested session timeout; the server clamps it to [2, 20] × its tickTime.
    public var sessionTimeout: Duration = .seconds(10)
    /// How long a request may wait for its reply before it fails with `.operationTimeout`.
    public var requestTimeout: Duration = .seconds(10)
    /// How long one TCP connect plus handshake to one host may take.
    public var connectTimeout: Duration = .seconds(5)
    public var logger: Logger = Logger(label: "zkstorm.client")
    /// Events buffered for the `events` sequence before the client stops reading from the socket.
    public var eventBufferHighWatermark: Int = 4096
    public var eventBufferLowWatermark: Int = 1024
    /// Attach to an existing session instead of creating one (as the Java client's sessionId/passwd
    /// constructor does). If the server no longer knows it, `connect` throws SESSIONEXPIRED.
    public var resumeSession: SessionCredentials?
    /// TLS from the first byte (ZooKeeper's secureClientPort); nil: plaintext.
    public var tls: ZooKeeperTLS?
    /// SASL DIGEST-MD5 after every handshake, before watches, auth packets and requests are sent.
    public var sasl: ZooKeeperSASL?
    /// Auth packets (e.g. scheme "digest", "user:password") sent after every handshake (and SASL).
    public var authInfo: [AuthPacket] = []
    /// Called on the event loop after each successful connect (first and every reconnect) with the time
    /// each phase took; keep it cheap.
    public var onConnectPhases: (@Sendable (ConnectPhaseTimings) -> Void)?

    public init(connectString: String) {
        self.connectString = connectString
    }
}

/// What identifies a session to the server: its id and the password it was given.
public struct SessionCredentials: Sendable, Hashable {
    public var sessionId: Int64
    public var password: [UInt8]

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
