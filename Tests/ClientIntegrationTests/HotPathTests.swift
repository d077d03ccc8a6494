import Foundation
import NIOCore
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The load engine's form: `send(_:completion:)` from the event loop, many requests in flight.
@Suite("Hot path")
struct HotPathTests {
    /// Keeps `window` requests in flight until `total` completed; each completion sends the next request.
    final class ClosedLoop: @unchecked Sendable {
        // @unchecked: every property is touched only on the client's event loop.
        let client: ZooKeeperClient
        let request: ZooKeeperRequest
        let total: Int
        var remaining: Int
        var completed = 0
        var failures: [ZooKeeperError] = []
        var latencyNanos: UInt64 = 0
        let done: EventLoopPromise<Void>

        init(client: ZooKeeperClient, request: ZooKeeperRequest, total: Int) {
            self.client = client
            self.request = request
            self.remaining = total
            self.total = total
            self.done = client.callbackEventLoop.makePromise()
        }

        func sendNext() {
            guard remaining > 0 else { return }
            remaining -= 1
            client.send(request) { [self] result, sent, received in
                completed += 1
                latencyNanos += received - sent
                if case .failure(let error) = result { failures.append(error) }
                if remaining > 0 {
                    sendNext()
                } else if completed == total {
                    done.succeed(())
                }
            }
        }

        func run(window: Int) async throws {
            let count = remaining
            try await client.callbackEventLoop.submit { [self] in
                for _ in 0..<min(window, count) { sendNext() }
            }.get()
            try await done.futureResult.get()
        }
    }

    @Test(arguments: TestTarget.allCases)
    func closedLoopPipelinesManyRequests(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            _ = try await client.create(root + "/hot", data: [UInt8](repeating: 7, count: 100))
            let warmUp = ClosedLoop(client: client, request: .getData(path: root + "/hot", watch: false), total: 2000)
            try await warmUp.run(window: Int(ProcessInfo.processInfo.environment["ZKSTORM_HOT_WINDOW"] ?? "64") ?? 64)
            let total = 20_000
            let loop = ClosedLoop(client: client, request: .getData(path: root + "/hot", watch: false), total: total)
            let mallocsBefore = MallocCounter.count()
            let start = ContinuousClock.now
            try await loop.run(window: Int(ProcessInfo.processInfo.environment["ZKSTORM_HOT_WINDOW"] ?? "64") ?? 64)
            let elapsed = ContinuousClock.now - start
            let mallocsAfter = MallocCounter.count()
            #expect(loop.completed == total)
            #expect(loop.failures.isEmpty, "\(loop.failures.prefix(3))")
            #expect(client.stats.outstandingRequests == 0)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var line =
                "hot path: \(total) getData in \(elapsed), \(Int(Double(total) / seconds)) ops/s, mean latency \(loop.latencyNanos / UInt64(total) / 1000) µs"
            if let before = mallocsBefore, let after = mallocsAfter {
                line += ", \(Double(after - before) / Double(total)) mallocs/op (process-wide)"
            }
            print(line)
        }
    }
}

/// Reads the malloc counter of an LD_PRELOADed counting shim, when one is loaded (measurement runs only).
enum MallocCounter {
    static func count() -> UInt64? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "zkstorm_malloc_count") else { return nil }
        typealias Counter = @convention(c) () -> UInt
        return UInt64(unsafeBitCast(symbol, to: Counter.self)())
    }
}
