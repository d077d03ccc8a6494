import NIOCore
import NIOPosix
import ZooKeeperProtocol

/// Sends a four-letter admin word (`ruok`, `srvr`, `mntr`, …) on a fresh connection and returns the
/// server's whole text answer (the server closes the connection after answering).
public enum FourLetterWordClient {
    /// Sends `word` and returns the answer.
    ///
    /// On the wire: a new TCP connection, the four ASCII bytes of the word and nothing else (no length
    /// prefix: the server tells a word from a handshake by its first four bytes); the server writes its
    /// text answer and closes the connection.
    ///
    /// - Parameters:
    ///   - word: Four ASCII letters, e.g. `ruok`, `srvr`, `mntr`, `cons`.
    ///   - host: The server's host name or address.
    ///   - port: The server's client port.
    ///   - timeout: How long the connect and the whole answer may take.
    ///   - eventLoopGroup: Where the connection runs.
    /// - Returns: The server's text; a word outside the server's `4lw.commands.whitelist` gets a sentence
    ///   saying so.
    /// - Throws: ``ZooKeeperError``: `.badArguments` when `word` is not four bytes, `.connectionLoss` when
    ///   the connection fails (naming the host and port), `.operationTimeout` when the answer does not
    ///   end in time.
    public static func send(
        _ word: String, host: String, port: Int, timeout: Duration = .seconds(5),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> String {
        guard word.utf8.count == 4 else {
            throw ZooKeeperError(code: .badArguments, path: nil, message: "\"\(word)\" is not a four-letter word")
        }
        let eventLoop = eventLoopGroup.next()
        let promise = eventLoop.makePromise(of: String.self)
        let nanos = max(timeout.nanoseconds, 1_000_000)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(nanos))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectUntilCloseHandler(promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw ZooKeeperError(
                code: .connectionLoss, path: nil,
                message:
                    "cannot connect to \(host):\(port) for \"\(word)\": \(ClientSession.describe(error)); check that the server runs there"
            )
        }
        let timer = eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
            promise.fail(
                ZooKeeperError(
                    code: .operationTimeout, path: nil,
                    message: "\(host):\(port) did not answer \"\(word)\" within \(timeout)"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        try await channel.writeAndFlush(ByteBuffer(string: word)).get()
        return try await promise.futureResult.get()
    }
}

/// Collects every byte until the peer closes, then succeeds the promise with the text.
private final class CollectUntilCloseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var collected = ByteBuffer()
    private let promise: EventLoopPromise<String>

    init(promise: EventLoopPromise<String>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if collected.readableBytes < 4 * 1024 * 1024 {
            collected.writeBuffer(&buffer)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(String(buffer: collected))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
