import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// Many requests on a session with a bounded window outstanding, on the client's hot-path
/// `sendWindowed`: setup and cleanup of tens of thousands of znodes take a few round trips, not one
/// round trip each, and the peer benchmarks keep a fixed number in flight.
package enum PipelinedRequests {
    typealias Outcome = ZooKeeperClient.RequestOutcome

    /// Each request's result, in request order.
    static func run(_ client: ZooKeeperClient, _ requests: [ZooKeeperRequest], window: Int = 512) async -> [Outcome] {
        await client.pipeline(requests, window: window)
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

    /// What a windowed load measured: the latency of every request (write to reply) and the failures.
    package struct LoadResult: Sendable {
        package var latency = LatencyHistogram()
        package var errors = 0

        mutating func merge(_ other: LoadResult) {
            latency.merge(other.latency)
            errors += other.errors
        }
    }

    /// Sends `request` `perSession` times on every client at once, `window` in flight per client.
    package static func load(
        clients: [ZooKeeperClient],
        request: ZooKeeperRequest,
        perSession: Int,
        window: Int
    ) async -> LoadResult {
        await withTaskGroup(of: LoadResult.self) { group in
            for client in clients {
                group.addTask {
                    let result = NIOLockedValueBox(LoadResult())
                    await client.sendWindowed(count: perSession, window: window, request: { _ in request }) {
                        _,
                        outcome,
                        sentAt,
                        receivedAt in
                        result.withLockedValue { result in
                            if case .failure = outcome { result.errors += 1 }
                            result.latency.record(nanoseconds: receivedAt &- sentAt)
                        }
                    }
                    return result.withLockedValue { $0 }
                }
            }
            var merged = LoadResult()
            for await result in group { merged.merge(result) }
            return merged
        }
    }
}
