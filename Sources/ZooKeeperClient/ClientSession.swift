import Atomics
import DequeModule
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperProtocol

/// The mutable heart of a `ZooKeeperClient`: session state, the current connection, watches, queued
/// requests and event delivery.
///
/// `@unchecked Sendable`: every stored property is touched only on `eventLoop` (entry points from other
/// threads hop with `execute`; each method asserts it), except the atomics in `counters` and the
/// immutable `let`s.
///
/// Requests, the state machine's actions and the tick live here; the connect path is in
/// `ClientSession+Connect.swift`, event delivery in `ClientSession+Events.swift` (which is why the state
/// they share is internal rather than private: nothing outside this type touches it).
final class ClientSession: @unchecked Sendable {
    let eventLoop: any EventLoop
    let logger: Logger
    let connectString: ConnectString
    let counters = ClientCounters()
    private let requestTimeoutNanos: UInt64
    /// The servers' frame limit (jute.maxbuffer) that each setWatches2 batch fits.
    private let maxPacketSize: Int
    var machine: SessionStateMachine
    var handler: ZooKeeperConnectionHandler?
    var channel: (any Channel)?
    private var waiting = Deque<WaitingRequest>()
    private(set) var watches = RegisteredWatches()
    /// Credentials accepted by the server, replayed after every reconnect.
    private var authInfo: [AuthPacket] = []
    private var nextXid: Int32 = 1
    private var lastZxid: Int64 = 0
    /// `tick()`'s place on the loop's shared timer (one per loop, not one per session).
    private var tickRegistration: SessionTicker.Registration?
    /// How often `tick()` runs: a twentieth of the shorter of the request and session timeouts, between
    /// 10 and 500 ms. A fixed fine tick costs 200,000 timer firings a second at 10,000 sessions.
    private let tickInterval: TimeAmount
    var attemptTimeout: Scheduled<Void>?
    private var connectPromise: EventLoopPromise<Void>?
    private var closePromises: [EventLoopPromise<Void>] = []
    private var closeTimeout: Scheduled<Void>?
    let tls: ZooKeeperTLS?
    let sourceAddress: String?
    let onConnectPhases: (@Sendable (ConnectPhaseTimings) -> Void)?
    /// Monotonic stamps of the current attempt's phases.
    var phases = PhaseStamps()

    // Event delivery: a back-pressured sequence, or a callback that replaces it.
    let eventSource: WatchEventSequence.Producer.Source
    let events: WatchEventSequence
    var eventHandler: (@Sendable (WatchEvent) -> Void)?
    var sequenceTerminated = false
    var readsPaused = false
    /// `ZooKeeperClient.setReadsStalled(true)`: reads held on purpose (a simulated stalled consumer).
    var readsStalled = false
    /// Events buffered while nobody iterates `events`; bounded so an unread sequence cannot grow forever.
    var unconsumedEvents = 0
    static let unconsumedEventLimit = 100_000

    init(configuration: ZooKeeperConfiguration, connectString: ConnectString, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.logger = configuration.logger
        self.connectString = connectString
        self.requestTimeoutNanos = UInt64(max(configuration.requestTimeout.nanoseconds, 1))
        self.tls = configuration.tls
        self.sourceAddress = configuration.sourceAddress
        self.maxPacketSize = max(configuration.maxPacketSize, 4096)
        self.onConnectPhases = configuration.onConnectPhases
        self.authInfo = configuration.authInfo
        let timeoutMs = Int32(clamping: configuration.sessionTimeout.milliseconds)
        let shortest = min(configuration.requestTimeout.nanoseconds, configuration.sessionTimeout.nanoseconds)
        self.tickInterval = .nanoseconds(min(max(shortest / 20, 10_000_000), 500_000_000))
        self.machine = SessionStateMachine(
            hosts: connectString.hosts.shuffled(),
            requestedTimeoutMs: timeoutMs,
            connectTimeoutNanos: max(configuration.connectTimeout.nanoseconds, 1_000_000),
            reconnectPolicy: configuration.reconnectPolicy,
            resuming: configuration.resumeSession,
            sasl: configuration.sasl
        )

        let box = WeakSessionBox()
        let backPressure = EventBackPressure(
            onProduceMore: { box.session?.eventConsumerWantsMore() },
            onTerminate: { box.session?.eventConsumerTerminated() }
        )
        let made = NIOAsyncSequenceProducer.makeSequence(
            elementType: WatchEvent.self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
                lowWatermark: max(configuration.eventBufferLowWatermark, 1),
                highWatermark: max(configuration.eventBufferHighWatermark, configuration.eventBufferLowWatermark + 1)
            ),
            finishOnDeinit: true,
            delegate: backPressure
        )
        self.eventSource = made.source
        self.events = WatchEventSequence(producer: made.sequence, backPressure: backPressure)
        box.session = self
    }

    // MARK: Life cycle

    /// Starts the first connection; the future completes when the session is established.
    func start() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        let promise = eventLoop.makePromise(of: Void.self)
        connectPromise = promise
        tickRegistration = SessionTicker.register(on: eventLoop, every: tickInterval) { [self] in tick() }
        perform(machine.start())
        return promise.futureResult
    }

    func close() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        let promise = eventLoop.makePromise(of: Void.self)
        if machine.isTerminal {
            promise.succeed(())
            return promise.futureResult
        }
        closePromises.append(promise)
        perform(machine.closeRequested())
        return promise.futureResult
    }

    var sessionId: Int64 { machine.sessionId }

    // MARK: Requests

    func nextRequestXid() -> Int32 {
        let xid = nextXid
        nextXid = nextXid == Int32.max ? 1 : nextXid + 1
        return xid
    }

    /// Sends `request` (server paths already applied) or queues it until connected.
    func submit(_ request: ZooKeeperRequest, token: UInt64, completion: @escaping ZooKeeperCompletion) {
        eventLoop.assertInEventLoop()
        let deadline = NIODeadline.now().uptimeNanoseconds + requestTimeoutNanos
        switch machine.state {
        case .connected:
            counters.outstanding.wrappingIncrement(ordering: .relaxed)
            handler!.send(request, xid: nextRequestXid(), token: token, deadline: deadline, completion: completion)
        case .initial, .connecting, .reconnecting, .authenticating:
            counters.outstanding.wrappingIncrement(ordering: .relaxed)
            waiting.append(WaitingRequest(request: request, token: token, deadline: deadline, completion: completion))
        case .closing, .closed:
            completion(.failure(.closed), 0, 0)
        case .expired:
            completion(
                .failure(.sessionExpired("session 0x\(String(machine.sessionId, radix: 16)) expired earlier")),
                0,
                0
            )
        }
    }

    func addAuth(_ packet: AuthPacket, completion: @escaping ZooKeeperCompletion) {
        eventLoop.assertInEventLoop()
        guard machine.isConnected, let handler else {
            completion(.failure(.connectionLoss("not connected; addAuth again once connected")), 0, 0)
            return
        }
        handler.sendSpecial(.auth(packet), xid: SpecialXid.auth) { [self] result, sent, received in
            if case .success = result { authInfo.append(packet) }
            completion(result, sent, received)
        }
    }

    func cancel(token: UInt64) {
        eventLoop.assertInEventLoop()
        if let index = waiting.firstIndex(where: { $0.token == token }) {
            waiting.remove(at: index)
            counters.outstanding.wrappingDecrement(ordering: .relaxed)
            return
        }
        _ = handler?.abandon(token: token)
    }

    /// Called by the handler for each reply matched to its request.
    func replyReceived(_ entry: PendingRequest, header: ReplyHeader, body: inout ByteBuffer, receivedAt: UInt64) {
        counters.outstanding.wrappingDecrement(ordering: .relaxed)
        if let path = entry.path, entry.watch != .none {
            watches.register(entry.watch, path: path, result: header.err)
        }
        guard let completion = entry.completion else { return }
        guard header.err == .ok else {
            completion(
                .failure(.reply(header.err, opCode: entry.opCode, path: entry.path.map(clientPath))),
                entry.sentAt,
                receivedAt
            )
            return
        }
        do {
            var response = try ZooKeeperResponse.decode(opCode: entry.opCode, from: &body)
            if connectString.chroot != nil { response = response.strippingChroot(self) }
            completion(.success(response), entry.sentAt, receivedAt)
        } catch {
            completion(
                .failure(
                    ZooKeeperError(
                        code: .marshallingError,
                        path: entry.path.map(clientPath),
                        message: "could not decode the reply to \(entry.opCode): \(error)"
                    )
                ),
                entry.sentAt,
                receivedAt
            )
        }
    }

    func observeZxid(_ zxid: Int64) {
        if zxid > lastZxid {
            lastZxid = zxid
            counters.lastZxid.store(zxid, ordering: .relaxed)
        }
    }

    func clientPath(_ serverPath: String) -> String { connectString.clientPath(serverPath) }

    // MARK: Connection events (from the handler)

    func handshakeRequest(attempt: Int) -> ConnectRequest? {
        guard attempt == machine.attempt else { return nil }
        return machine.connectRequest(lastZxidSeen: lastZxid)
    }

    func handshakeReceived(_ response: ConnectResponse, handler: ZooKeeperConnectionHandler) {
        let now = NIODeadline.now().uptimeNanoseconds
        if handler.attempt == machine.attempt { phases.handshakeReceived = now }
        let action = machine.handshakeReceived(response, attempt: handler.attempt, now: now)
        if case .sendSASL = action {
            // The attempt's timer keeps running: SASL is part of connecting.
            self.handler = handler
        } else if action == .sessionStarted || action == .sessionResumed {
            attemptTimeout?.cancel()
            self.handler = handler
        } else if action == .none {
            // A late answer on an attempt already given up: that connection is not ours any more.
            handler.close(reason: "stale connection attempt")
        }
        perform(action)
    }

    func connectionClosed(handler: ZooKeeperConnectionHandler, reason: String) {
        let now = NIODeadline.now().uptimeNanoseconds
        if self.handler === handler {
            self.handler = nil
            channel = nil
        }
        perform(machine.connectionLost(attempt: handler.attempt, reason: reason, now: now))
    }

    func notificationReceived(_ event: WatcherEvent, receivedAt: UInt64) {
        watches.fired(event.type, path: event.path)
        deliver(WatchEvent(type: event.type, state: event.state, path: clientPath(event.path), receivedAt: receivedAt))
    }

    func authFailed(code: ErrorCode, receivedAt: UInt64) {
        deliver(WatchEvent(type: .none, state: .authFailed, path: "", receivedAt: receivedAt))
    }

    // MARK: Acting on the state machine

    func perform(_ action: SessionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .connect(let host, let attempt, let timeout, let delay):
            connect(host, attempt: attempt, timeoutNanos: timeout, delayNanos: delay)
        case .sendSASL(let token):
            guard let handler else { break }
            let attempt = handler.attempt
            let deadline = NIODeadline.now().uptimeNanoseconds + requestTimeoutNanos
            counters.outstanding.wrappingIncrement(ordering: .relaxed)
            handler.send(.sasl(token: token), xid: nextRequestXid(), token: 0, deadline: deadline) {
                [self] result, _, _ in
                switch result {
                case .success(.sasl(let reply)):
                    perform(machine.saslReply(token: reply, attempt: attempt))
                case .success:
                    perform(machine.saslReply(token: nil, attempt: attempt))
                case .failure(let error) where error.code == .connectionLoss:
                    break  // the connection's loss is handled as such
                case .failure(let error):
                    // Decide first (the refused connection's close must find its attempt over), then close it.
                    let refusedChannel = channel
                    channel = nil
                    perform(
                        machine.saslRefused(
                            code: error.code,
                            attempt: attempt,
                            now: NIODeadline.now().uptimeNanoseconds
                        )
                    )
                    refusedChannel?.close(promise: nil)
                }
            }
        case .authenticationFailed(let error):
            logger.debug("authentication failed", metadata: ["error": "\(error)"])
            attemptTimeout?.cancel()
            handler?.failAll(reason: error.message, code: .authFailed)
            handler?.close(reason: "authentication failed")
            channel?.close(promise: nil)
            handler = nil
            channel = nil
            failWaiting(error)
            deliverState(.authFailed)
            finish()
            connectPromise?.fail(error)
            connectPromise = nil
        case .failConnect(let error):
            logger.debug("connect failed", metadata: ["error": "\(error)"])
            attemptTimeout?.cancel()
            channel?.close(promise: nil)
            channel = nil
            failWaiting(error)
            finish()
            connectPromise?.fail(error)
            connectPromise = nil
        case .sessionStarted:
            counters.sessionId.store(machine.sessionId, ordering: .relaxed)
            counters.credentials.withLockedValue {
                $0 = SessionCredentials(sessionId: machine.sessionId, password: machine.password)
            }
            counters.negotiatedTimeoutMs.store(Int64(machine.negotiatedTimeoutMs), ordering: .relaxed)
            logger.debug(
                "session started",
                metadata: [
                    "session": "0x\(String(machine.sessionId, radix: 16))",
                    "timeout_ms": "\(machine.negotiatedTimeoutMs)",
                ]
            )
            connectCompleted(resumed: false)
            if let handler {
                for auth in authInfo {
                    handler.sendSpecial(.auth(auth), xid: SpecialXid.auth)
                }
            }
            deliverState(.syncConnected)
            flushWaiting()
            connectPromise?.succeed(())
            connectPromise = nil
        case .sessionResumed:
            counters.reconnects.wrappingIncrement(ordering: .relaxed)
            counters.negotiatedTimeoutMs.store(Int64(machine.negotiatedTimeoutMs), ordering: .relaxed)
            logger.debug("session resumed", metadata: ["session": "0x\(String(machine.sessionId, radix: 16))"])
            connectCompleted(resumed: true)
            if let handler {
                for batch in watches.setWatchesBatches(relativeZxid: lastZxid, maxFrameLength: maxPacketSize) {
                    handler.sendSpecial(.setWatches2(batch), xid: SpecialXid.setWatches)
                }
                for auth in authInfo {
                    handler.sendSpecial(.auth(auth), xid: SpecialXid.auth)
                }
            }
            deliverState(.syncConnected)
            flushWaiting()
        case .connectionLost(let next):
            counters.connectionLosses.wrappingIncrement(ordering: .relaxed)
            logger.debug("connection lost", metadata: ["session": "0x\(String(machine.sessionId, radix: 16))"])
            deliverState(.disconnected)
            switch next {
            case .connect(let host, let attempt, let timeout, let delay):
                connect(host, attempt: attempt, timeoutNanos: timeout, delayNanos: delay)
            case .expire(let reason):
                expire(reason)
            }
        case .expire(let reason):
            expire(reason)
        case .sendCloseSession:
            if let handler {
                let deadline = NIODeadline.now().uptimeNanoseconds + requestTimeoutNanos
                counters.outstanding.wrappingIncrement(ordering: .relaxed)
                handler.send(.closeSession, xid: nextRequestXid(), token: 0, deadline: deadline) { [self] _, _, _ in
                    perform(machine.closeCompleted())
                }
            }
            // A server that never answers must not hold close() forever.
            closeTimeout = eventLoop.scheduleTask(in: .seconds(2)) { [self] in
                perform(machine.closeCompleted())
            }
        case .closeNow:
            closeTimeout?.cancel()
            attemptTimeout?.cancel()
            handler?.failAll(reason: "client closed")
            handler?.close(reason: "client closed")
            channel?.close(promise: nil)
            handler = nil
            channel = nil
            failWaiting(.closed)
            deliverState(.closed)
            finish()
            if let connectPromise {
                connectPromise.fail(ZooKeeperError.closed)
                self.connectPromise = nil
            }
        }
    }

    private func expire(_ reason: String) {
        logger.debug("session expired", metadata: ["reason": "\(reason)"])
        attemptTimeout?.cancel()
        let error = ZooKeeperError.sessionExpired(reason)
        handler?.failAll(reason: reason, code: .sessionExpired)
        handler?.close(reason: "session expired")
        channel?.close(promise: nil)
        handler = nil
        channel = nil
        failWaiting(error)
        watches.removeAll()
        deliverState(.expired)
        finish()
        connectPromise?.fail(error)
        connectPromise = nil
    }

    /// Terminal: stop timers, end the event sequence, answer close() callers.
    private func finish() {
        counters.finished.store(true, ordering: .releasing)
        tickRegistration?.cancel()
        tickRegistration = nil
        counters.outstanding.store(0, ordering: .relaxed)
        if !sequenceTerminated {
            sequenceTerminated = true
            eventSource.finish()
        }
        let promises = closePromises
        closePromises = []
        for promise in promises { promise.succeed(()) }
    }

    private func flushWaiting() {
        guard let handler else { return }
        while let request = waiting.popFirst() {
            handler.send(
                request.request,
                xid: nextRequestXid(),
                token: request.token,
                deadline: request.deadline,
                completion: request.completion
            )
        }
    }

    private func failWaiting(_ error: ZooKeeperError) {
        let requests = waiting
        waiting.removeAll()
        counters.outstanding.wrappingDecrement(by: requests.count, ordering: .relaxed)
        for request in requests {
            var error = error
            if error.path == nil, let path = request.request.path { error.path = clientPath(path) }
            request.completion(.failure(error), 0, 0)
        }
    }

    /// Every `tickInterval`: request deadlines, pings when idle, read timeout, queued requests' deadlines.
    private func tick() {
        let now = NIODeadline.now().uptimeNanoseconds
        while let first = waiting.first, first.deadline <= now {
            waiting.removeFirst()
            counters.outstanding.wrappingDecrement(ordering: .relaxed)
            first.completion(
                .failure(
                    ZooKeeperError(
                        code: .connectionLoss,
                        path: first.request.path.map(clientPath),
                        message:
                            "no connection to ZooKeeper within the request timeout (CONNECTIONLOSS): \(first.request.opCode) was never sent; check the servers"
                    )
                ),
                0,
                0
            )
        }
        guard machine.isConnected, let handler else { return }
        handler.expireRequests(now: now)
        let timeout = UInt64(machine.negotiatedTimeoutNanos)
        guard timeout > 0 else { return }
        // While reads are held for a slow event consumer, silence is ours, not the server's.
        if readsPaused || readsStalled {
            handler.noteReceiveNow(now)
        } else if now > handler.lastReceiveAt && now - handler.lastReceiveAt > timeout * 2 / 3 {
            handler.close(
                reason: "no data from the server for \((now - handler.lastReceiveAt) / 1_000_000) ms (read timeout)"
            )
            return
        }
        if now > handler.lastSendAt && now - handler.lastSendAt >= timeout / 3 {
            ClientCounters.raise(counters.maxPingLatenessNanos, to: now - handler.lastSendAt - timeout / 3)
            handler.sendSpecial(.ping, xid: SpecialXid.ping)
        }
    }

}
