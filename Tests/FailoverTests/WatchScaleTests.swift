import Foundation
import Logging
import NIOConcurrencyHelpers
import StormEngine
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Watches at scale across reconnect (ZOOKEEPER-706): one session holding tens of thousands of watches
/// loses its server, comes back on the same session (the built-in server dropped every connection, or
/// the quorum member it was on was killed and it moved to another), restores every watch with
/// setWatches2 requests that each fit `jute.maxbuffer`, and every restored watch fires.
@Suite("Watches at scale across reconnect", .serialized)
struct WatchScaleTests {
    /// Long enough paths that the watches need several setWatches2 frames: ~60 bytes a watch.
    static let stem = "/scale/" + String(repeating: "w", count: 40) + "-"

    static func paths(_ count: Int) -> [String] { (0..<count).map { stem + String($0) } }

    /// The setWatches2 frames `paths` need at the default limit (as the client splits them).
    static func framesNeeded(_ paths: [String]) -> Int {
        var frames = 1
        var length = 36
        for path in paths {
            if length + 4 + path.utf8.count > zooKeeperMaxFrameLength {
                frames += 1
                length = 36
            }
            length += 4 + path.utf8.count
        }
        return frames
    }

    static func connect(_ connectString: String) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperConfiguration(connectString: connectString)
        // Long enough that a busy 2-core machine delivering 10^5 notifications does not trip the read
        // timeout (2/3 of it) of the writer waiting for its replies.
        configuration.sessionTimeout = .seconds(30)
        configuration.connectTimeout = .seconds(5)
        configuration.requestTimeout = .seconds(30)
        return try await ZooKeeperClient.connect(configuration)
    }

    static func waitFor(_ timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// Runs `body` on each path, `width` requests in flight at a time.
    static func each(
        _ paths: [String],
        width: Int = 1000,
        _ body: @escaping @Sendable (String) async throws -> Void
    ) async throws {
        for start in stride(from: 0, to: paths.count, by: width) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for path in paths[start..<min(start + width, paths.count)] { group.addTask { try await body(path) } }
                try await group.waitForAll()
            }
        }
    }

    /// A watcher session holding an exist watch on every one of `paths` (missing znodes), counting the
    /// NodeCreated events it gets.
    final class Watcher: Sendable {
        let client: ZooKeeperClient
        let created = NIOLockedValueBox(Set<String>())

        init(_ client: ZooKeeperClient) {
            self.client = client
            let created = self.created
            client.setEventHandler { event in
                if event.type == .nodeCreated { created.withLockedValue { _ = $0.insert(event.path) } }
            }
        }

        func arm(_ paths: [String]) async throws {
            let client = self.client
            try await WatchScaleTests.each(paths) { path in
                let stat = try await client.exists(path, watch: true)
                #expect(stat == nil)
            }
        }
    }

    /// After the reconnect: every watch restored, in the frames they need; then a writer creates every
    /// watched znode and every watch fires once.
    static func expectRestoredAndFiring(_ watcher: Watcher, paths: [String], writerTarget: String) async throws {
        let count = paths.count
        #expect(try await waitFor(.seconds(60)) { watcher.client.stats.watchesRestored == count })
        let stats = watcher.client.stats
        #expect(stats.reconnects >= 1)
        #expect(stats.watchesRestored == count, "\(stats)")
        #expect(stats.setWatchesBatchesSent >= framesNeeded(paths), "\(stats)")
        #expect(stats.setWatchesBatchesSent > 1, "one setWatches2 for every watch would exceed jute.maxbuffer")
        let writer = try await connect(writerTarget)
        let created = await writer.pipeline(paths.map { .create(CreateRequest(path: $0, data: nil), opCode: .create) })
        #expect(created.allSatisfy { if case .success = $0 { true } else { false } }, "every watched znode created")
        #expect(try await waitFor(.seconds(60)) { watcher.created.withLockedValue { $0.count } == count })
        #expect(watcher.created.withLockedValue { $0.count } == count, "every restored watch fired")
        // The writes came after the restore: none fired through a stale path, and nothing is left armed.
        #expect(watcher.client.stats.connectionLosses == stats.connectionLosses)
        try await writer.close()
    }

    @Test func builtInServerDroppingEveryConnectionRestoresFiftyThousandWatches() async throws {
        try await withBuiltInServer { server in
            let paths = Self.paths(50_000)
            let watcher = Watcher(try await Self.connect(server.connectString))
            _ = try await watcher.client.create("/scale")
            let started = ContinuousClock.now
            try await watcher.arm(paths)
            let armed = ContinuousClock.now
            #expect(await server.dropAllConnections() == 1)
            try await Self.expectRestoredAndFiring(watcher, paths: paths, writerTarget: server.connectString)
            #expect(Self.watchCount(mntr: server.fourLetterWord("mntr") ?? "") == 0, "every watch fired once")
            FileHandle.standardError.write(
                Data(
                    ("WATCH-SCALE built-in 50000 watches: armed in \(armed - started), "
                        + "\(watcher.client.stats.setWatchesBatchesSent) setWatches2 batches, "
                        + "restored+fired in \(ContinuousClock.now - armed)\n").utf8
                )
            )
            try await watcher.client.close()
        }
    }

    @Test func killingTheQuorumMemberOfTheSessionMovesItWithEveryWatch() async throws {
        let ensemble = try await RealEnsemble.start(tickTime: 500)
        do {
            let paths = Self.paths(50_000)
            let watcher = Watcher(try await Self.connect(ensemble.connectString))
            _ = try await watcher.client.create("/scale")
            try await watcher.arm(paths)
            let before = try #require(watcher.client.lastConnectPhases?.host)
            let node = try #require((1...3).first { ensemble.connectString(node: $0) == before }, "on \(before)")
            let onMember = try await Self.watchCount(ensemble, node: node)
            #expect(onMember == paths.count, "the member holds the session's watches")
            try await ensemble.kill(node)
            #expect(try await Self.waitFor(.seconds(30)) { watcher.client.stats.reconnects >= 1 })
            let after = try #require(watcher.client.lastConnectPhases?.host)
            #expect(after != before, "the session moved to another member")
            let survivor = try #require((1...3).first { ensemble.connectString(node: $0) == after })
            let others = (1...3).filter { $0 != node }
            let writerTarget = others.map { ensemble.connectString(node: $0) }.joined(separator: ",")
            try await Self.expectRestoredAndFiring(watcher, paths: paths, writerTarget: writerTarget)
            #expect(try await Self.watchCount(ensemble, node: survivor) == 0, "every watch fired once")
            try await watcher.client.close()
        } catch {
            await ensemble.stop()
            throw error
        }
        await ensemble.stop()
    }

    /// `zk_watch_count` from the member's `mntr`.
    static func watchCount(_ ensemble: RealEnsemble, node: Int) async throws -> Int? {
        let port = ensemble.clientPorts[node - 1]
        return watchCount(
            mntr: try await FourLetterWordClient.send("mntr", host: "127.0.0.1", port: port, timeout: .seconds(5))
        )
    }

    static func watchCount(mntr text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("zk_watch_count") {
            return Int(line.split(separator: "\t").last ?? "")
        }
        return nil
    }

    /// The engine's view of the same thing: a persistent-watch storm of 4 watchers × 2,500 znodes on the
    /// built-in server, every connection dropped mid-run; the result and report state the setWatches2
    /// batches sent and the watches restored, and the storm rounds after the drop are whole.
    @Test func engineReportsBatchesAndWatchesRestoredAfterADrop() async throws {
        var workload = Workload(
            name: "watch-scale",
            sessions: 0,
            duration: .seconds(8),
            warmup: .milliseconds(300),
            watches: WatchSpec(
                kind: .persistent,
                watchers: 4,
                znodes: 2_500,
                storm: StormSpec(rounds: 10_000, interval: .seconds(1), writer: .dedicated, timeout: .seconds(2))
            )
        )
        // Between rounds (one a second, each over in a few hundred ms): persistent-watch notifications
        // in flight when the connection drops are lost (ZooKeeper does not replay them), so the drop
        // must not cut a round.
        workload.faults = [FaultSpec(at: .milliseconds(2600), action: .drop)]
        workload.sessionTimeout = .seconds(10)
        let outcome = try await StormRun(workload: workload).run()
        let result = try JSONDecoder().decode(RunResult.self, from: outcome.result.jsonData())
        #expect(!outcome.interrupted)
        let failover = try #require(result.failover)
        #expect(failover.connectionLosses >= 6, "watchers, writer and control lost their connections")
        #expect(failover.watchesRestored == 10_000, "\(failover)")
        #expect((failover.setWatchesBatches ?? 0) >= 4, "one batch per watcher at least")
        #expect(failover.expirations == 0)
        let report = TextReport.render(result)
        #expect(report.contains("watches restored after reconnects: 10000 in "), "\(report)")
        let afterDrop = result.rounds.filter { ($0.atS ?? 0) > 3.5 }
        #expect(!afterDrop.isEmpty, "\(result.rounds) in \(result.durationSeconds) s")
        #expect(afterDrop.allSatisfy { $0.notified == $0.expected }, "\(afterDrop)")
    }
}
