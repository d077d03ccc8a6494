import Atomics
import Foundation
import NIOCore
import ZooKeeperClient
import ZooKeeperProtocol

/// The watch-count scaling benchmark (`zkstorm bench watches`, run by `scripts/bench --only watchscale`):
/// `watches` data watches on one server, `znodes` znodes each watched by every one of
/// `watches / znodes` sessions, and what they cost it: the server's memory before and after arming
/// (from a command the caller gives: the built-in server's RSS, or a real ZooKeeper's JVM heap after a
/// full GC) per watch, its `zk_watch_count`, and the time from the first of the writes that fire them
/// all to the last notification.
package enum WatchScaleBenchmark {
    package struct Result: Sendable {
        package var sessions = 0
        package var armSeconds = 0.0
        /// First write sent to last notification decoded.
        package var fireSeconds = 0.0
        /// Notifications that had not come when the wait timed out.
        package var missing = 0
        /// `zk_watch_count` from the server's mntr once armed (nil: mntr did not answer or has none).
        package var serverWatchCount: Int?
        package var memoryBefore: Int?
        package var memoryAfter: Int?
        package var errors = 0
    }

    /// - Parameter memory: reads the server's memory in bytes (nil: not measured); called once the
    ///   znodes and sessions exist, and again once every watch is armed.
    package static func run(
        target: String,
        watches: Int,
        znodes: Int,
        parent: String,
        timeout: Duration,
        memory: @Sendable () async -> Int?
    ) async throws -> Result {
        var configuration = ZooKeeperConfiguration(connectString: target)
        configuration.requestTimeout = .seconds(120)
        configuration.sessionTimeout = .seconds(30)
        let writer = try await ZooKeeperClient.connect(configuration)
        var result = Result()
        let grandparent = ZooKeeperPath.parent(of: parent)
        if grandparent != "/" { _ = try? await writer.create(grandparent) }
        _ = try? await writer.create(parent)
        let paths = (0..<znodes).map { "\(parent)/z\($0)" }
        result.errors += errors(
            await writer.pipeline(paths.map { .create(CreateRequest(path: $0, data: nil), opCode: .create) })
        )

        result.sessions = (watches + znodes - 1) / znodes
        let arrivals = ManagedAtomic<Int>(0)
        let lastArrival = ManagedAtomic<UInt64>(0)
        var sessions: [(client: ZooKeeperClient, paths: ArraySlice<String>)] = []
        for index in 0..<result.sessions {
            let client = try await ZooKeeperClient.connect(configuration)
            client.setEventHandler { event in
                guard event.type == .nodeDataChanged else { return }
                arrivals.wrappingIncrement(ordering: .relaxed)
                var seen = lastArrival.load(ordering: .relaxed)
                while event.receivedAt > seen {
                    let (done, now) = lastArrival.compareExchange(
                        expected: seen,
                        desired: event.receivedAt,
                        ordering: .relaxed
                    )
                    if done { break }
                    seen = now
                }
            }
            sessions.append((client, paths.prefix(min(znodes, watches - index * znodes))))
        }
        result.memoryBefore = await memory()
        let armStarted = NIODeadline.now().uptimeNanoseconds
        let armErrors = await withTaskGroup(of: Int.self) { group in
            for session in sessions {
                group.addTask {
                    errors(await session.client.pipeline(session.paths.map { .exists(path: $0, watch: true) }))
                }
            }
            return await group.reduce(0, +)
        }
        result.errors += armErrors
        result.armSeconds = Double(NIODeadline.now().uptimeNanoseconds - armStarted) / 1e9
        result.serverWatchCount = await serverWatchCount(target)
        result.memoryAfter = await memory()

        let armed = sessions.reduce(0) { $0 + $1.paths.count }
        let fireStarted = NIODeadline.now().uptimeNanoseconds
        result.errors += errors(
            await writer.pipeline(paths.map { .setData(path: $0, data: Array("fire".utf8), version: -1) })
        )
        let deadline = fireStarted + UInt64(timeout.components.seconds) * 1_000_000_000
        while arrivals.load(ordering: .relaxed) < armed && NIODeadline.now().uptimeNanoseconds < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        result.missing = armed - arrivals.load(ordering: .relaxed)
        result.fireSeconds = Double(lastArrival.load(ordering: .relaxed) &- fireStarted) / 1e9
        for session in sessions { try? await session.client.close() }
        _ = await writer.pipeline(paths.map { .delete(path: $0, version: -1) })
        _ = try? await writer.delete(parent)
        try? await writer.close()
        return result
    }

    static func errors(_ outcomes: [ZooKeeperClient.RequestOutcome]) -> Int {
        outcomes.reduce(0) { count, outcome in
            if case .failure = outcome { return count + 1 }
            return count
        }
    }

    /// `zk_watch_count` from the first host's `mntr`.
    static func serverWatchCount(_ target: String) async -> Int? {
        guard let host = (try? ConnectString(parsing: target))?.hosts.first,
            let text = try? await FourLetterWordClient.send(
                "mntr",
                host: host.host,
                port: host.port,
                timeout: .seconds(10)
            )
        else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("zk_watch_count") {
            return Int(line.split(separator: "\t").last ?? "")
        }
        return nil
    }
}
