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
        /// With an interruption: how the watches came through it (nil: none asked for).
        package var interruption: Interruption?
    }

    /// What an interruption between arming and firing (a quorum member killed, every connection
    /// dropped) did to the watching sessions.
    package struct Interruption: Sendable {
        /// Watching sessions that lost their connection and came back, on the same server or another.
        package var sessionsReconnected = 0
        /// Watches those sessions sent again in setWatches2 on reconnecting, and in how many requests.
        package var watchesRestored = 0
        package var setWatchesBatches = 0
        /// From the end of the interrupting command to every session connected with its watches restored.
        package var recoverySeconds = 0.0
        /// Sessions still not back when the wait timed out.
        package var sessionsNotBack = 0
    }

    /// - Parameters:
    ///   - memory: reads the server's memory in bytes (nil: not measured); called once the znodes and
    ///     sessions exist, and again once every watch is armed.
    ///   - interrupt: with it, called once every watch is armed and measured, with the server the first
    ///     watching session is on (`host:port`), to break connections (kill that member, drop every
    ///     connection); the run then waits for every session that lost its connection to be back with
    ///     its watches sent again before it fires them, so every watch must survive the interruption.
    package static func run(
        target: String,
        watches: Int,
        znodes: Int,
        parent: String,
        timeout: Duration,
        memory: @Sendable () async -> Int?,
        interrupt: (@Sendable (String) async throws -> Void)? = nil
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

        if let interrupt {
            result.interruption = try await interrupted(
                clients: [(writer, 0)] + sessions.map { ($0.client, $0.paths.count) },
                by: interrupt,
                timeout: timeout
            )
        }

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

    /// Runs `interrupt` with the first watcher's server, then waits until every client (the writer
    /// first, holding no watches) that lost its connection has reconnected and had every one of its
    /// `watches` restored (setWatches2 answered).
    static func interrupted(
        clients sessions: [(client: ZooKeeperClient, watches: Int)],
        by interrupt: @Sendable (String) async throws -> Void,
        timeout: Duration
    ) async throws -> Interruption {
        let clients = sessions.map(\.client)
        let before = clients.map(\.stats)
        try await interrupt(clients.dropFirst().first?.lastConnectPhases?.host ?? "")
        let interrupted = NIODeadline.now().uptimeNanoseconds
        let deadline = interrupted + UInt64(timeout.components.seconds) * 1_000_000_000
        func notBack() -> [Int] {
            clients.indices.filter { index in
                let now = clients[index].stats
                let lost = now.connectionLosses - before[index].connectionLosses
                guard lost > 0 else { return false }
                return now.reconnects - before[index].reconnects < lost
                    || now.watchesRestored - before[index].watchesRestored < sessions[index].watches
            }
        }
        // A killed server's sockets reset at once, but a client sees it only when its loop reads the
        // reset: watch for at least half a second before taking "nobody lost" for an answer.
        var waiting = notBack()
        var back = interrupted
        while NIODeadline.now().uptimeNanoseconds < deadline {
            let now = NIODeadline.now().uptimeNanoseconds
            if !waiting.isEmpty { back = now }
            if waiting.isEmpty && now - interrupted >= 500_000_000 { break }
            try await Task.sleep(for: .milliseconds(2))
            waiting = notBack()
        }
        var interruption = Interruption()
        interruption.recoverySeconds = Double(back - interrupted) / 1e9
        interruption.sessionsNotBack = waiting.count
        for index in clients.indices.dropFirst() {
            let now = clients[index].stats
            if now.reconnects > before[index].reconnects { interruption.sessionsReconnected += 1 }
            interruption.watchesRestored += now.watchesRestored - before[index].watchesRestored
            interruption.setWatchesBatches += now.setWatchesBatchesSent - before[index].setWatchesBatchesSent
        }
        return interruption
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
