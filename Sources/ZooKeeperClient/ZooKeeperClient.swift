import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperProtocol

/// A ZooKeeper session over one pipelined connection at a time, reconnecting across the hosts of the
/// connect string with the same session until the session expires.
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

    /// Connects to the first host that answers and establishes a new session.
    /// Throws `ZooKeeperError` (`.badArguments` for a malformed connect string, `.connectionLoss` naming
    /// the hosts when none answers).
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

    public var sessionId: Int64 { session.counters.sessionId.load(ordering: .relaxed) }

    public var negotiatedTimeout: Duration {
        .milliseconds(session.counters.negotiatedTimeoutMs.load(ordering: .relaxed))
    }

    public var stats: ClientStats { session.counters.snapshot }

    /// How long each phase of the last successful connect took (TCP, TLS, handshake, SASL).
    public var lastConnectPhases: ConnectPhaseTimings? { session.counters.connectPhases.withLockedValue { $0 } }

    /// The session's id and password, to attach another client to it (`ZooKeeperConfiguration.resumeSession`).
    public var sessionCredentials: SessionCredentials? { session.counters.credentials.withLockedValue { $0 } }

    /// Watch and session events (one consumer). Ends after the session closes or expires.
    public var events: WatchEventSequence { session.events }

    /// Delivers events to `handler` on the event loop instead of the `events` sequence.
    public func setEventHandler(_ handler: @escaping @Sendable (WatchEvent) -> Void) {
        let session = self.session
        if eventLoop.inEventLoop {
            session.setEventHandler(handler)
        } else {
            eventLoop.execute { session.setEventHandler(handler) }
        }
    }

    /// Sends closeSession, waits for its answer (at most 2 s), and closes the connection.
    public func close() async throws {
        let session = self.session
        try await eventLoop.flatSubmit { session.close() }.get()
    }

    // MARK: Raw requests

    /// Sends any request (chroot applied to its paths, stripped from returned paths) and waits for its reply.
    /// Server errors throw `ZooKeeperError`; cancelling the task answers at once and drops the late reply.
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

    /// Hot-path form for the load engine: no Task per request. `completion` runs on the event loop with
    /// the result and the monotonic ns when the request was written and when its reply was decoded.
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

    /// The event loop the client's connection and callbacks run on.
    public var callbackEventLoop: any EventLoop { eventLoop }

    @inline(__always)
    private func serverForm(_ request: ZooKeeperRequest) -> ZooKeeperRequest {
        connectString.chroot == nil ? request : request.mappingPaths(connectString.serverPath)
    }

    // MARK: Validation before sending

    /// ZooKeeper's frame limit, applied to a value before it is sent.
    public static let maxValueSize = zooKeeperMaxFrameLength

    static func validate(_ request: ZooKeeperRequest) throws(ZooKeeperError) {
        switch request {
        case .create(let c, _):
            try validatePath(c.path, sequential: c.mode.isSequential)
            try validateValue(c.data, path: c.path)
        case .setData(let path, let data, _):
            try validatePath(path)
            try validateValue(data, path: path)
        case .multi(let ops), .multiRead(let ops):
            for op in ops {
                switch op {
                case .create(let c, _):
                    try validatePath(c.path, sequential: c.mode.isSequential)
                    try validateValue(c.data, path: c.path)
                case .setData(let path, let data, _):
                    try validatePath(path)
                    try validateValue(data, path: path)
                default:
                    try validatePath(op.path)
                }
            }
        default:
            if let path = request.path { try validatePath(path) }
        }
    }

    static func validateValue(_ data: [UInt8]?, path: String) throws(ZooKeeperError) {
        guard let data, data.count > maxValueSize else { return }
        throw .badArguments(
            "value for \(path) is \(data.count) bytes, over ZooKeeper's limit of \(maxValueSize) bytes (jute.maxbuffer, 1 MiB): store less, or split it across znodes",
            path: path)
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
