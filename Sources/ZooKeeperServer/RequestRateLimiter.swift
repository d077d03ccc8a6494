import NIOConcurrencyHelpers
import NIOCore

/// A server-wide cap on requests per second (``ZooKeeperServerConfiguration/maxRequestRate``): a token
/// bucket shared by every connection. A request over the cap is not refused; its connection stops
/// processing input until a token is due, as a saturated server falls behind — so latency climbs
/// without bound above the cap, the knee a capacity search must find.
final class RequestRateLimiter: Sendable {
    let rate: Double
    /// Tokens the bucket holds at most: 5 ms of the rate (at least one request).
    let burst: Double
    private let bucket: NIOLockedValueBox<(tokens: Double, refilledAt: NIODeadline)>

    init(requestsPerSecond rate: Double) {
        self.rate = rate
        self.burst = max(1, rate / 200)
        self.bucket = NIOLockedValueBox((tokens: max(1, rate / 200), refilledAt: .now()))
    }

    /// Takes one request's token: nil when granted, else how long until the next token is due.
    func take(now: NIODeadline = .now()) -> TimeAmount? {
        bucket.withLockedValue { bucket in
            let elapsed = Double((now - bucket.refilledAt).nanoseconds) / 1e9
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * rate)
            bucket.refilledAt = now
            guard bucket.tokens < 1 else {
                bucket.tokens -= 1
                return nil
            }
            return .nanoseconds(Int64(((1 - bucket.tokens) / rate * 1e9).rounded(.up)))
        }
    }
}

extension ServerConnectionHandler {
    /// With a rate cap: hands the core one complete frame at a time, each with a token, and when the
    /// bucket is empty stops until the next token is due (input keeps its order; later reads wait).
    func consumePaced(context: ChannelHandlerContext, limiter: RequestRateLimiter) {
        // Paused: everything waits in `cumulation` until resume() hands it back.
        guard let connection, pacedRetry == nil, !core.isPaused else { return }
        var consumed = false
        while var buffer = cumulation, buffer.readableBytes >= 4,
            let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)
        {
            // Not a frame length (a four-letter word, an oversize or garbage frame): the core decides.
            guard length <= 0x10_0000 else {
                core.consume(&buffer, from: connection)
                cumulation = buffer
                consumed = true
                break
            }
            guard buffer.readableBytes >= 4 + Int(length) else { break }
            if let wait = limiter.take() {
                // What ZooKeeper's RequestThrottler counts as zk_request_throttle_wait_count.
                core.lock.withLock { core.counters.requestThrottleWaits += 1 }
                let loop = context.eventLoop.assumeIsolated()
                pacedRetry = loop.scheduleTask(in: wait) { [self] in
                    pacedRetry = nil
                    consumePaced(context: context, limiter: limiter)
                }
                break
            }
            var frame = buffer.readSlice(length: 4 + Int(length))!
            cumulation = buffer
            core.consume(&frame, from: connection)
            consumed = true
        }
        if cumulation?.readableBytes == 0 {
            cumulation = nil
        } else if let readerIndex = cumulation?.readerIndex, readerIndex > 65536 {
            cumulation!.discardReadBytes()
        }
        if consumed { core.flush(connection) }
    }
}
