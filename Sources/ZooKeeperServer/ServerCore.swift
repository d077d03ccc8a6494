import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperProtocol

/// Wall-clock milliseconds since the epoch (znode ctime/mtime).
func wallClockMilliseconds() -> Int64 {
    // Foundation's clock: this module imports Foundation, which makes libc's `timespec` ambiguous.
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
    var connectionsRejected = 0
    var largeRequestsRejected = 0
    var connectionsDropped = 0
    var authFailures = 0
}

/// The single serial owner of the data tree, sessions and watches. Every request from every
/// connection is applied under `lock`, in one global order (zxid order for writes); the replies and
/// watch events it produces are appended to each connection's outbox inside the same critical
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

    // Guarded by lock.
    let tree = DataTree()
    var watches = WatchRegistry()
    var sessions: SessionTracker
    var connections: [Int: ServerConnection] = [:]
    var nextConnectionID = 1
    var zxid: Int64 = 0
    var counters = ServerCounters()
    var boundPort = 0
    /// The TLS listener's port (0: none).
    var boundSecurePort = 0
    /// Spare buffer for `deliverChanges`.
    private var changeScratch: [TreeChange] = []
    /// Connections that need a flush scheduled once the lock is released.
    private var pendingFlushes: [ServerConnection] = []
    /// The connection whose input is being processed (flushed at its read-complete instead).
    private var current: ServerConnection?

    init(configuration: ZooKeeperServerConfiguration) {
        self.configuration = configuration
        let tick = configuration.tickTime.components
        tickMs = max(1, tick.seconds * 1000 + tick.attoseconds / 1_000_000_000_000_000)
        logger = configuration.logger
        sessions = SessionTracker(tickMs: tickMs, wallClockMs: wallClockMilliseconds())
    }

    // MARK: - Connection lifecycle

    func register(_ channel: any Channel) -> ServerConnection {
        lock.withLock {
            let connection = ServerConnection(
                id: nextConnectionID, core: self, channel: channel, establishedAt: wallClockMilliseconds())
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
            watches.removeWatcher(connection.id)
            if connection.sessionID != 0, sessions[connection.sessionID]?.connection == connection.id {
                sessions.attach(connection.sessionID, connection: nil)
            }
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    /// Processes every complete frame in `buffer` (or a four-letter word) under one lock acquisition.
    func consume(_ buffer: inout ByteBuffer, from connection: ServerConnection) {
        let flushes: [ServerConnection] = lock.withLock {
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
                    metadata: ["length": "\(length)", "remote": "\(connection.remoteHost):\(connection.remotePort)"])
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
        if request.lastZxidSeen > zxid {
            // The client has seen a newer state than this server has: ZooKeeper refuses it.
            counters.unsuccessfulHandshakes += 1
            drop(connection)
            return
        }
        let now = monotonicMilliseconds()
        let timeout = sessions.negotiate(request.timeOut)
        let session: Session
        if request.sessionId == 0 {
            guard sessions.count < configuration.maxSessions else {
                counters.connectionsRejected += 1
                logger.debug(
                    "refusing session: max sessions reached", metadata: ["max": "\(configuration.maxSessions)"])
                drop(connection)
                return
            }
            zxid += 1
            var generator = SystemRandomNumberGenerator()
            let password = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            session = sessions.create(timeoutMs: timeout, password: password, now: now)
        } else {
            guard let existing = sessions[request.sessionId], existing.password == request.password else {
                counters.unsuccessfulHandshakes += 1
                writeFrame(to: connection) { ConnectResponse.rejected(readOnly: request.readOnly).encode(into: &$0) }
                connection.closeAfterFlush = true
                return
            }
            if let previous = existing.connection, previous != connection.id, let old = connections[previous] {
                // The session moved to this connection: the stale one goes, as ZooKeeper closes it.
                old.closeAfterFlush = true
                markForFlush(old)
            }
            sessions.setTimeout(existing.id, timeout, now: now)
            session = sessions[existing.id]!
        }
        sessions.attach(session.id, connection: connection.id)
        connection.sessionID = session.id
        connection.handshakeDone = true
        let response = ConnectResponse(
            timeOut: timeout, sessionId: session.id, password: session.password,
            readOnly: request.readOnly.map { _ in false })
        writeFrame(to: connection) { response.encode(into: &$0) }
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
    }

    /// Appends a reply (header, then body on success) to the connection's outbox.
    func reply(
        to connection: ServerConnection, xid: Int32, zxid: Int64, error: ErrorCode = .ok,
        body: (inout ByteBuffer) -> Void = { _ in }
    ) {
        // Events for the change go out before the reply that reflects it, on every connection.
        deliverChanges()
        writeFrame(to: connection) { buffer in
            ReplyHeader(xid: xid, zxid: zxid, err: error).encode(into: &buffer)
            if error == .ok { body(&buffer) }
        }
        connection.lastZxid = zxid
    }

    func markForFlush(_ connection: ServerConnection) {
        if connection === current || connection.flushScheduled { return }
        connection.flushScheduled = true
        pendingFlushes.append(connection)
    }

    private func takePendingFlushes() -> [ServerConnection] {
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
        guard connection.outbox.readableBytes > 0 else { return (nil, close) }
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

    /// Turns the data tree's pending changes into notifications, in order.
    func deliverChanges() {
        guard !tree.changes.isEmpty else { return }
        // Swap buffers rather than copy, so steady-state writes allocate nothing here.
        var changes = changeScratch
        swap(&changes, &tree.changes)
        for change in changes { notify(path: change.path, type: change.type) }
        changes.removeAll(keepingCapacity: true)
        changeScratch = changes
    }

    func notify(path: String, type: EventType) {
        var frame: ByteBuffer?
        watches.trigger(path: path, type: type) { watcher in
            guard let connection = connections[watcher] else { return }
            if frame == nil { frame = Self.notificationFrame(path: path, type: type) }
            connection.reuseEmptyOutbox()
            connection.outbox.writeImmutableBuffer(frame!)
            counters.packetsSent += 1
            connection.packetsSent += 1
            markForFlush(connection)
        }
    }

    /// A whole notification frame: length, ReplyHeader(xid -1, zxid -1, err 0), WatcherEvent.
    static func notificationFrame(path: String, type: EventType) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(36 + path.utf8.count)
        buffer.writeInteger(Int32(0))
        ReplyHeader(xid: SpecialXid.notification, zxid: -1, err: .ok).encode(into: &buffer)
        WatcherEvent(type: type, state: .syncConnected, path: path).encode(into: &buffer)
        buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
        return buffer
    }

    // MARK: - Sessions

    /// Ends a session: its ephemerals go (firing their watches). Caller holds the lock.
    func closeSessionLocked(_ id: Int64) {
        guard sessions.remove(id) != nil else { return }
        removeEphemerals(of: id)
    }

    private func removeEphemerals(of id: Int64) {
        zxid += 1
        // Deepest first is not needed (ephemerals have no children) but keeps the order stable.
        for path in tree.ephemerals(of: id, prefix: "/").sorted(by: >) {
            tree.removeNode(path, zxid: zxid)
        }
        deliverChanges()
    }

    /// Expires sessions whose deadline passed and closes their connections.
    func expireSessions() {
        let flushes: [ServerConnection] = lock.withLock {
            for session in sessions.expire(now: monotonicMilliseconds()) {
                logger.debug("session expired", metadata: ["session": "0x\(String(session.id, radix: 16))"])
                removeEphemerals(of: session.id)
                if let id = session.connection, let connection = connections[id] {
                    connection.closeAfterFlush = true
                    markForFlush(connection)
                }
            }
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    /// Deletes empty containers and expired TTL nodes (`ContainerManager`).
    func sweepContainersAndTTLs() {
        let flushes: [ServerConnection] = lock.withLock {
            for path in tree.sweepCandidates(now: wallClockMilliseconds()) {
                zxid += 1
                tree.removeNode(path, zxid: zxid)
                deliverChanges()
            }
            return takePendingFlushes()
        }
        Self.schedule(flushes)
    }

    /// Closes every connection (server shutdown).
    func closeAllConnections() {
        let all = lock.withLock { Array(connections.values) }
        for connection in all { connection.channel.close(promise: nil) }
    }
}
