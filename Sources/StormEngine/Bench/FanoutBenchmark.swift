import NIOConcurrencyHelpers
import NIOCore
import StormMetrics
import ZooKeeperClient
import ZooKeeperProtocol

/// The peer fan-out benchmark (`zkstorm bench fanout`, run by `scripts/bench` beside the C client and
/// kazoo): `watchers` sessions each hold an exists watch on one znode, a writer sets it, and a round
/// lasts until the last notification. Lags run from the write's send to each notification's decode.
package enum FanoutBenchmark {
    package struct Result: Sendable {
        /// Per round: the last watcher's lag.
        package var lastLag = LatencyHistogram()
        /// Per round: the first watcher's lag.
        package var firstLag = LatencyHistogram()
        /// Notifications that had not come when their round timed out, over all rounds.
        package var missing = 0
    }

    package static func run(
        target: String,
        watchers: Int,
        rounds: Int,
        path: String,
        timeout: Duration,
        security: ClientSecurity = ClientSecurity()
    ) async throws -> Result {
        var configuration = ZooKeeperConfiguration(connectString: target)
        security.apply(to: &configuration)
        let writer = try await ZooKeeperClient.connect(configuration)
        let parent = ZooKeeperPath.parent(of: path)
        if parent != "/" { _ = try? await writer.create(parent) }
        _ = try? await writer.create(path)

        let arrivals = NIOLockedValueBox([UInt64]())
        var sessions: [ZooKeeperClient] = []
        sessions.reserveCapacity(watchers)
        for _ in 0..<watchers {
            let c = try await ZooKeeperClient.connect(configuration)
            c.setEventHandler { event in
                if event.type == .nodeDataChanged { arrivals.withLockedValue { $0.append(event.receivedAt) } }
            }
            sessions.append(c)
        }
        var result = Result()
        for _ in 0..<rounds {
            arrivals.withLockedValue { $0.removeAll(keepingCapacity: true) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in sessions { group.addTask { _ = try await s.exists(path, watch: true) } }
                try await group.waitForAll()
            }
            let sentAt = NIODeadline.now().uptimeNanoseconds
            _ = try await writer.setData(path, data: Array("round".utf8))
            let deadline = sentAt + UInt64(timeout.seconds * 1e9)
            while arrivals.withLockedValue({ $0.count }) < watchers && NIODeadline.now().uptimeNanoseconds < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            let times = arrivals.withLockedValue { $0 }
            result.missing += watchers - times.count
            if let last = times.max(), let first = times.min() {
                result.lastLag.record(nanoseconds: last &- sentAt)
                result.firstLag.record(nanoseconds: first &- sentAt)
            }
        }
        for s in sessions { try? await s.close() }
        try? await writer.close()
        return result
    }
}
