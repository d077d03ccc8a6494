import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ZooKeeperProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The connect path of a `ClientSession`: opening one attempt's channel (source address, TLS, the connect
// phase and protocol handlers), the attempt's timer, and the phase timings each attempt reports.
extension ClientSession {
    func connect(_ host: HostPort, attempt: Int, timeoutNanos: Int64, delayNanos: Int64) {
        guard delayNanos <= 0 else {
            eventLoop.scheduleTask(in: .nanoseconds(delayNanos)) { [self] in
                guard attempt == machine.attempt else { return }
                connect(host, attempt: attempt, timeoutNanos: timeoutNanos, delayNanos: 0)
            }
            return
        }
        logger.debug("connecting", metadata: ["host": "\(host)", "attempt": "\(attempt)"])
        phases = PhaseStamps(started: NIODeadline.now().uptimeNanoseconds, host: host.description)
        attemptTimeout?.cancel()
        attemptTimeout = eventLoop.scheduleTask(in: .nanoseconds(timeoutNanos)) { [self] in
            guard attempt == machine.attempt, !machine.isConnected else { return }
            let reason = "\(host) did not complete the handshake within \(timeoutNanos / 1_000_000) ms"
            // Decide first: closing fires channelInactive at once, which must find this attempt over.
            let stale = channel
            channel = nil
            perform(machine.connectFailed(attempt: attempt, reason: reason, now: NIODeadline.now().uptimeNanoseconds))
            stale?.close(promise: nil)
        }
        // NIO's own connect timeout is a backstop only: the attempt timer above fires first and
        // reports the real cause ("did not complete the handshake"), where NIO's close would
        // look like the server hanging up.
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(timeoutNanos + 1_000_000_000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Reads start small (a notification or a reply is tens of bytes) and grow with the traffic:
            // NIO's default 2 KiB first buffer, kept per connection, weighs on thousands of idle watchers.
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 64 * 1024)
            )
            .channelInitializer { [self, tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        try pipeline.addHandler(
                            ServerHelloSniffer { [self] suite in tlsCipherSeen(attempt: attempt, suite: suite) }
                        )
                        try pipeline.addHandler(
                            NIOSSLClientHandler(
                                context: tls.context,
                                serverHostname: tls.serverHostname(for: host.host)
                            )
                        )
                    }
                    try pipeline.addHandler(
                        ConnectPhaseHandler(session: self, attempt: attempt, host: host, tls: tls != nil)
                    )
                    try pipeline.addHandler(ZooKeeperConnectionHandler(session: self, attempt: attempt))
                }
            }
        var bound = bootstrap
        if let sourceAddress {
            do {
                bound = bound.bind(to: try SocketAddress(ipAddress: sourceAddress, port: 0))
            } catch {
                perform(
                    machine.connectFailed(
                        attempt: attempt,
                        reason: "source address \(sourceAddress): \(Self.describe(error))",
                        now: NIODeadline.now().uptimeNanoseconds
                    )
                )
                return
            }
        }
        bound.connect(host: host.host, port: host.port).hop(to: eventLoop).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                if attempt == machine.attempt, !machine.isTerminal {
                    self.channel = channel
                } else {
                    channel.close(promise: nil)
                }
            case .failure(let error):
                let reason = "\(host): \(Self.describe(error))"
                perform(
                    machine.connectFailed(attempt: attempt, reason: reason, now: NIODeadline.now().uptimeNanoseconds)
                )
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "cannot resolve host (\(dns))" }
            return "cannot resolve host"
        }
        if error is ChannelError, case .connectTimeout = error as! ChannelError {
            return "connect timed out"
        }
        return "\(error)"
    }

    // MARK: Connect phases and TLS (from ConnectPhaseHandler)

    func channelBecameActive(attempt: Int) {
        guard attempt == machine.attempt else { return }
        phases.tcpConnected = NIODeadline.now().uptimeNanoseconds
    }

    func tlsHandshakeCompleted(attempt: Int, version: String?) {
        guard attempt == machine.attempt else { return }
        phases.tlsDone = NIODeadline.now().uptimeNanoseconds
        phases.tlsVersion = version
    }

    func tlsCipherSeen(attempt: Int, suite: UInt16) {
        guard attempt == machine.attempt else { return }
        phases.tlsCipher = ServerHelloSniffer.name(suite)
    }

    func tlsFailed(attempt: Int, host: HostPort, error: any Error) {
        let failure = ZooKeeperError.tlsHandshake(
            host: host,
            expectedName: tls?.serverName ?? host.host,
            error: error,
            presentedCertificate: tls?.certificateFile != nil
        )
        logger.debug("TLS failed", metadata: ["host": "\(host)", "error": "\(error)"])
        perform(machine.securityFailed(attempt: attempt, error: failure, now: NIODeadline.now().uptimeNanoseconds))
    }

    func connectCompleted(resumed: Bool) {
        let now = NIODeadline.now().uptimeNanoseconds
        let p = phases
        guard let tcp = p.tcpConnected, let received = p.handshakeReceived else { return }
        let handshakeStart = p.tlsDone ?? tcp
        let timings = ConnectPhaseTimings(
            tcpNanos: tcp &- p.started,
            tlsNanos: p.tlsDone.map { $0 &- tcp },
            handshakeNanos: received &- handshakeStart,
            saslNanos: machine.sasl == nil ? nil : now &- received,
            resumed: resumed,
            host: p.host,
            tlsVersion: p.tlsVersion,
            tlsCipher: p.tlsCipher
        )
        counters.connectPhases.withLockedValue { $0 = timings }
        onConnectPhases?(timings)
    }
}

/// Monotonic stamps of one connect attempt.
struct PhaseStamps {
    var started: UInt64 = 0
    var host = ""
    var tcpConnected: UInt64?
    var tlsDone: UInt64?
    var tlsVersion: String?
    var tlsCipher: String?
    var handshakeReceived: UInt64?
}
