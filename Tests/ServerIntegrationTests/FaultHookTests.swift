import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Records the monotonic time of each "connecting" debug line a client logs (one per attempt).
private struct AttemptRecorder: LogHandler {
    let stamps: NIOLockedValueBox<[ContinuousClock.Instant]>
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        if event.message.description == "connecting" { stamps.withLockedValue { $0.append(.now) } }
    }
}

@Suite("Built-in server fault hooks and client recovery", .serialized)
struct FaultHookTests {
    func connect(
        _ server: ZooKeeperServer,
        _ tune: (inout ZooKeeperConfiguration) -> Void = { _ in }
    )
        async throws -> ZooKeeperClient
    {
        var configuration = ZooKeeperConfiguration(connectString: server.connectString)
        configuration.sessionTimeout = .seconds(10)
        configuration.connectTimeout = .seconds(2)
        tune(&configuration)
        return try await ZooKeeperClient.connect(configuration)
    }

    func waitFor(_ timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func dropAllConnectionsKeepsTheSessionAndItsEphemerals() async throws {
        try await withBuiltInServer { server in
            let client = try await connect(server)
            _ = try await client.create("/drop-eph", mode: .ephemeral)
            let session = client.sessionId
            #expect(await server.dropAllConnections() == 1)
            #expect(try await waitFor(.seconds(10)) { client.stats.reconnects >= 1 })
            #expect(client.sessionId == session)
            #expect(try await client.exists("/drop-eph") != nil)
            try await client.close()
        }
    }

    @Test func pauseHoldsRepliesUntilResume() async throws {
        try await withBuiltInServer { server in
            let client = try await connect(server)
            _ = try await client.create("/paused", data: [1])
            await server.pause()
            #expect(server.isPaused)
            let answered = NIOLockedValueBox(false)
            let read = Task {
                let value = try await client.getData("/paused").data
                answered.withLockedValue { $0 = true }
                return value
            }
            try await Task.sleep(for: .milliseconds(800))
            #expect(answered.withLockedValue { $0 } == false, "a paused server answered")
            await server.resume()
            #expect(try await read.value == [1])
            #expect(client.stats.connectionLosses == 0)
            try await client.close()
        }
    }

    /// ZOOKEEPER-706: 20,000 watches on long paths need more than one jute.maxbuffer frame to restore.
    @Test func twentyThousandWatchesSurviveDroppedConnectionsInBatches() async throws {
        try await withBuiltInServer { server in
            let client = try await connect(server)
            _ = try await client.create("/w706")
            let count = 20_000
            let stem = "/w706/" + String(repeating: "p", count: 48) + "-"
            let paths = (0..<count).map { stem + String($0) }
            // One setWatches2 for all of them would exceed 1 MiB.
            #expect(36 + paths.reduce(0) { $0 + 4 + $1.utf8.count } > zooKeeperMaxFrameLength)
            let events = NIOLockedValueBox(Set<String>())
            client.setEventHandler { event in
                if event.type == .nodeCreated { events.withLockedValue { _ = $0.insert(event.path) } }
            }
            for chunk in stride(from: 0, to: count, by: 1000) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for path in paths[chunk..<min(chunk + 1000, count)] {
                        group.addTask {
                            let stat = try await client.exists(path, watch: true)
                            #expect(stat == nil)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            #expect(await server.dropAllConnections() == 1)
            #expect(try await waitFor(.seconds(20)) { client.stats.watchesRestored == count })
            let stats = client.stats
            #expect(stats.setWatchesBatchesSent >= 2)
            #expect(stats.watchesRestored == count)
            let watchMetric = FourLetterWordClient.monitorValues(server.fourLetterWord("mntr") ?? "")["zk_watch_count"]
            #expect(watchMetric == String(count))
            // Every restored watch fires.
            let writer = try await connect(server)
            for chunk in stride(from: 0, to: count, by: 1000) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for path in paths[chunk..<min(chunk + 1000, count)] {
                        group.addTask { _ = try await writer.create(path) }
                    }
                    try await group.waitForAll()
                }
            }
            #expect(try await waitFor(.seconds(30)) { events.withLockedValue { $0.count } == count })
            try await writer.close()
            try await client.close()
        }
    }

    @Test func exponentialBackoffSpacesReconnectAttempts() async throws {
        // The server restarts mid-test on the port its client knows.
        try await withBuiltInServer(port: FreePort.allocate()) { server in
            let stamps = NIOLockedValueBox<[ContinuousClock.Instant]>([])
            let client = try await connect(server) {
                $0.reconnectPolicy = .exponentialBackoff(base: .milliseconds(100), max: .milliseconds(400))
                $0.logger = Logger(label: "backoff") { _ in AttemptRecorder(stamps: stamps) }
            }
            let before = stamps.withLockedValue { $0.count }
            let lostAt = ContinuousClock.now
            try await server.shutdown()  // refuses connections; the session stays for the restart
            try await Task.sleep(for: .milliseconds(2500))
            try await server.start()
            #expect(try await waitFor(.seconds(8)) { client.stats.reconnects >= 1 })
            let attempts = Array(stamps.withLockedValue { $0 }.dropFirst(before))
            // 100, 200, 400, 400, ... ms: the first after the loss waits too.
            #expect(attempts.count >= 4)
            if let first = attempts.first { #expect(first - lostAt >= .milliseconds(95)) }
            let expected: [Duration] = [.milliseconds(200), .milliseconds(400), .milliseconds(400)]
            for (index, gap) in zip(attempts.dropFirst(), attempts).map({ $0 - $1 }).prefix(3).enumerated() {
                #expect(gap >= expected[index] - .milliseconds(5), "gap \(index): \(gap)")
                #expect(gap < expected[index] + .milliseconds(600), "gap \(index): \(gap)")
            }
            try await client.close()
        }
    }
}
