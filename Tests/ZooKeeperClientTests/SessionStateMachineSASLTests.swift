import Testing
import ZooKeeperProtocol

@testable import ZooKeeperClient

// Pure unit tests of the SASL and TLS-failure transitions: one transition per test, no channel.
@Suite("Session state machine: SASL and TLS failures")
struct SessionStateMachineSASLTests {
    let a = HostPort(host: "a", port: 1)
    let b = HostPort(host: "b", port: 2)
    let second: Int64 = 1_000_000_000
    let accepted = ConnectResponse(
        timeOut: 4000,
        sessionId: 0x42,
        password: [UInt8](repeating: 7, count: 16),
        readOnly: false
    )
    // The server side of the exchange, computed by the shared DIGEST-MD5 code with a fixed nonce.
    let server = DigestMD5ServerExchange(nonce: "server-nonce")

    func machine() -> SessionStateMachine {
        SessionStateMachine(
            hosts: [a, b],
            requestedTimeoutMs: 4000,
            connectTimeoutNanos: second,
            sasl: ZooKeeperSASL(user: "bob", password: "secret"),
            makeCnonce: { "client-nonce" }
        )
    }

    /// Handshake answered on host a, attempt 1: waiting for the challenge.
    func authenticating() -> SessionStateMachine {
        var m = machine()
        _ = m.start()
        _ = m.handshakeReceived(accepted, attempt: 1, now: 0)
        return m
    }

    /// The client's response token and the final token the server answers it with.
    func exchange() throws -> (response: [UInt8], final: [UInt8]) {
        let client = DigestMD5ClientExchange(username: "bob", password: "secret", cnonce: "client-nonce")
        let response = try client.respond(to: server.challengeToken).response.token
        let final = try server.verify(responseToken: response) { $0 == "bob" ? "secret" : nil }.finalToken
        return (response, final)
    }

    /// Authenticated on host a, attempt 1.
    func connected() throws -> SessionStateMachine {
        var m = authenticating()
        _ = m.saslReply(token: server.challengeToken, attempt: 1)
        _ = m.saslReply(token: try exchange().final, attempt: 1)
        return m
    }

    @Test func handshakeStartsSASLWithAnEmptyToken() {
        var m = machine()
        _ = m.start()
        #expect(m.handshakeReceived(accepted, attempt: 1, now: 0) == .sendSASL(token: []))
        #expect(m.state == .authenticating(hostIndex: 0, origin: .connecting(tried: 1)))
        #expect(m.sessionId == 0x42)
        #expect(!m.isConnected)
    }

    @Test func challengeIsAnsweredWithTheDigestResponse() throws {
        var m = authenticating()
        let action = m.saslReply(token: server.challengeToken, attempt: 1)
        #expect(action == .sendSASL(token: try exchange().response))
        #expect(m.state == .authenticating(hostIndex: 0, origin: .connecting(tried: 1)))
    }

    @Test func correctRspauthStartsTheSession() throws {
        var m = authenticating()
        _ = m.saslReply(token: server.challengeToken, attempt: 1)
        #expect(m.saslReply(token: try exchange().final, attempt: 1) == .sessionStarted)
        #expect(m.state == .connected(hostIndex: 0))
    }

    @Test func wrongRspauthFailsAuthentication() {
        var m = authenticating()
        _ = m.saslReply(token: server.challengeToken, attempt: 1)
        let action = m.saslReply(token: Array("rspauth=00000000000000000000000000000000".utf8), attempt: 1)
        guard case .authenticationFailed(let error) = action else {
            Issue.record("expected authenticationFailed, got \(action)")
            return
        }
        #expect(error.code == .authFailed)
        #expect(error.message.contains("SASL") && error.message.contains("a:1") && error.message.contains("bob"))
        #expect(m.state == .closed)
    }

    @Test func serverRefusalTriesTheNextHost() {
        var m = authenticating()
        _ = m.saslReply(token: server.challengeToken, attempt: 1)
        #expect(
            m.saslRefused(code: .authFailed, attempt: 1, now: 0)
                == .connect(b, attempt: 2, timeoutNanos: second, delayNanos: 0)
        )
        #expect(m.state == .connecting(hostIndex: 1, tried: 2))
        #expect(m.refusalsInRow == 1)
    }

    @Test func serverRefusalOnEveryHostFailsAuthentication() {
        var m = authenticating()
        _ = m.saslReply(token: server.challengeToken, attempt: 1)
        _ = m.saslRefused(code: .authFailed, attempt: 1, now: 0)
        _ = m.handshakeReceived(accepted, attempt: 2, now: 1)
        _ = m.saslReply(token: server.challengeToken, attempt: 2)
        let action = m.saslRefused(code: .authFailed, attempt: 2, now: 2)
        guard case .authenticationFailed(let error) = action else {
            Issue.record("expected authenticationFailed, got \(action)")
            return
        }
        #expect(error.code == .authFailed && error.message.contains("AUTHFAILED") && error.message.contains("b:2"))
        #expect(m.isTerminal)
    }

    @Test func malformedChallengeFailsAuthentication() {
        var m = authenticating()
        guard case .authenticationFailed = m.saslReply(token: Array("realm=\"x".utf8), attempt: 1) else {
            Issue.record("expected authenticationFailed")
            return
        }
        #expect(m.state == .closed)
    }

    @Test func staleSASLReplyIsIgnored() {
        var m = authenticating()
        #expect(m.saslReply(token: server.challengeToken, attempt: 0) == .none)
        #expect(m.saslRefused(code: .authFailed, attempt: 0, now: 0) == .none)
        #expect(m.state == .authenticating(hostIndex: 0, origin: .connecting(tried: 1)))
    }

    @Test func connectionLostDuringFirstSASLTriesTheNextHost() {
        var m = authenticating()
        #expect(
            m.connectionLost(attempt: 1, reason: "closed", now: 0)
                == .connect(b, attempt: 2, timeoutNanos: second, delayNanos: 0)
        )
        #expect(m.state == .connecting(hostIndex: 1, tried: 2))
    }

    @Test func reconnectAuthenticatesBeforeResuming() throws {
        var m = try connected()
        _ = m.connectionLost(attempt: 1, reason: "server restarted", now: 0)
        #expect(m.handshakeReceived(accepted, attempt: 2, now: 1) == .sendSASL(token: []))
        guard case .authenticating(_, .reconnecting) = m.state else {
            Issue.record("expected authenticating from reconnecting, got \(m.state)")
            return
        }
        _ = m.saslReply(token: server.challengeToken, attempt: 2)
        #expect(m.saslReply(token: try exchange().final, attempt: 2) == .sessionResumed)
        #expect(m.isConnected)
    }

    @Test func connectionLostDuringReconnectSASLKeepsReconnecting() throws {
        var m = try connected()
        _ = m.connectionLost(attempt: 1, reason: "gone", now: 0)
        _ = m.handshakeReceived(accepted, attempt: 2, now: 1)
        guard case .connect(_, let attempt, _, _) = m.connectionLost(attempt: 2, reason: "gone again", now: 2) else {
            Issue.record("expected another connect")
            return
        }
        #expect(attempt == 3)
        guard case .reconnecting = m.state else {
            Issue.record("expected reconnecting, got \(m.state)")
            return
        }
    }

    @Test func tlsFailureWhileConnectingTriesTheNextHost() {
        var m = machine()
        _ = m.start()
        let error = ZooKeeperError(code: .authFailed, message: "TLS handshake with a:1 failed: unknown CA")
        #expect(
            m.securityFailed(attempt: 1, error: error, now: 0)
                == .connect(b, attempt: 2, timeoutNanos: second, delayNanos: 0)
        )
        #expect(m.state == .connecting(hostIndex: 1, tried: 2))
    }

    @Test func tlsFailureOnEveryHostIsFinal() {
        var m = machine()
        _ = m.start()
        let first = ZooKeeperError(code: .authFailed, message: "TLS handshake with a:1 failed: unknown CA")
        _ = m.securityFailed(attempt: 1, error: first, now: 0)
        let last = ZooKeeperError(code: .authFailed, message: "TLS handshake with b:2 failed: unknown CA")
        #expect(m.securityFailed(attempt: 2, error: last, now: 1) == .authenticationFailed(last))
        #expect(m.state == .closed)
    }

    /// Running out of hosts on the first connect after a refusal and a plain failure ends with the refusal.
    @Test func refusalThenAnUnreachableLastHostEndsWithTheRefusal() {
        var m = SessionStateMachine(
            hosts: [a, b, HostPort(host: "c", port: 3)],
            requestedTimeoutMs: 4000,
            connectTimeoutNanos: second
        )
        _ = m.start()
        _ = m.connectFailed(attempt: 1, reason: "a refused the connection", now: 0)
        _ = m.connectFailed(attempt: 2, reason: "b refused the connection", now: 0)
        let error = ZooKeeperError(code: .authFailed, message: "TLS handshake with c:3 failed: unknown CA")
        #expect(m.securityFailed(attempt: 3, error: error, now: 0) == .authenticationFailed(error))
        #expect(m.state == .closed)
    }

    @Test func tlsFailureWhileReconnectingTriesTheNextHost() throws {
        var m = try connected()
        _ = m.connectionLost(attempt: 1, reason: "gone", now: 0)
        let error = ZooKeeperError(code: .authFailed, message: "TLS handshake with b:2 failed: host name mismatch")
        guard case .connect(let host, let attempt, _, _) = m.securityFailed(attempt: 2, error: error, now: 1) else {
            Issue.record("expected a connect to the next host, got \(m.state)")
            return
        }
        #expect(host == a && attempt == 3)
        guard case .reconnecting = m.state else {
            Issue.record("expected reconnecting, got \(m.state)")
            return
        }
    }

    @Test func saslRefusalWhileReconnectingOnEveryHostFailsAuthentication() throws {
        var m = try connected()
        _ = m.connectionLost(attempt: 1, reason: "gone", now: 0)
        _ = m.handshakeReceived(accepted, attempt: 2, now: 1)
        _ = m.saslReply(token: server.challengeToken, attempt: 2)
        guard case .connect = m.saslRefused(code: .authFailed, attempt: 2, now: 2) else {
            Issue.record("expected a connect to the next host, got \(m.state)")
            return
        }
        _ = m.handshakeReceived(accepted, attempt: 3, now: 3)
        guard case .authenticationFailed = m.saslRefused(code: .authFailed, attempt: 3, now: 4) else {
            Issue.record("expected authenticationFailed, got \(m.state)")
            return
        }
        #expect(m.state == .closed)
    }

    @Test func aLiveSessionClearsTheRefusalCount() throws {
        var m = authenticating()
        _ = m.saslRefused(code: .authFailed, attempt: 1, now: 0)
        #expect(m.refusalsInRow == 1)
        _ = m.handshakeReceived(accepted, attempt: 2, now: 1)
        _ = m.saslReply(token: server.challengeToken, attempt: 2)
        #expect(m.saslReply(token: try exchange().final, attempt: 2) == .sessionStarted)
        #expect(m.refusalsInRow == 0)
    }

    @Test func tlsErrorOnAnEstablishedConnectionIsNotAnAuthenticationFailure() throws {
        var m = try connected()
        let error = ZooKeeperError(code: .authFailed, message: "TLS")
        #expect(m.securityFailed(attempt: 1, error: error, now: 0) == .none)
        #expect(m.isConnected)
    }

    @Test func closeWhileAuthenticatingClosesNow() {
        var m = authenticating()
        #expect(m.closeRequested() == .closeNow)
        #expect(m.state == .closed)
    }

    @Test func withoutSASLTheHandshakeStartsTheSessionAtOnce() {
        var m = SessionStateMachine(hosts: [a], requestedTimeoutMs: 4000, connectTimeoutNanos: second)
        _ = m.start()
        #expect(m.handshakeReceived(accepted, attempt: 1, now: 0) == .sessionStarted)
    }
}
