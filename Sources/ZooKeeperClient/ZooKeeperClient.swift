import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperProtocol

/// A ZooKeeper session over one pipelined connection at a time, reconnecting across the hosts of the
/// connect string with the same session until the session expires.
///
/// Create one with ``connect(_:eventLoopGroup:)``, use the typed calls (``create(_:data:acl:mode:ttl:)``,
/// ``getData(_:watch:)``, ...) or ``send(_:)`` for any request, read watch and session events from
/// ``events`` (or ``setEventHandler(_:)``), and end the session with ``close()``. Every call may be made
/// from any task or thread; requests are written in call order and answered in that order.
///
/// See <doc:GettingStarted>, <doc:WatchesAndRearming>, <doc:FailoverAndTheWatchLedger> and <doc:Chroot>.
public final class ZooKeeperClient: Sendable {
    let session: ClientSession
    let eventLoop: any EventLoop
    let connectString: ConnectString
    private let tokens = ManagedAtomic<UInt64>(0)

    private init(session: ClientSession, connectString: ConnectString) {
        self.session = session
        self.eventLoop = session.eventLoop
        self.connectString = connectString
    }

    /// Connects to the first host that answers and establishes a new session (or resumes
    /// ``ZooKeeperConfiguration/resumeSession``).
    ///
    /// On the wire: a TCP connection to each host in turn, then a `ConnectRequest` (protocol version 0,
    /// the last zxid seen, the requested timeout, session id 0 and a 16-byte zero password for a new
    /// session, and the read-only flag). The server answers with a `ConnectResponse`: the negotiated
    /// timeout, the session id and its password.
    ///
    /// - Parameters:
    ///   - configuration: The connect string, timeouts and logger.
    ///   - eventLoopGroup: Where the connection runs; one event loop of it is picked for this client.
    /// - Returns: A connected client; ``sessionId`` and ``negotiatedTimeout`` are set.
    /// - Throws: ``ZooKeeperError``: `.badArguments` for a malformed connect string (naming the part),
    ///   `.connectionLoss` naming every host tried when none answers within
    ///   ``ZooKeeperConfiguration/connectTimeout``, `.sessionExpired` when a resumed session is gone.
    public static func connect(
        _ configuration: ZooKeeperConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ZooKeeperClient {
        let connectString: ConnectString
        do {
            connectString = try ConnectString(parsing: configuration.connectString)
        } catch {
            throw ZooKeeperError(code: .badArguments, path: nil, message: error.description)
        }
        let eventLoop = eventLoopGroup.next()
        let session = ClientSession(configuration: configuration, connectString: connectString, eventLoop: eventLoop)
        let client = ZooKeeperClient(session: session, connectString: connectString)
        try await eventLoop.flatSubmit { session.start() }.get()
        return client
    }

    /// A client dropped without `close()` still ends its session politely, in the background.
    deinit {
        guard !session.counters.finished.load(ordering: .acquiring) else { return }
        let session = self.session
        eventLoop.execute { _ = session.close() }
    }

    /// The session id the server gave (0 before the first handshake).
    public var sessionId: Int64 { session.counters.sessionId.load(ordering: .relaxed) }

    /// The session timeout the server granted: the requested one clamped to 2–20 ticks of the server.
    public var negotiatedTimeout: Duration {
        .milliseconds(session.counters.negotiatedTimeoutMs.load(ordering: .relaxed))
    }

    /// Counters of this client (reconnects, outstanding requests, events delivered), read without locking.
    public var stats: ClientStats { session.counters.snapshot }

    /// How long each phase of the last successful connect took (TCP, TLS, handshake, SASL).
    public var lastConnectPhases: ConnectPhaseTimings? { session.counters.connectPhases.withLockedValue { $0 } }

    /// The session's id and password, to attach another client to it
    /// (``ZooKeeperConfiguration/resumeSession``); nil before the first handshake.
    public var sessionCredentials: SessionCredentials? { session.counters.credentials.withLockedValue { $0 } }

    /// Watch and session events, for one consumer. Ends after the session closes or expires.
    ///
    /// Back-pressured: when the consumer falls ``ZooKeeperConfiguration/eventBufferHighWatermark`` events
    /// behind, the client stops reading its socket until the consumer is back under the low watermark,
    /// so replies wait too. Nothing is sent on the wire to read events; the server pushes them as
    /// notifications (xid -1).
    public var events: WatchEventSequence { session.events }

    /// Delivers events to `handler` on the client's event loop instead of the ``events`` sequence.
    ///
    /// The handler must return quickly: it runs on the loop that reads the socket. Nothing is sent on the
    /// wire.
    ///
    /// - Parameter handler: Called once per event, in arrival order.
    public func setEventHandler(_ handler: @escaping @Sendable (WatchEvent) -> Void) {
        let session = self.session
        if eventLoop.inEventLoop {
            session.setEventHandler(handler)
        } else {
            eventLoop.execute { session.setEventHandler(handler) }
        }
    }

    /// Stops (`true`) or resumes (`false`) reading this client's socket, as a consumer whose reading
    /// thread is stuck: replies and watch notifications wait in the kernel and then on the server, which
    /// may close the connection for it (ZooKeeper buffers without bound; zkstorm's server closes it past
    /// its outbox limit). While stalled the client does not time itself out for silence; it still sends
    /// requests and pings, and sees the connection lost when the server has closed it. A reconnect's
    /// handshake is read, then reads stop again. Nothing is sent on the wire to stall; resuming reads
    /// what waited. zkstorm's slow-consumer scenario (`watches.stall`) uses it.
    ///
    /// - Parameter stalled: Whether to stop reading.
    public func setReadsStalled(_ stalled: Bool) {
        let session = self.session
        eventLoop.execute { session.setReadsStalled(stalled) }
    }

    /// Ends the session: the server removes its ephemeral nodes and watches at once.
    ///
    /// On the wire: `closeSession` (opcode -11), then the connection is closed after the reply or after at
    /// most 2 s. Requests still waiting fail with `.connectionLoss`; the ``events`` sequence ends.
    ///
    /// - Throws: Only if the client's event loop has shut down; a server that does not answer does not
    ///   make it throw.
    public func close() async throws {
        let session = self.session
        try await eventLoop.flatSubmit { session.close() }.get()
    }

    // MARK: Raw requests

    /// Sends any request and waits for its reply.
    ///
    /// The chroot is applied to the request's paths and stripped from the paths in the reply. A watch
    /// flag in the request registers the watch with the client, so it is re-registered after a reconnect.
    ///
    /// On the wire: the request header (xid, opcode) and the request's record, as `request` describes;
    /// the reply is matched by xid.
    ///
    /// - Parameter request: Any request a client may send after the handshake.
    /// - Returns: The decoded reply.
    /// - Throws: ``ZooKeeperError`` with the server's error code; `.badArguments` before sending for an
    ///   invalid path or an oversize value; `.connectionLoss`, `.operationTimeout` or `.sessionExpired`
    ///   when the reply does not come; `CancellationError` when the task is cancelled (the late reply is
    ///   dropped).
    public func send(_ request: ZooKeeperRequest) async throws -> ZooKeeperResponse {
        try Self.validate(request)
        try Task.checkCancellation()
        let token = tokens.wrappingIncrementThenLoad(ordering: .relaxed)
        let state = NIOLockedValueBox(ContinuationState.pending)
        let serverRequest = serverForm(request)
        let session = self.session
        let eventLoop = self.eventLoop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<ZooKeeperResponse, any Error>) in
                let proceed = state.withLockedValue { state -> Bool in
                    guard case .pending = state else { return false }
                    state = .waiting(continuation)
                    return true
                }
                guard proceed else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let completion: ZooKeeperCompletion = { result, _, _ in
                    let waiting = state.withLockedValue { state -> CheckedContinuation<ZooKeeperResponse, any Error>? in
                        guard case .waiting(let continuation) = state else { return nil }
                        state = .done
                        return continuation
                    }
                    waiting?.resume(with: result.mapError { $0 as any Error })
                }
                if eventLoop.inEventLoop {
                    session.submit(serverRequest, token: token, completion: completion)
                } else {
                    eventLoop.execute { session.submit(serverRequest, token: token, completion: completion) }
                }
            }
        } onCancel: {
            let waiting = state.withLockedValue { state -> CheckedContinuation<ZooKeeperResponse, any Error>? in
                defer { state = .cancelled }
                if case .waiting(let continuation) = state { return continuation }
                return nil
            }
            if let waiting {
                waiting.resume(throwing: CancellationError())
                eventLoop.execute { session.cancel(token: token) }
            }
        }
    }

    /// Sends any request without a task per request: the load engine's hot path.
    ///
    /// On the wire: as ``send(_:)``. Many requests may be in flight; completions run in reply order.
    ///
    /// - Parameters:
    ///   - request: Any request a client may send after the handshake; the chroot is applied as in
    ///     ``send(_:)``.
    ///   - completion: Runs on ``callbackEventLoop`` with the reply or a ``ZooKeeperError`` (the same
    ///     errors as ``send(_:)``; a request refused before sending reports 0 for both times), the
    ///     monotonic nanoseconds when the request was written, and when its reply was decoded.
    public func send(
        _ request: ZooKeeperRequest,
        completion:
            @escaping @Sendable (Result<ZooKeeperResponse, ZooKeeperError>, _ sentAt: UInt64, _ receivedAt: UInt64) ->
            Void
    ) {
        do {
            try Self.validate(request)
        } catch {
            if eventLoop.inEventLoop {
                completion(.failure(error), 0, 0)
            } else {
                eventLoop.execute { completion(.failure(error), 0, 0) }
            }
            return
        }
        let serverRequest = serverForm(request)
        let session = self.session
        if eventLoop.inEventLoop {
            session.submit(serverRequest, token: 0, completion: completion)
        } else {
            eventLoop.execute { session.submit(serverRequest, token: 0, completion: completion) }
        }
    }

    /// The event loop the client's connection, completions and event handler run on.
    public var callbackEventLoop: any EventLoop { eventLoop }

    @inline(__always)
    private func serverForm(_ request: ZooKeeperRequest) -> ZooKeeperRequest {
        connectString.chroot == nil ? request : request.mappingPaths(connectString.serverPath)
    }

    // MARK: Validation before sending

    /// ZooKeeper's frame limit (`jute.maxbuffer`, 1 MiB), applied to a value before it is sent.
    public static let maxValueSize = zooKeeperMaxFrameLength

    static func validate(_ request: ZooKeeperRequest) throws(ZooKeeperError) {
        switch request {
        case .create(let c, _):
            try validateCreate(c)
        case .setData(let path, let data, _):
            try validateSetData(path, data)
        case .multi(let ops), .multiRead(let ops):
            for op in ops {
                switch op {
                case .create(let c, _): try validateCreate(c)
                case .setData(let path, let data, _): try validateSetData(path, data)
                default: try validatePath(op.path)
                }
            }
        default:
            if let path = request.path { try validatePath(path) }
        }
    }

    static func validateCreate(_ c: CreateRequest) throws(ZooKeeperError) {
        try validatePath(c.path, sequential: c.mode.isSequential)
        try validateValue(c.data, path: c.path)
    }

    static func validateSetData(_ path: String, _ data: [UInt8]?) throws(ZooKeeperError) {
        try validatePath(path)
        try validateValue(data, path: path)
    }

    static func validateValue(_ data: [UInt8]?, path: String) throws(ZooKeeperError) {
        guard let data, data.count > maxValueSize else { return }
        throw .badArguments(
            "value for \(path) is \(data.count) bytes, over ZooKeeper's limit of \(maxValueSize) bytes (jute.maxbuffer, 1 MiB): store less, or split it across znodes",
            path: path
        )
    }

    static func validatePath(_ path: String, sequential: Bool = false) throws(ZooKeeperError) {
        if !sequential && PathCheck.isPlainlyValid(path) { return }
        do {
            try ZooKeeperPath.validate(path, sequential: sequential)
        } catch {
            throw .badArguments("\(error.description) (not sent to the server)", path: path)
        }
    }
}

private enum ContinuationState {
    case pending
    case waiting(CheckedContinuation<ZooKeeperResponse, any Error>)
    case cancelled
    case done
}

/// A quick, allocation-free check that accepts the common path shape; anything else goes to
/// `ZooKeeperPath.validate` for the exact rules and message.
enum PathCheck {
    static func isPlainlyValid(_ path: String) -> Bool {
        var utf8 = path.utf8.makeIterator()
        guard utf8.next() == UInt8(ascii: "/") else { return false }
        var previous = UInt8(ascii: "/")
        var count = 1
        var segmentDots = 0
        var segmentLength = 0
        while let byte = utf8.next() {
            count += 1
            if byte < 0x20 || byte >= 0x7f { return false }
            if byte == UInt8(ascii: "/") {
                if previous == UInt8(ascii: "/") { return false }
                if segmentDots == segmentLength && segmentLength <= 2 { return false }
                segmentDots = 0
                segmentLength = 0
            } else {
                segmentLength += 1
                if byte == UInt8(ascii: ".") { segmentDots += 1 }
            }
            previous = byte
        }
        if count == 1 { return true }
        if previous == UInt8(ascii: "/") { return false }
        if segmentDots == segmentLength && segmentLength <= 2 { return false }
        return true
    }
}
