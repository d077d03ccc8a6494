import Foundation
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Tests that stop, restart or pause their own server.
@Suite("Session resilience")
struct SessionResilienceTests {
    @Test(arguments: TestTarget.allCases)
    func reconnectAfterRestartKeepsSessionAndWatches(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 2000)
        defer { Task { try await server.destroy() } }
        let client = try await connectClient(server, sessionTimeout: .seconds(10))
        let recorder = EventRecorder(client)
        let root = "/restart"
        _ = try await client.create(root, data: [0])
        _ = try await client.create(root + "/eph", mode: .ephemeral)
        let sessionId = client.sessionId
        _ = try await client.exists(root + "/new", watch: true)
        _ = try await client.getData(root, watch: true)
        _ = try await client.getChildren(root, watch: true)
        try await client.addWatch("/other", mode: .persistentRecursive)
        try await client.addAuth(scheme: "digest", auth: Array("bob:pw".utf8))

        try await server.stop()
        try await recorder.wait { $0.contains { $0.state == .disconnected } }
        // A request made while disconnected waits for the reconnect.
        async let queued = client.exists(root)
        try await server.restart()
        let events = try await recorder.wait(timeout: .seconds(15)) { events in
            events.contains { $0.state == .syncConnected && $0.type == .none }
        }
        // The recorder was attached after connect, so the first SyncConnected went to `events`.
        #expect(events.filter { $0.type == .none }.map(\.state) == [.disconnected, .syncConnected])
        #expect(try await queued != nil)
        #expect(client.sessionId == sessionId)
        #expect(client.stats.reconnects == 1)
        #expect(client.stats.connectionLosses == 1)
        #expect(try await client.exists(root + "/eph") != nil, "the session and its ephemeral survived")
        // Credentials were replayed on the new connection.
        #expect(try await client.whoAmI().contains(ClientInfo(authScheme: "digest", user: "bob")))

        // Watches were re-registered with setWatches2 and still fire.
        let other = try await connectClient(server)
        _ = try await other.create(root + "/new")
        _ = try await other.setData(root, data: [1])
        _ = try await other.create("/other")
        _ = try await other.create("/other/deep")
        let fired = try await recorder.wait { $0.filter { $0.type != .none }.count >= 5 }
        #expect(
            fired.filter { $0.type != .none }.map(\.summary).sorted()
                == [
                    "NodeChildrenChanged \(root)", "NodeCreated /other", "NodeCreated /other/deep",
                    "NodeCreated \(root)/new", "NodeDataChanged \(root)",
                ]
        )
        try await other.close()
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func manyWatchesAreReRegisteredInSeveralBatches(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 2000)
        defer { Task { try await server.destroy() } }
        let client = try await connectClient(server, sessionTimeout: .seconds(10))
        let recorder = EventRecorder(client)
        // 3000 exist watches of ~90-byte paths: about 270 KiB of paths, so setWatches2 goes in 3 batches.
        let padding = String(repeating: "x", count: 80)
        let paths = (0..<3000).map { "/batch-\(padding)-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for path in paths {
                group.addTask { _ = try await client.exists(path, watch: true) }
            }
            try await group.waitForAll()
        }
        try await server.stop()
        try await recorder.wait { $0.contains { $0.state == .disconnected } }
        try await server.restart()
        try await recorder.wait(timeout: .seconds(15)) { $0.contains { $0.state == .syncConnected } }
        // Watches from the first, a middle and the last batch all fire.
        let other = try await connectClient(server)
        let probes = [paths[0], paths[1500], paths[2999]]
        for path in probes { _ = try await other.create(path) }
        let events = try await recorder.wait { events in events.filter { $0.type == .nodeCreated }.count == probes.count
        }
        #expect(Set(events.filter { $0.type == .nodeCreated }.map(\.path)) == Set(probes))
        try await other.close()
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func changesMissedWhileDisconnectedFireOnReconnect(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 2000)
        defer { Task { try await server.destroy() } }
        let client = try await connectClient(server, sessionTimeout: .seconds(10))
        let recorder = EventRecorder(client)
        _ = try await client.create("/missed", data: [0])
        _ = try await client.getData("/missed", watch: true)
        // Another session changes the node between our loss and our reconnect: stop, restart, and
        // change it before our client's retry lands (it retries every 100 ms; the change wins often
        // but not always, so both outcomes deliver exactly one NodeDataChanged).
        let writer = try await connectClient(server, sessionTimeout: .seconds(10))
        try await server.stop()
        try await server.restart()
        // The writer may still be on its old connection when that one finally drops: CONNECTIONLOSS
        // leaves the outcome open, so retry as a ZooKeeper client must (version -1 makes it idempotent).
        for attempt in 1...3 {
            do {
                _ = try await writer.setData("/missed", data: [1])
                break
            } catch let error as ZooKeeperError where error.code == .connectionLoss && attempt < 3 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let events = try await recorder.wait(timeout: .seconds(15)) { $0.contains { $0.type == .nodeDataChanged } }
        let settled = try await recorder.settle()
        #expect(settled.filter { $0.type == .nodeDataChanged }.count == 1, "\(events)")
        try await writer.close()
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func pausedServerPastTimeoutSurfacesExpiry(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 200)
        defer { Task { try await server.destroy() } }
        let client = try await connectClient(server, sessionTimeout: .milliseconds(1000))
        #expect(client.negotiatedTimeout == .milliseconds(1000))
        let recorder = EventRecorder(client)
        _ = try await client.create("/gone", mode: .ephemeral)
        try await server.pause()
        let events = try await recorder.wait(timeout: .seconds(5)) { $0.contains { $0.state == .expired } }
        try await server.resume()
        #expect(events.filter { $0.type == .none }.map(\.state) == [.disconnected, .expired])
        // Never silently continues: every later request fails with SESSIONEXPIRED.
        await expectZooKeeperError(.sessionExpired) { _ = try await client.exists("/") }
        // The server expires the session too and removes its ephemeral.
        let observer = try await connectClient(server)
        let start = ContinuousClock.now
        while try await observer.exists("/gone") != nil, ContinuousClock.now - start < .seconds(5) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await observer.exists("/gone") == nil)
        try await observer.close()
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func resumingAClosedSessionIsRejected(target: TestTarget) async throws {
        let server = try await target.shared()
        let client = try await connectClient(server)
        let credentials = try #require(client.sessionCredentials)
        // Once its owner closed the session, the server answers a resume with timeOut 0.
        try await client.close()
        var configuration = ZooKeeperConfiguration(connectString: server.connectString)
        configuration.resumeSession = credentials
        do {
            _ = try await ZooKeeperClient.connect(configuration)
            Issue.record("resumed a closed session")
        } catch let error as ZooKeeperError {
            #expect(error.code == .sessionExpired, "\(error)")
        }
    }

    @Test func rejectedReconnectSurfacesExpiryAndNeverContinues() async throws {
        let peer = try await FakePeer(.acceptThenRejectReconnect)
        defer { Task { try await peer.stop() } }
        var configuration = ZooKeeperConfiguration(connectString: peer.connectString)
        configuration.sessionTimeout = .seconds(30)
        let client = try await ZooKeeperClient.connect(configuration)
        let recorder = EventRecorder(client)
        // The peer drops the connection at this request; the reconnect is rejected (timeOut 0).
        await expectZooKeeperError(.connectionLoss) { _ = try await client.exists("/a", watch: true) }
        let events = try await recorder.wait { $0.contains { $0.state == .expired } }
        #expect(events.map(\.state) == [.disconnected, .expired])
        await expectZooKeeperError(.sessionExpired) { _ = try await client.getData("/a") }
        #expect(client.stats.reconnects == 0)
        try await client.close()
    }

    @Test(arguments: TestTarget.allCases)
    func inFlightRequestsFailWithConnectionLossWhenServerStops(target: TestTarget) async throws {
        let server = try await target.dedicated(tickTime: 2000)
        defer { Task { try await server.destroy() } }
        let client = try await connectClient(server, sessionTimeout: .seconds(4))
        try await server.pause()
        // Sent but never answered: the read timeout (2/3 of 4 s) drops the connection.
        let start = ContinuousClock.now
        await expectZooKeeperError(.connectionLoss) { _ = try await client.exists("/") }
        #expect(ContinuousClock.now - start < .seconds(4))
        try await server.resume()
        #expect(try await client.exists("/") != nil)
        try await client.close()
    }
}
