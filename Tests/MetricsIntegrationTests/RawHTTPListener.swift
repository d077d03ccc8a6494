import NIOCore
import NIOPosix

/// A loopback TCP listener that records each raw HTTP request (head and body bytes, as sent) and
/// answers 200, or never answers when `respond` is false (a gateway that hangs).
final class RawHTTPListener: Sendable {
    struct Request: Sendable {
        var head: String
        var body: [UInt8]

        var requestLine: String { String(head.split(separator: "\r\n").first ?? "") }

        func header(_ name: String) -> String? {
            for line in head.split(separator: "\r\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingPrefix(" ").description
                }
            }
            return nil
        }
    }

    let channel: any Channel
    let requests: AsyncStream<Request>
    var port: Int { channel.localAddress!.port! }
    var url: String { "http://127.0.0.1:\(port)" }

    init(respond: Bool = true) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Request.self)
        requests = stream
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RequestRecorder(respond: respond, continuation: continuation)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    func close() async {
        try? await channel.close()
    }

    /// The next request, or nil after `timeout`.
    func nextRequest(timeout: Duration = .seconds(5)) async -> Request? {
        await withTaskGroup(of: Request?.self) { group in
            group.addTask {
                var iterator = self.requests.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private final class RequestRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let respond: Bool
        let continuation: AsyncStream<Request>.Continuation
        var received: [UInt8] = []

        init(respond: Bool, continuation: AsyncStream<Request>.Continuation) {
            self.respond = respond
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += Array(buffer: unwrapInboundIn(data))
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            guard let headEnd = received.firstRange(of: separator)?.upperBound else { return }
            let head = String(decoding: received[..<headEnd], as: UTF8.self)
            let request = Request(head: head, body: [])
            let length = Int(request.header("Content-Length") ?? "0") ?? 0
            guard received.count >= headEnd + length else { return }
            continuation.yield(Request(head: head, body: Array(received[headEnd..<headEnd + length])))
            received.removeFirst(headEnd + length)
            if respond {
                let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
            }
        }
    }
}
