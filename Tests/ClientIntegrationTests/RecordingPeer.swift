import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperProtocol

/// A minimal ZooKeeper stand-in that frames what the client sends, records it, answers the handshake
/// with a chosen timeout and, if told to, answers pings. It shows the client's wire behaviour exactly.
final class RecordingPeer: Sendable {
    struct Record: Sendable {
        /// Payload of the first frame of each connection (the ConnectRequest).
        var handshakes: [[UInt8]] = []
        /// Monotonic ns of each ping received.
        var pings: [UInt64] = []
    }

    let channel: any Channel
    let record = NIOLockedValueBox(Record())
    var port: Int { channel.localAddress!.port! }
    var connectString: String { "127.0.0.1:\(port)" }

    init(
        timeoutMs: Int32,
        answerPings: Bool,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let record = self.record
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ZooKeeperFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        RecordingPeerHandler(timeoutMs: timeoutMs, answerPings: answerPings, record: record)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async throws {
        try await channel.close()
    }
}

private final class RecordingPeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let timeoutMs: Int32
    let answerPings: Bool
    let record: NIOLockedValueBox<RecordingPeer.Record>
    private var handshakeDone = false

    init(timeoutMs: Int32, answerPings: Bool, record: NIOLockedValueBox<RecordingPeer.Record>) {
        self.timeoutMs = timeoutMs
        self.answerPings = answerPings
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard handshakeDone else {
            handshakeDone = true
            let bytes = Array(frame.readableBytesView)
            record.withLockedValue { $0.handshakes.append(bytes) }
            var reply = ByteBuffer()
            reply.writeInteger(Int32(37))
            ConnectResponse(
                timeOut: timeoutMs,
                sessionId: 0x77,
                password: [UInt8](repeating: 2, count: 16),
                readOnly: false
            )
            .encode(into: &reply)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            return
        }
        guard let header = try? RequestHeader(from: &frame) else { return }
        if header.type == .closeSession {
            var reply = ByteBuffer()
            reply.writeInteger(Int32(ReplyHeader.encodedSize))
            ReplyHeader(xid: header.xid, zxid: 1, err: .ok).encode(into: &reply)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        guard header.type == .ping else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        record.withLockedValue { $0.pings.append(now) }
        if answerPings {
            var reply = ByteBuffer()
            reply.writeInteger(Int32(ReplyHeader.encodedSize))
            ReplyHeader(xid: SpecialXid.ping, zxid: 0, err: .ok).encode(into: &reply)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
