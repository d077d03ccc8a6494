import Atomics
import DequeModule
import Logging
import NIOCore
import NIOPosix
import ZooKeeperProtocol

/// One TCP connection of a session: frames bytes, writes pipelined requests, matches replies to the FIFO
/// of pending requests, and routes notifications (xid -1), pings (-2), auth (-4) and setWatches (-8)
/// replies. Decisions about the session belong to `ClientSession`; this handler only acts.
final class ZooKeeperConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let attempt: Int
    private let session: ClientSession
    private var processor = NIOSingleStepByteToMessageProcessor(ZooKeeperFrameDecoder())
    private var pending = Deque<PendingRequest>()
    private var pendingAuths = Deque<ZooKeeperCompletion?>()
    /// Watches carried by each setWatches2 sent and not yet answered, in order.
    private var pendingSetWatches = Deque<Int>()
    private var context: ChannelHandlerContext?
    private var outbound = ByteBuffer()
    private var handshakeDone = false
    /// True while channelRead runs: writes made then are flushed once at channelReadComplete.
    private var inReadLoop = false
    private var needsFlush = false
    private var readHeld = false
    private(set) var lastSendAt: UInt64 = 0
    /// When the last ping left (pings are answered in order, one at a time in practice).
    private var pingSentAt: UInt64 = 0
    private(set) var lastReceiveAt: UInt64 = 0
    private var closeReason: String?

    init(session: ClientSession, attempt: Int) {
        self.session = session
        self.attempt = attempt
    }

    var outstanding: Int { pending.count }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Small: an idle session writes a ping now and then, and a busy one grows it to what it needs
        // (thousands of idle watchers each holding 16 KiB made up most of the generator's footprint).
        outbound = context.channel.allocator.buffer(capacity: 256)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let now = NIODeadline.now().uptimeNanoseconds
        lastReceiveAt = now
        guard let request = session.handshakeRequest(attempt: attempt) else {
            context.close(promise: nil)
            return
        }
        // Frame: length, then the 45-byte ConnectRequest (readOnly included).
        let start = outbound.writerIndex
        outbound.writeInteger(Int32(0))
        request.encode(into: &outbound)
        outbound.setInteger(Int32(outbound.writerIndex - start - 4), at: start)
        flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Stamped before any decoding, and the stamp stays with these bytes: a notification's lag must
        // not include reading and decoding the sockets epoll reported ready before this one.
        let receivedAt = ReadBatchClock.stamp(on: context.eventLoop)
        lastReceiveAt = receivedAt
        let buffer = unwrapInboundIn(data)
        inReadLoop = true
        do {
            try processor.process(buffer: buffer) { frame in
                try self.handleFrame(frame, receivedAt: receivedAt)
            }
        } catch {
            closeReason = "bad data from server: \(error)"
            session.logger.debug("closing connection after bad frame", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
        inReadLoop = false
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush { flush() }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let reason =
            closeReason
            ?? (handshakeDone
                ? "server closed the connection" : "server closed the connection before answering the handshake")
        // The session counts the loss and announces Disconnected before callers hear of it.
        session.connectionClosed(handler: self, reason: reason)
        failAll(reason: reason)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closeReason == nil { closeReason = "\(error)" }
        context.close(promise: nil)
    }

    /// Holds socket reads while the event consumer is behind (back-pressure).
    /// The handshake is always read: a reconnect must not wait for the event consumer.
    func read(context: ChannelHandlerContext) {
        if handshakeDone && (session.readsPaused || session.readsStalled) {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Restarts the read-timeout clock (used while reads are deliberately held).
    func noteReceiveNow(_ now: UInt64) {
        lastReceiveAt = now
    }

    func resumeReads() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    // MARK: Inbound frames

    private func handleFrame(_ frame: ByteBuffer, receivedAt: UInt64) throws {
        var frame = frame
        guard handshakeDone else {
            let length = frame.readableBytes
            let response = try ConnectResponse(from: &frame)
            guard length == 36 || length == 37 else {
                throw JuteDecodingError(
                    .malformed("handshake reply of \(length) bytes, expected 36 or 37"),
                    field: "ConnectResponse"
                )
            }
            handshakeDone = true
            session.handshakeReceived(response, handler: self)
            return
        }
        let header = try ReplyHeader(from: &frame)
        if header.zxid > 0 { session.observeZxid(header.zxid) }
        switch header.xid {
        case SpecialXid.notification:
            let event = try WatcherEvent(from: &frame)
            session.notificationReceived(event, receivedAt: receivedAt)
        case SpecialXid.ping:
            session.counters.pingsAnswered.wrappingIncrement(ordering: .relaxed)
            if receivedAt > pingSentAt {
                ClientCounters.raise(session.counters.maxPingRoundTripNanos, to: receivedAt - pingSentAt)
            }
        case SpecialXid.auth:
            let completion = pendingAuths.popFirst() ?? nil
            if header.err == .ok {
                completion?(.success(.empty), lastSendAt, receivedAt)
            } else {
                completion?(.failure(.reply(header.err, opCode: .auth, path: nil)), lastSendAt, receivedAt)
                session.authFailed(code: header.err, receivedAt: receivedAt)
            }
        case SpecialXid.setWatches:
            let carried = pendingSetWatches.popFirst() ?? 0
            if header.err == .ok {
                session.counters.watchesRestored.wrappingIncrement(by: carried, ordering: .relaxed)
            } else {
                session.logger.debug("setWatches2 refused", metadata: ["err": "\(header.err)"])
            }
        default:
            guard let entry = pending.popFirst() else {
                throw JuteDecodingError(
                    .malformed("reply xid \(header.xid) with no request outstanding"),
                    field: "ReplyHeader.xid"
                )
            }
            guard entry.xid == header.xid else {
                throw JuteDecodingError(
                    .malformed("reply xid \(header.xid), expected \(entry.xid)"),
                    field: "ReplyHeader.xid"
                )
            }
            session.replyReceived(entry, header: header, body: &frame, receivedAt: receivedAt)
        }
    }

    // MARK: Outbound

    /// Encodes and queues one request; false (and the caller is answered) when it is too large.
    func send(
        _ request: ZooKeeperRequest,
        xid: Int32,
        token: UInt64,
        deadline: UInt64,
        completion: ZooKeeperCompletion?
    ) {
        let start = outbound.writerIndex
        request.encodeFrame(xid: xid, into: &outbound)
        let length = outbound.writerIndex - start - 4
        guard length <= zooKeeperMaxFrameLength else {
            outbound.moveWriterIndex(to: start)
            session.counters.outstanding.wrappingDecrement(ordering: .relaxed)
            let path = request.path.map(session.clientPath)
            completion?(
                .failure(
                    .badArguments(
                        "\(request.opCode) on \(path ?? "") is \(length) bytes, over ZooKeeper's frame limit of \(zooKeeperMaxFrameLength) bytes (jute.maxbuffer): store less than 1 MiB per request",
                        path: path
                    )
                ),
                0,
                0
            )
            return
        }
        let now = NIODeadline.now().uptimeNanoseconds
        pending.append(
            PendingRequest(
                xid: xid,
                opCode: request.opCode,
                path: request.path,
                watch: request.watchKind,
                token: token,
                sentAt: now,
                deadline: deadline,
                completion: completion
            )
        )
        writeOut()
    }

    /// A request with a special xid that is not matched against the FIFO (auth, setWatches, ping).
    func sendSpecial(_ request: ZooKeeperRequest, xid: Int32, authCompletion: ZooKeeperCompletion? = nil) {
        request.encodeFrame(xid: xid, into: &outbound)
        if xid == SpecialXid.ping {
            pingSentAt = NIODeadline.now().uptimeNanoseconds
            session.counters.pingsSent.wrappingIncrement(ordering: .relaxed)
        }
        if xid == SpecialXid.auth { pendingAuths.append(authCompletion) }
        if xid == SpecialXid.setWatches, case .setWatches2(let batch) = request {
            pendingSetWatches.append(batch.watchCount)
            session.counters.setWatchesBatches.wrappingIncrement(ordering: .relaxed)
        }
        writeOut()
    }

    private func writeOut() {
        if inReadLoop {
            needsFlush = true
        } else {
            flush()
        }
    }

    func flush() {
        needsFlush = false
        guard let context, outbound.readableBytes > 0 else { return }
        lastSendAt = NIODeadline.now().uptimeNanoseconds
        let chunk = outbound.readSlice(length: outbound.readableBytes)!
        context.writeAndFlush(wrapOutboundOut(chunk), promise: nil)
        // Everything is handed over: start again at the front, so an idle session keeps touching the
        // same bytes (a chunk still queued in NIO keeps its own copy: the next write copies on write).
        outbound.clear()
    }

    func close(reason: String) {
        if closeReason == nil { closeReason = reason }
        context?.close(promise: nil)
    }

    // MARK: Timeouts and failures

    /// Answers requests whose deadline passed with OPERATIONTIMEOUT; their replies are dropped later.
    func expireRequests(now: UInt64) {
        var index = pending.startIndex
        while index < pending.endIndex, pending[index].deadline <= now {
            if let completion = pending[index].completion {
                pending[index].completion = nil
                let path = pending[index].path.map(session.clientPath)
                completion(
                    .failure(.reply(.operationTimeout, opCode: pending[index].opCode, path: path)),
                    pending[index].sentAt,
                    0
                )
            }
            index += 1
        }
    }

    /// Drops the caller of the request with `token` (cancelled); true when found.
    func abandon(token: UInt64) -> Bool {
        guard let index = pending.lastIndex(where: { $0.token == token }) else { return false }
        pending[index].completion = nil
        return true
    }

    /// Fails every request still waiting for a reply on this connection.
    func failAll(reason: String, code: ErrorCode = .connectionLoss) {
        let requests = pending
        pending.removeAll()
        session.counters.outstanding.wrappingDecrement(by: requests.count, ordering: .relaxed)
        let auths = pendingAuths
        pendingAuths.removeAll()
        for entry in requests {
            guard let completion = entry.completion else { continue }
            let path = entry.path.map(session.clientPath)
            var error = ZooKeeperError.reply(code, opCode: entry.opCode, path: path)
            if code == .connectionLoss { error.message += " (\(reason))" }
            completion(.failure(error), entry.sentAt, 0)
        }
        for completion in auths {
            completion?(.failure(.connectionLoss(reason)), 0, 0)
        }
    }
}

/// One arrival stamp per batch of ready sockets on an event loop: the first read of a batch takes it,
/// every later read of the same batch reuses it, and a task (which NIO runs only after it has handled
/// every I/O event epoll returned) ends the batch. So every socket epoll reported ready together is
/// stamped with when the loop learned of them, as a raw epoll reader stamps them, not with how long
/// the loop took to reach it.
// @unchecked Sendable: each instance lives in one event-loop thread's slot and is read and written only
// on that thread (the closing task is executed on the same loop).
final class ReadBatchClock: @unchecked Sendable {
    private var stamp: UInt64 = 0
    private var open = false
    private static let perThread = ThreadSpecificVariable<ReadBatchClock>()

    static func stamp(on loop: any EventLoop) -> UInt64 {
        // Only on NIO's own loop threads, whose tasks run after each I/O batch (an embedded test loop
        // runs tasks only when told to: there every read takes its own stamp).
        guard MultiThreadedEventLoopGroup.currentEventLoop != nil else { return NIODeadline.now().uptimeNanoseconds }
        let clock: ReadBatchClock
        if let existing = perThread.currentValue {
            clock = existing
        } else {
            clock = ReadBatchClock()
            perThread.currentValue = clock
        }
        if clock.open { return clock.stamp }
        clock.stamp = NIODeadline.now().uptimeNanoseconds
        clock.open = true
        loop.execute { clock.open = false }
        return clock.stamp
    }
}
