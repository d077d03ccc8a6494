import NIOConcurrencyHelpers
import ZooKeeperClient
import ZooKeeperProtocol

/// Sends many requests on one session with at most `window` outstanding, using the client's hot-path
/// `send(_:completion:)`: setup and cleanup of tens of thousands of znodes take a few round trips, not
/// one round trip each. Returns each request's result, in request order.
enum PipelinedRequests {
    typealias Outcome = Result<ZooKeeperResponse, ZooKeeperError>

    static func run(_ client: ZooKeeperClient, _ requests: [ZooKeeperRequest], window: Int = 512) async -> [Outcome] {
        guard !requests.isEmpty else { return [] }
        let state = PipelineState(count: requests.count)
        let total = requests.count
        @Sendable func sendNext() {
            let index: Int? = state.inner.withLockedValue { inner in
                guard inner.next < total else { return nil }
                defer { inner.next += 1 }
                return inner.next
            }
            guard let index else { return }
            client.send(requests[index]) { result, _, _ in
                let finished: CheckedContinuation<[Outcome], Never>? = state.inner.withLockedValue { inner in
                    inner.outcomes[index] = result
                    inner.completed += 1
                    guard inner.completed == total else { return nil }
                    defer { inner.continuation = nil }
                    return inner.continuation
                }
                if let finished {
                    finished.resume(returning: state.inner.withLockedValue { $0.outcomes.map { $0! } })
                } else {
                    sendNext()
                }
            }
        }
        return await withCheckedContinuation { continuation in
            state.inner.withLockedValue { $0.continuation = continuation }
            for _ in 0..<min(window, total) { sendNext() }
        }
    }

    /// Result codes only (`.ok` for success).
    static func codes(_ client: ZooKeeperClient, _ requests: [ZooKeeperRequest], window: Int = 512) async -> [ErrorCode]
    {
        await run(client, requests, window: window).map { outcome in
            switch outcome {
            case .success: .ok
            case .failure(let error): error.code
            }
        }
    }
}

private final class PipelineState: Sendable {
    struct Inner {
        var next = 0
        var completed = 0
        var outcomes: [PipelinedRequests.Outcome?]
        var continuation: CheckedContinuation<[PipelinedRequests.Outcome], Never>?
    }

    let inner: NIOLockedValueBox<Inner>

    init(count: Int) {
        inner = NIOLockedValueBox(Inner(outcomes: Array(repeating: nil, count: count)))
    }
}
