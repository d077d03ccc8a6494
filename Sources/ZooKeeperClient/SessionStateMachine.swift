import ZooKeeperProtocol

/// The life of one ZooKeeper session across connections, as a value type: it decides, the channel
/// handler and `ClientSession` act. Times are monotonic nanoseconds passed in by the caller.
struct SessionStateMachine {
    enum State: Equatable {
        /// Nothing tried yet.
        case initial
        /// First session: trying hosts in order; `tried` counts hosts attempted so far.
        case connecting(hostIndex: Int, tried: Int)
        case connected(hostIndex: Int)
        /// ConnectResponse accepted; SASL under way. Requests wait. `origin` is where a failure goes back to.
        case authenticating(hostIndex: Int, origin: Origin)
        /// Session alive on the server (we hope) until `deadline`; looking for a server.
        case reconnecting(hostIndex: Int, deadline: UInt64)
        /// closeSession sent; waiting for its reply or the connection to close.
        case closing
        case expired
        case closed
    }

    /// What an authenticating connection was before its handshake was answered.
    enum Origin: Equatable {
        case connecting(tried: Int)
        case reconnecting(deadline: UInt64)
    }

    enum Action: Equatable {
        /// Open a TCP connection to the host and hand-shake; give up after `timeoutNanos`.
        case connect(HostPort, attempt: Int, timeoutNanos: Int64, delayNanos: Int64)
        /// The first connect failed on every host.
        case failConnect(ZooKeeperError)
        /// Send a SASL token (request type 102) on the current connection; the reply goes to `saslReply`.
        case sendSASL(token: [UInt8])
        /// TLS or SASL refused us: fail everything with AUTHFAILED, announce AuthFailed, close for good.
        case authenticationFailed(ZooKeeperError)
        /// The session is live for the first time: resume `connect()`, announce SyncConnected.
        case sessionStarted
        /// Reconnected to the same session: re-register watches and auth, send queued requests.
        case sessionResumed
        /// The connection dropped: fail in-flight requests, announce Disconnected, then act on `next`.
        case connectionLost(next: ConnectStep)
        /// The session is gone: fail everything with SESSIONEXPIRED, announce Expired, close.
        case expire(reason: String)
        /// Send closeSession on the live connection.
        case sendCloseSession
        /// Close the current connection (if any) and finish as closed.
        case closeNow
        /// Stale or irrelevant input.
        case none
    }

    /// What to do after a connection loss: connect again or give up.
    enum ConnectStep: Equatable {
        case connect(HostPort, attempt: Int, timeoutNanos: Int64, delayNanos: Int64)
        case expire(reason: String)
    }

    let hosts: [HostPort]
    let requestedTimeoutMs: Int32
    let connectTimeoutNanos: Int64
    /// The delay before each attempt after a connection loss (``ReconnectPolicy/immediate``: none until
    /// every host failed in a row, then 100 ms).
    let reconnectPolicy: ReconnectPolicy
    /// The jitter's random source (injectable so tests see fixed delays).
    private var random: any RandomNumberGenerator
    /// DIGEST-MD5 credentials; nil: no SASL after the handshake.
    let sasl: ZooKeeperSASL?
    /// Makes each exchange's cnonce (injectable so tests see fixed tokens).
    private let makeCnonce: @Sendable () -> String
    /// The rspauth the server must send in this exchange; nil while waiting for its challenge.
    private var expectedRspauth: String?

    private(set) var state: State = .initial
    private(set) var sessionId: Int64 = 0
    private(set) var password: [UInt8] = [UInt8](repeating: 0, count: 16)
    private(set) var negotiatedTimeoutMs: Int32 = 0
    /// Identifies the current connection attempt; events of older attempts are ignored.
    private(set) var attempt = 0
    /// Attempts made since the session was last connected (for back-off).
    private var failuresInRow = 0
    private var lastFailure: String = ""
    /// TLS and SASL refusals since a session was last live: one on every host ends the session.
    private(set) var refusalsInRow = 0

    init(
        hosts: [HostPort],
        requestedTimeoutMs: Int32,
        connectTimeoutNanos: Int64,
        reconnectPolicy: ReconnectPolicy = .immediate,
        random: any RandomNumberGenerator = SystemRandomNumberGenerator(),
        resuming credentials: SessionCredentials? = nil,
        sasl: ZooKeeperSASL? = nil,
        makeCnonce: @escaping @Sendable () -> String = { DigestMD5.randomNonce() }
    ) {
        precondition(!hosts.isEmpty, "a connect string has at least one host")
        if let credentials {
            sessionId = credentials.sessionId
            password = credentials.password
        }
        self.hosts = hosts
        self.requestedTimeoutMs = requestedTimeoutMs
        self.connectTimeoutNanos = connectTimeoutNanos
        self.reconnectPolicy = reconnectPolicy
        self.random = random
        self.sasl = sasl
        self.makeCnonce = makeCnonce
    }

    var isConnected: Bool { if case .connected = state { true } else { false } }
    var isTerminal: Bool { state == .expired || state == .closed }
    var hasSession: Bool { sessionId != 0 }
    var negotiatedTimeoutNanos: Int64 { Int64(negotiatedTimeoutMs) * 1_000_000 }

    /// The handshake for the current attempt.
    func connectRequest(lastZxidSeen: Int64) -> ConnectRequest {
        ConnectRequest(
            protocolVersion: 0,
            lastZxidSeen: lastZxidSeen,
            timeOut: requestedTimeoutMs,
            sessionId: sessionId,
            password: password,
            readOnly: false
        )
    }

    mutating func start() -> Action {
        guard state == .initial else { return .none }
        state = .connecting(hostIndex: 0, tried: 1)
        attempt += 1
        return .connect(hosts[0], attempt: attempt, timeoutNanos: connectTimeoutNanos, delayNanos: 0)
    }

    /// The server answered the handshake of `attempt`.
    mutating func handshakeReceived(_ response: ConnectResponse, attempt: Int, now: UInt64) -> Action {
        guard attempt == self.attempt else { return .none }
        switch state {
        case .connecting(let index, let tried):
            guard !response.isRejection else {
                if sessionId != 0 {
                    state = .expired
                    return .failConnect(
                        .sessionExpired("\(hosts[index]) says session 0x\(String(sessionId, radix: 16)) has expired")
                    )
                }
                // A brand-new session cannot be rejected for expiry; treat it as a failed attempt.
                return connectFailed(attempt: attempt, reason: "\(hosts[index]) rejected the new session", now: now)
            }
            adopt(response)
            if sasl != nil { return beginSASL(hostIndex: index, origin: .connecting(tried: tried)) }
            state = .connected(hostIndex: index)
            failuresInRow = 0
            refusalsInRow = 0
            return .sessionStarted
        case .reconnecting(let index, let deadline):
            guard !response.isRejection else {
                state = .expired
                return .expire(reason: "\(hosts[index]) says session 0x\(String(sessionId, radix: 16)) has expired")
            }
            negotiatedTimeoutMs = response.timeOut
            if sasl != nil { return beginSASL(hostIndex: index, origin: .reconnecting(deadline: deadline)) }
            state = .connected(hostIndex: index)
            failuresInRow = 0
            refusalsInRow = 0
            return .sessionResumed
        default:
            return .none
        }
    }

    /// SASL starts with an empty token (DIGEST-MD5 is server-first).
    private mutating func beginSASL(hostIndex: Int, origin: Origin) -> Action {
        state = .authenticating(hostIndex: hostIndex, origin: origin)
        expectedRspauth = nil
        return .sendSASL(token: [])
    }

    /// The server answered a SASL token of `attempt` (err 0).
    mutating func saslReply(token: [UInt8]?, attempt: Int) -> Action {
        guard attempt == self.attempt, case .authenticating(let index, let origin) = state, let sasl else {
            return .none
        }
        do throws(DigestMD5Error) {
            guard let expected = expectedRspauth else {
                let exchange = DigestMD5ClientExchange(
                    username: sasl.user,
                    password: sasl.password,
                    cnonce: makeCnonce()
                )
                let (response, rspauth) = try exchange.respond(to: token ?? [])
                expectedRspauth = rspauth
                return .sendSASL(token: response.token)
            }
            try DigestMD5ClientExchange.verifyFinal(token ?? [], expectedRspauth: expected)
        } catch {
            return authenticationFailed(.sasl(host: hosts[index], user: sasl.user, detail: error.detail))
        }
        expectedRspauth = nil
        state = .connected(hostIndex: index)
        failuresInRow = 0
        refusalsInRow = 0
        if case .connecting = origin { return .sessionStarted }
        return .sessionResumed
    }

    /// The server refused a SASL token of `attempt` (AUTHFAILED, then it closes the connection): the next
    /// host may know the user (`refused`).
    mutating func saslRefused(code: ErrorCode, attempt: Int, now: UInt64) -> Action {
        guard attempt == self.attempt, case .authenticating(let index, _) = state, let sasl else { return .none }
        return refused(
            .sasl(host: hosts[index], user: sasl.user, detail: "the server refused the credentials (\(code))"),
            attempt: attempt,
            now: now
        )
    }

    /// TLS failed on `attempt` (untrusted CA, host name mismatch, certificate required): the next host
    /// may have another certificate (`refused`).
    mutating func securityFailed(attempt: Int, error: ZooKeeperError, now: UInt64) -> Action {
        guard attempt == self.attempt else { return .none }
        switch state {
        case .connecting, .reconnecting, .authenticating: return refused(error, attempt: attempt, now: now)
        default: return .none
        }
    }

    /// A TLS or SASL refusal tries the next host of the connect string as any failed attempt does; one
    /// on every host in a row (since the session was last live) ends it with this refusal, as does
    /// running out of hosts on the first connect.
    private mutating func refused(_ error: ZooKeeperError, attempt: Int, now: UInt64) -> Action {
        refusalsInRow += 1
        guard refusalsInRow < hosts.count else { return authenticationFailed(error) }
        let next = connectFailed(attempt: attempt, reason: error.message, now: now)
        if case .failConnect = next { return authenticationFailed(error) }
        return next
    }

    private mutating func authenticationFailed(_ error: ZooKeeperError) -> Action {
        state = .closed
        expectedRspauth = nil
        return .authenticationFailed(error)
    }

    /// Attempt `attempt` failed before its handshake completed (refused, timed out, closed).
    mutating func connectFailed(attempt: Int, reason: String, now: UInt64) -> Action {
        guard attempt == self.attempt else { return .none }
        lastFailure = reason
        if case .authenticating(let index, let origin) = state {
            expectedRspauth = nil
            switch origin {
            case .connecting(let tried): state = .connecting(hostIndex: index, tried: tried)
            case .reconnecting(let deadline): state = .reconnecting(hostIndex: index, deadline: deadline)
            }
        }
        switch state {
        case .connecting(let index, let tried):
            guard tried < hosts.count else {
                state = .closed
                let names = hosts.map(\.description).joined(separator: ", ")
                return .failConnect(
                    ZooKeeperError(
                        code: .connectionLoss,
                        path: nil,
                        message:
                            "cannot connect to ZooKeeper at \(names) (last error: \(reason)); check that the server runs there and the host and port are right"
                    )
                )
            }
            let next = (index + 1) % hosts.count
            state = .connecting(hostIndex: next, tried: tried + 1)
            self.attempt += 1
            return .connect(hosts[next], attempt: self.attempt, timeoutNanos: connectTimeoutNanos, delayNanos: 0)
        case .reconnecting(let index, let deadline):
            switch nextReconnect(from: index, deadline: deadline, now: now) {
            case .connect(let host, let a, let t, let d):
                return .connect(host, attempt: a, timeoutNanos: t, delayNanos: d)
            case .expire(let reason): return .expire(reason: reason)
            }
        default:
            return .none
        }
    }

    /// The established connection of `attempt` closed or failed (including read timeouts).
    mutating func connectionLost(attempt: Int, reason: String, now: UInt64) -> Action {
        guard attempt == self.attempt else { return .none }
        switch state {
        case .connected(let index):
            let deadline = now + UInt64(max(negotiatedTimeoutNanos, 0))
            state = .reconnecting(hostIndex: index, deadline: deadline)
            failuresInRow = 0
            lastFailure = reason
            return .connectionLost(next: nextReconnect(from: index, deadline: deadline, now: now))
        case .connecting, .reconnecting, .authenticating:
            return connectFailed(attempt: attempt, reason: reason, now: now)
        case .closing:
            state = .closed
            return .closeNow
        default:
            return .none
        }
    }

    mutating func closeRequested() -> Action {
        switch state {
        case .connected:
            state = .closing
            return .sendCloseSession
        case .initial, .connecting, .reconnecting, .authenticating:
            state = .closed
            return .closeNow
        case .closing, .expired, .closed:
            return .none
        }
    }

    /// closeSession was answered (or timed out).
    mutating func closeCompleted() -> Action {
        guard state == .closing else { return .none }
        state = .closed
        return .closeNow
    }

    private mutating func nextReconnect(from index: Int, deadline: UInt64, now: UInt64) -> ConnectStep {
        guard now < deadline else {
            state = .expired
            return .expire(
                reason:
                    "no server answered within the session timeout (\(negotiatedTimeoutMs) ms); last error: \(lastFailure)"
            )
        }
        failuresInRow += 1
        let next = (index + 1) % hosts.count
        let delay = reconnectDelay(attempt: failuresInRow - 1, left: Int64(deadline - now))
        let remaining = Int64(deadline - now) - delay
        guard remaining > 0 else {
            state = .expired
            return .expire(
                reason:
                    "no server answered within the session timeout (\(negotiatedTimeoutMs) ms); last error: \(lastFailure)"
            )
        }
        state = .reconnecting(hostIndex: next, deadline: deadline)
        attempt += 1
        return .connect(
            hosts[next],
            attempt: attempt,
            timeoutNanos: min(connectTimeoutNanos, remaining),
            delayNanos: delay
        )
    }

    /// The policy's delay before attempt `attempt` since the loss, at most half of the `left` nanoseconds
    /// of the session timeout so a back-off alone cannot expire the session.
    private mutating func reconnectDelay(attempt: Int, left: Int64) -> Int64 {
        let wanted = reconnectPolicy.delayNanos(attempt: attempt, hostCount: hosts.count, using: &random)
        return min(wanted, max(left / 2, 0))
    }

    private mutating func adopt(_ response: ConnectResponse) {
        sessionId = response.sessionId
        password = response.password
        negotiatedTimeoutMs = response.timeOut
    }
}
