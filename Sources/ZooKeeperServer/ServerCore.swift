import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperProtocol

/// Wall-clock milliseconds since the epoch (znode ctime/mtime).
func wallClockMilliseconds() -> Int64 {
    // `Date` rather than `clock_gettime`: with Foundation in this module, `timespec` resolves to
    // CoreFoundation's copy, which MemberImportVisibility then refuses.
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
}

/// Monotonic milliseconds (session deadlines).
func monotonicMilliseconds() -> Int64 {
    Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
}

/// Server-wide counters behind `srvr`, `stat` and `mntr`.
struct ServerCounters {
    var packetsReceived = 0
    var packetsSent = 0
    var bytesReceived = 0
    var latency = LatencyStatistics()
    var unsuccessfulHandshakes = 0
    /// Connections closed because no handshake completed within `handshakeTimeout`.
    var sessionlessConnectionsExpired = 0
    var connectionsRejected = 0
    var largeRequestsRejected = 0
    var connectionsDropped = 0
    var authFailures = 0
    /// Connections closed because their outbox passed `maxOutboxBytes` (a client that stopped reading).
    var connectionsClosedSlow = 0
    /// Times a request waited for `maxRequestRate`'s next token (ZooKeeper's throttler wait count).
    var requestThrottleWaits = 0
}

/// The acting half of the server: it frames input, runs the `RequestApplier` (which decides) under
/// `lock`, and turns each decision into bytes. Every request from every connection is applied under
/// `lock`, in one global order (zxid order for writes); the replies and watch events it produces are
/// encoded by ZooKeeperProtocol and appended to each connection's outbox inside the same critical
/// section, so each connection sees them in linearization order (an event before any reply that
/// reflects its change). Event loops then write the outboxes out.
///
/// `@unchecked Sendable`: all mutable state is accessed only while holding `lock`.
final class ServerCore: @unchecked Sendable {
    let lock = NIOLock()
    let configuration: ZooKeeperServerConfiguration
    let tickMs: Int64
    let logger: Logger
    let startedAtMonotonic = monotonicMilliseconds()
    /// `configuration.maxRequestRate` as a shared token bucket.
    let requestRateLimiter: RequestRateLimiter?

    // Guarded by lock.
    /// Decides what each request does; this class only acts on its answers.
    var applier: RequestApplier
    var connections: [Int: ServerConnection] = [:]
    var nextConnectionID = 1
    var counters = ServerCounters()
    var boundPort = 0
    /// The TLS listener's port (0: none).
    var boundSecurePort = 0
    /// False from `closeAllConnections` until the next `start()`: `register` refuses new connections.
    var acceptingConnections = true
    /// Between `ZooKeeperServer.pause()` and `resume()`: nothing is read, answered, expired or swept.
    var paused = false
    /// Reused for every request's watch notifications (emptied after delivery).
    private var triggers = WatchTriggers()
    /// Open connections per client address (`maxClientConnectionsPerHost`).
    var connectionsPerHost: [String: Int] = [:]
    /// Connections that need a flush scheduled once the lock is released.
    private var pendingFlushes: [ServerConnection] = []
    /// The connection whose input is being processed (flushed at its read-complete instead).
    private var current: ServerConnection?

    init(configuration: ZooKeeperServerConfiguration) {
        self.configuration = configuration
        let tick = configuration.tickTime.components
        tickMs = max(1, tick.seconds * 1000 + tick.attoseconds / 1_000_000_000_000_000)
        logger = configuration.logger
        requestRateLimiter = configuration.maxRequestRate.map { RequestRateLimiter(requestsPerSecond: $0) }
        applier = RequestApplier(
            tickMs: tickMs,
            wallClockMs: wallClockMilliseconds(),
            maxSessions: configuration.maxSessions,
            authentication: AuthenticationPolicy(configuration.security)
        )
    }

    // Read-only views for the four-letter words.
    var tree: DataTree { applier.tree }
    var watches: WatchManager { applier.watches }
    var sessions: SessionTracker { applier.sessions }
    var zxid: Int64 { applier.zxid }

    // MARK: - Connection lifecycle

    /// A new connection, or nil while the server shuts down (a connection accepted after
    /// `closeAllConnections` took its list would otherwise stay open).
    func register(_ channel: any Channel) -> ServerConnection? {
        lock.withLock {
            guard acceptingConnections else { return nil }
            let connection = ServerConnection(
                id: nextConnectionID,
                core: self,
                channel: channel,
                establishedAt: wallClockMilliseconds()
            )
            guard admitFromHost(connection) else { return nil }
            nextConnectionID += 1
            connections[connection.id] = connection
            return connection
        }
    }

    /// The channel went inactive: forget its watches; its session lives on until it expires.
    func connectionClosed(_ connection: ServerConnection) {
        let flushes: [ServerConnection] = lock.withLock {
            connection.closed = true
            guard connections.removeValue(forKey: connection.id) != nil else { return [] }
            releaseFromHost(connection)
            applier.connectionClosed(connection.id, session: connection.sessionID)
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    /// Processes every complete frame in `buffer` (or a four-letter word) under one lock acquisition.
    func consume(_ buffer: inout ByteBuffer, from connection: ServerConnection) {
        let flushes: [ServerConnection] = lock.withLock {
            // Paused: the bytes wait in the connection's buffer until resume() hands them back.
            if paused { return [] }
            current = connection
            defer { current = nil }
            counters.bytesReceived += buffer.readableBytes
            consumeLocked(&buffer, from: connection)
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    private func consumeLocked(_ buffer: inout ByteBuffer, from connection: ServerConnection) {
        while !connection.closed && !connection.closeAfterFlush {
            guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
                return
            }
            if !connection.sawFirstBytes {
                connection.sawFirstBytes = true
                if let word = FourLetterWord(length: length) {
                    buffer.moveReaderIndex(forwardBy: 4)
                    counters.packetsReceived += 1
                    answerFourLetterWord(word, to: connection)
                    return
                }
            }
            guard length >= 0, Int(length) <= zooKeeperMaxFrameLength else {
                counters.largeRequestsRejected += 1
                logger.debug(
                    "closing connection: bad frame length",
                    metadata: ["length": "\(length)", "remote": "\(connection.remoteHost):\(connection.remotePort)"]
                )
                drop(connection)
                return
            }
            guard buffer.readableBytes >= 4 + Int(length) else { return }
            buffer.moveReaderIndex(forwardBy: 4)
            var frame = buffer.readSlice(length: Int(length))!
            counters.packetsReceived += 1
            connection.packetsReceived += 1
            if connection.handshakeDone {
                processRequest(&frame, from: connection)
            } else {
                processHandshake(&frame, from: connection)
            }
        }
    }

    /// Closes a connection without a reply (bad input).
    func drop(_ connection: ServerConnection) {
        counters.connectionsDropped += 1
        connection.closeAfterFlush = true
        markForFlush(connection)
    }

    // MARK: - Handshake

    private func processHandshake(_ frame: inout ByteBuffer, from connection: ServerConnection) {
        guard let request = try? ConnectRequest(from: &frame) else {
            counters.unsuccessfulHandshakes += 1
            drop(connection)
            return
        }
        let decision = applier.connect(request, connection: connection.id, now: monotonicMilliseconds()) {
            var generator = SystemRandomNumberGenerator()
            return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        switch decision {
        case .accept(let response, let session, let replacing):
            if let replacing, let old = connections[replacing] {
                // The session moved to this connection: the stale one goes, as ZooKeeper closes it.
                old.closeAfterFlush = true
                markForFlush(old)
            }
            connection.sessionID = session
            connection.handshakeDone = true
            writeFrame(to: connection) { response.encode(into: &$0) }
        case .reject(let response):
            counters.unsuccessfulHandshakes += 1
            writeFrame(to: connection) { response.encode(into: &$0) }
            connection.closeAfterFlush = true
        case .refuse(.zxidAhead):
            counters.unsuccessfulHandshakes += 1
            drop(connection)
        case .refuse(.tooManySessions):
            counters.connectionsRejected += 1
            logger.debug(
                "refusing session: max sessions reached",
                metadata: ["max": "\(configuration.maxSessions)"]
            )
            drop(connection)
        }
    }

    /// The handshake timer fired: a connection that has not completed its handshake by now is closed
    /// (ZooKeeper's sessionless-connection expiry), so idle sockets cannot pile up.
    func handshakeTimedOut(_ connection: ServerConnection) {
        let flushes: [ServerConnection] = lock.withLock {
            guard !connection.handshakeDone, !connection.closed, !connection.closeAfterFlush else { return [] }
            counters.sessionlessConnectionsExpired += 1
            logger.info(
                "closing connection: no handshake in time",
                metadata: [
                    "remote": "\(connection.remoteHost):\(connection.remotePort)",
                    "timeout": "\(configuration.handshakeTimeout)",
                ]
            )
            drop(connection)
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    // MARK: - Requests

    /// Applies one request frame: decode, let the applier decide, then send its triggers and reply.
    func processRequest(_ frame: inout ByteBuffer, from connection: ServerConnection) {
        let started = NIODeadline.now().uptimeNanoseconds
        guard let header = try? RequestHeader(from: &frame) else {
            drop(connection)
            return
        }
        guard applier.touch(session: connection.sessionID, now: Int64(started / 1_000_000)) else {
            // The session expired or was closed while this connection was still open: nothing more
            // may run under it (an ephemeral created now would never be cleaned up).
            drop(connection)
            return
        }
        connection.lastCxid = header.xid
        // --require-auth (enforce.auth): refused with -124 before anything else is looked at.
        if let refusal = applier.refusal(of: header.type, auth: connection.auth) {
            counters.authFailures += 1
            logger.debug(
                "refusing request before authentication",
                metadata: ["op": "\(header.type)", "remote": "\(connection.remoteHost):\(connection.remotePort)"]
            )
            send(refusal, xid: header.xid, opCode: header.type, to: connection)
            return
        }
        let now = wallClockMilliseconds()
        defer {
            let elapsed = Int64(NIODeadline.now().uptimeNanoseconds - started)
            counters.latency.record(nanoseconds: elapsed)
            connection.latency.record(nanoseconds: elapsed)
            connection.lastLatency = elapsed
            connection.lastResponseAt = now
        }
        let request: ZooKeeperRequest
        switch Self.decodeRequest(header.type, from: &frame) {
        case .success(let decoded):
            request = decoded
        case .failure(let rejection):
            send(rejection.outcome(zxid: applier.zxid), xid: header.xid, opCode: header.type, to: connection)
            return
        }
        connection.lastOpCode = header.type
        let outcome = applier.apply(
            request,
            session: connection.sessionID,
            watcher: connection.id,
            auth: &connection.auth,
            time: now,
            triggers: &triggers
        )
        switch request {
        case .auth where outcome.errorCode == .authFailed:
            counters.authFailures += 1
        case .sasl:
            logSASL(outcome, on: connection)
        default:
            break
        }
        // Events for the change go out before the reply that reflects it, on every connection.
        deliverTriggers()
        send(outcome, xid: header.xid, opCode: header.type, to: connection)
    }

    /// Counts and logs what a SASL request decided (the decision itself is `RequestApplier.applySASL`).
    private func logSASL(_ outcome: RequestOutcome, on connection: ServerConnection) {
        switch connection.auth.sasl {
        case .failed(let reason) where outcome.errorCode == .authFailed:
            counters.authFailures += 1
            logger.debug(
                "SASL authentication failed",
                metadata: ["reason": "\(reason)", "remote": "\(connection.remoteHost):\(connection.remotePort)"]
            )
        case .done(let user) where outcome.reply != .response(.sasl(token: nil)):
            logger.debug(
                "SASL authenticated",
                metadata: ["user": "\(user)", "session": "0x\(String(connection.sessionID, radix: 16))"]
            )
        default:
            break
        }
    }

    /// A request body the server will not apply, and how it answers.
    enum RequestRejection: Error {
        /// Only the server's own sweeps may send it, or it is not a request at all.
        case notAllowed(ErrorCode)
        /// An opcode ZooKeeper does not know: UNIMPLEMENTED, then the connection closes.
        case unknownOpCode
        /// A body that does not decode: MARSHALLINGERROR, the connection stays.
        case undecodable

        func outcome(zxid: Int64) -> RequestOutcome {
            switch self {
            case .notAllowed(let code): .error(code, zxid: zxid)
            case .unknownOpCode: .error(.unimplemented, zxid: zxid, closeConnection: true)
            case .undecodable: .error(.marshallingError, zxid: zxid)
            }
        }
    }

    static func decodeRequest(
        _ opCode: OpCode,
        from frame: inout ByteBuffer
    ) -> Result<ZooKeeperRequest, RequestRejection> {
        switch opCode {
        // Only the container sweep may send deleteContainer; a client gets BADARGUMENTS (seen).
        case .deleteContainer: return .failure(.notAllowed(.badArguments))
        case .createSession: return .failure(.notAllowed(.marshallingError))
        default: break
        }
        do {
            return .success(try ZooKeeperRequest.decode(opCode: opCode, from: &frame))
        } catch {
            if case .unknownOpCode = error.reason { return .failure(.unknownOpCode) }
            return .failure(.undecodable)
        }
    }

    // MARK: - Output

    /// Appends one length-prefixed frame to the connection's outbox.
    func writeFrame(to connection: ServerConnection, _ body: (inout ByteBuffer) -> Void) {
        // After a flush the outbox is empty and, once the channel has written and released the
        // slice, uniquely owned again: clearing then reuses its storage instead of allocating.
        connection.reuseEmptyOutbox()
        let start = connection.outbox.writerIndex
        connection.outbox.writeInteger(Int32(0))
        body(&connection.outbox)
        connection.outbox.setInteger(Int32(connection.outbox.writerIndex - start - 4), at: start)
        counters.packetsSent += 1
        connection.packetsSent += 1
        markForFlush(connection)
        enforceOutboxLimit(connection)
    }

    /// Appends the reply an outcome describes, encoded by ZooKeeperProtocol's response encoder.
    func send(_ outcome: RequestOutcome, xid: Int32, opCode: OpCode, to connection: ServerConnection) {
        writeFrame(to: connection) { buffer in
            switch outcome.reply {
            case .response(let response):
                response.writeReply(xid: xid, zxid: outcome.zxid, replyingTo: opCode, into: &buffer)
            case .error(let code):
                ZooKeeperResponse.writeErrorReply(xid: xid, zxid: outcome.zxid, error: code, into: &buffer)
            case .failure(let code, let response):
                ZooKeeperResponse.writeErrorReply(xid: xid, zxid: outcome.zxid, error: code, into: &buffer)
                response.encode(into: &buffer, replyingTo: opCode)
            }
        }
        connection.lastZxid = outcome.zxid
        if outcome.closeConnection { connection.closeAfterFlush = true }
    }

    func markForFlush(_ connection: ServerConnection) {
        if connection === current || connection.flushScheduled { return }
        connection.flushScheduled = true
        pendingFlushes.append(connection)
    }

    func takePendingFlushes() -> [ServerConnection] {
        guard !pendingFlushes.isEmpty else { return [] }
        defer { pendingFlushes.removeAll(keepingCapacity: true) }
        return pendingFlushes
    }

    /// Queues one flush task per event loop for connections that got output from another one.
    static func schedule(_ connections: [ServerConnection]) {
        guard let first = connections.first else { return }
        if connections.count == 1 {
            first.channel.eventLoop.execute { first.core.flush(first) }
            return
        }
        // A handful of event loops: a linear scan beats hashing, and the arrays grow in place.
        var loops: [any EventLoop] = []
        var groups: [[ServerConnection]] = []
        for connection in connections {
            let loop = connection.channel.eventLoop
            if let index = loops.firstIndex(where: { $0 === loop }) {
                groups[index].append(connection)
            } else {
                loops.append(loop)
                groups.append([connection])
            }
        }
        let core = first.core
        for (loop, group) in zip(loops, groups) {
            loop.execute { core.flush(group) }
        }
    }

    /// Writes out what the connection's outbox holds; closes it if it was told to. Runs on its loop.
    func flush(_ connection: ServerConnection) {
        let (output, close) = lock.withLock { takeOutput(connection) }
        Self.write(output, close: close, to: connection.channel)
    }

    /// Flushes many connections of one event loop with a single lock acquisition (watch fan-out).
    func flush(_ group: [ServerConnection]) {
        let outputs = lock.withLock { group.map { takeOutput($0) } }
        for (connection, (output, close)) in zip(group, outputs) {
            Self.write(output, close: close, to: connection.channel)
        }
    }

    private func takeOutput(_ connection: ServerConnection) -> (ByteBuffer?, Bool) {
        connection.flushScheduled = false
        let close = connection.closeAfterFlush && !connection.closed
        if close { connection.closed = true }
        // A channel past its high-water mark keeps its output here, where the outbox limit sees it,
        // rather than in the channel's unbounded write queue; `writabilityChanged` flushes it later.
        guard connection.outbox.readableBytes > 0, connection.writable || close else { return (nil, close) }
        return (connection.outbox.readSlice(length: connection.outbox.readableBytes), close)
    }

    private static func write(_ output: ByteBuffer?, close: Bool, to channel: any Channel) {
        if let output {
            if close {
                channel.writeAndFlush(output).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.writeAndFlush(output, promise: nil)
            }
        } else if close {
            channel.close(promise: nil)
        }
    }

    // MARK: - Watch events

    /// Writes the notifications the applier collected to each watcher's outbox, in order, and empties them.
    func deliverTriggers() {
        guard !triggers.isEmpty else { return }
        for event in triggers.events {
            var frame: ByteBuffer?
            for watcher in triggers.watchers(of: event) {
                guard let connection = connections[watcher] else { continue }
                if frame == nil { frame = Self.notificationFrame(path: event.path, type: event.type) }
                guard !connection.closed else { continue }
                connection.reuseEmptyOutbox()
                connection.outbox.writeImmutableBuffer(frame!)
                counters.packetsSent += 1
                connection.packetsSent += 1
                markForFlush(connection)
                enforceOutboxLimit(connection)
            }
        }
        triggers.removeAll()
    }

    /// A whole notification frame: length, ReplyHeader(xid -1, zxid -1, err 0), WatcherEvent.
    static func notificationFrame(path: String, type: EventType) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(36 + path.utf8.count)
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        WatcherEvent(type: type, state: .syncConnected, path: path).writeNotification(into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - start - 4), at: start)
        return buffer
    }

    // MARK: - Sessions and sweeps

    /// Expires sessions whose deadline passed and closes their connections.
    func expireSessions() {
        let flushes: [ServerConnection] = lock.withLock {
            for session in applier.expireSessions(now: monotonicMilliseconds(), triggers: &triggers) {
                logger.debug("session expired", metadata: ["session": "0x\(String(session.id, radix: 16))"])
                if let id = session.connection, let connection = connections[id] {
                    connection.closeAfterFlush = true
                    markForFlush(connection)
                }
            }
            deliverTriggers()
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    /// Deletes empty containers and expired TTL nodes (`ContainerManager`).
    func sweepContainersAndTTLs() {
        let flushes: [ServerConnection] = lock.withLock {
            applier.sweepContainersAndTTLs(now: wallClockMilliseconds(), triggers: &triggers)
            deliverTriggers()
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    /// Server shutdown: every connection takes what its outbox holds, then closes; whatever is still open
    /// after `gracePeriod` is closed regardless. The future completes when all are closed.
    func closeAllConnections(gracePeriod: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<Void> {
        let (all, flushes): ([ServerConnection], [ServerConnection]) = lock.withLock {
            acceptingConnections = false
            let all = Array(connections.values)
            for connection in all where !connection.closed {
                connection.closeAfterFlush = true
                markForFlush(connection)
            }
            return (all, takePendingFlushes())
        }
        Self.schedule(flushes)
        guard !all.isEmpty else { return loop.makeSucceededVoidFuture() }
        let channels = all.map(\.channel)
        loop.scheduleTask(in: gracePeriod) {
            for channel in channels { channel.close(promise: nil) }
        }
        return EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: loop)
    }
}
