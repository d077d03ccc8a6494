import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperProtocol

extension ZooKeeperClient {
    /// The result of one request sent through the hot-path form.
    public typealias RequestOutcome = Result<ZooKeeperResponse, ZooKeeperError>

    /// Sends `count` requests on this session with at most `window` outstanding: each reply sends the
    /// next request from its callback, so thousands of requests take a few round trips and no task each.
    ///
    /// It returns once every request has completed. Errors (including connection loss) go to `completion`.
    ///
    /// - Parameters:
    ///   - count: how many requests to send.
    ///   - window: the most requests in flight at once (at least 1).
    ///   - request: the request with a given index, asked once per index, in index order.
    ///   - completion: runs on the client's event loop for every request, with its index, its result and
    ///     the monotonic ns when it was written and when its reply was decoded. Keep it short.
    ///
    /// On the wire: plain pipelined requests on the session's connection, replies in request order.
    public func sendWindowed(
        count: Int,
        window: Int,
        request: @escaping @Sendable (Int) -> ZooKeeperRequest,
        completion: @escaping @Sendable (Int, RequestOutcome, _ sentAt: UInt64, _ receivedAt: UInt64) -> Void
    ) async {
        guard count > 0 else { return }
        let state = NIOLockedValueBox(WindowState())
        @Sendable func sendNext() {
            let index: Int? = state.withLockedValue { state in
                guard state.next < count else { return nil }
                defer { state.next += 1 }
                return state.next
            }
            guard let index else { return }
            send(request(index)) { outcome, sentAt, receivedAt in
                completion(index, outcome, sentAt, receivedAt)
                let finished = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                    state.completed += 1
                    guard state.completed == count else { return nil }
                    defer { state.continuation = nil }
                    return state.continuation
                }
                if let finished {
                    finished.resume()
                } else {
                    sendNext()
                }
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            state.withLockedValue { $0.continuation = continuation }
            // Every send happens on the event loop, where the replies call `sendNext` too: an index is
            // taken and its request written in one step there, so requests go out in index order. (Filling
            // the window from the caller's thread let a reply's send overtake one still queued for the
            // loop: a child's create ahead of its parent's.)
            let fill: @Sendable () -> Void = { for _ in 0..<min(max(window, 1), count) { sendNext() } }
            if eventLoop.inEventLoop { fill() } else { eventLoop.execute(fill) }
        }
    }

    /// Sends every request with at most `window` outstanding (see `sendWindowed`) and returns each
    /// request's result, in request order.
    public func pipeline(_ requests: [ZooKeeperRequest], window: Int = 512) async -> [RequestOutcome] {
        guard !requests.isEmpty else { return [] }
        let outcomes = NIOLockedValueBox([RequestOutcome?](repeating: nil, count: requests.count))
        await sendWindowed(
            count: requests.count,
            window: window,
            request: { requests[$0] },
            completion: { index, outcome, _, _ in outcomes.withLockedValue { $0[index] = outcome } }
        )
        return outcomes.withLockedValue { $0.map { $0! } }
    }
}

private struct WindowState {
    var next = 0
    var completed = 0
    var continuation: CheckedContinuation<Void, Never>?
}
