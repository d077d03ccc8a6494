import Atomics
import NIOCore
import NIOPosix
import ZooKeeperClient
import ZooKeeperProtocol

/// A local TCP peer that pretends to be ZooKeeper badly: it answers with scripted bytes.
final class FakePeer: Sendable {
    enum Script: Sendable {
        /// Sends these bytes as soon as a client connects.
        case sendOnConnect([UInt8])
        /// Answers the handshake properly, then sends these bytes after the first request.
        case handshakeThen([UInt8])
        /// Answers the handshake properly, then never says anything again.
        case handshakeThenSilence
        /// Answers the handshake without the readOnly byte (36 bytes, as 3.4 servers do), then is silent.
        case shortHandshakeThenSilence
        /// First connection: a good handshake, closed at the first request. Later connections: the
        /// rejection a server sends for an expired session (timeOut 0), then close.
        case acceptThenRejectReconnect
    }

    let channel: any Channel
    let connections = ManagedAtomic<Int>(0)
    var port: Int { channel.localAddress!.port! }
    var connectString: String { "127.0.0.1:\(port)" }

    init(_ script: Script) async throws {
        let connections = self.connections
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let index = connections.loadThenWrappingIncrement(ordering: .relaxed)
                    try channel.pipeline.syncOperations.addHandler(
                        FakePeerHandler(script: script, connectionIndex: index)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async throws {
        try await channel.close()
    }

    /// A valid 37-byte handshake answer (session 0x1234, 30 s).
    static var handshakeReply: [UInt8] { handshake(readOnly: false) }

    static func handshake(readOnly: Bool?) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(readOnly == nil ? 36 : 37))
        ConnectResponse(
            timeOut: 30_000,
            sessionId: 0x1234,
            password: [UInt8](repeating: 1, count: 16),
            readOnly: readOnly
        )
        .encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }
}

private final class FakePeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let script: FakePeer.Script
    let connectionIndex: Int
    private var received = 0

    init(script: FakePeer.Script, connectionIndex: Int) {
        self.script = script
        self.connectionIndex = connectionIndex
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .sendOnConnect(let bytes) = script {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let before = received
        received += buffer.readableBytes
        switch script {
        case .sendOnConnect:
            break
        case .handshakeThen(let bytes):
            // 49 bytes = 4-byte length + 45-byte ConnectRequest.
            if before < 49 && received >= 49 {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: FakePeer.handshakeReply)), promise: nil)
            }
            if received > 49 && before <= 49 {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            }
        case .handshakeThenSilence:
            if before < 49 && received >= 49 {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: FakePeer.handshakeReply)), promise: nil)
            }
        case .shortHandshakeThenSilence:
            if before < 49 && received >= 49 {
                context.writeAndFlush(
                    wrapOutboundOut(ByteBuffer(bytes: FakePeer.handshake(readOnly: nil))),
                    promise: nil
                )
            }
        case .acceptThenRejectReconnect:
            if connectionIndex == 0 {
                if before < 49 && received >= 49 {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: FakePeer.handshakeReply)), promise: nil)
                }
                if received > 49 { context.close(promise: nil) }
            } else if before < 49 && received >= 49 {
                var buffer = ByteBuffer()
                buffer.writeInteger(Int32(37))
                ConnectResponse.rejected(readOnly: false).encode(into: &buffer)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Writes raw bytes to a server on a fresh connection and returns everything it answers until it closes.
enum RawConnection {
    static func exchange(_ bytes: [UInt8], port: Int, timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        let timer = channel.eventLoop.scheduleTask(in: .seconds(Int64(timeout.components.seconds))) {
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    /// A handshake attaching to `credentials`' session, immediately followed by closeSession: the server
    /// handles both in order on this connection, so the session is closed whatever its old owner does.
    static func closeSession(_ credentials: SessionCredentials, port: Int) async throws -> [UInt8] {
        var buffer = ByteBuffer()
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        ConnectRequest(timeOut: 10_000, sessionId: credentials.sessionId, password: credentials.password)
            .encode(into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - start - 4), at: start)
        ZooKeeperRequest.closeSession.encodeFrame(xid: 1, into: &buffer)
        return try await exchange(Array(buffer.readableBytesView), port: port)
    }
}

private final class CollectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var bytes: [UInt8] = []
    private let promise: EventLoopPromise<[UInt8]>

    init(promise: EventLoopPromise<[UInt8]>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes += unwrapInboundIn(data).readableBytesView
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(bytes)
    }
}
